// The heavy face of the warning desk: the running role, its server (fastify), PostgreSQL, the
// delivery retrier (BullMQ) and the migrations.
export { runDesk, startDesk, openDeskDatabase, type RunningDesk } from './run-desk';
export { databaseUrl, dropDatabase, createPool, ensureDatabase, type DeskPool } from './db';
export { migrate } from './migrations';
export { deadAfterAttempts } from './delivery-health';
export { bullMqRetrier, type DeliveryRetrier } from './delivery-retrier';
export { buildDeskServer, type DeskServerDeps } from './server';
