export { runDesk, startDesk, openDeskDatabase, type RunningDesk } from './run-desk';
export { applyRecord, deskTopicIds, type DeskRecord, type DeskTopicId } from './projection';
export { addUser, disableUser, listUsers, type DeskUser } from './users';
export { roles, type Role } from './roles';
export { formatFen } from './labels';
export { databaseUrl, dropDatabase, createPool, ensureDatabase, type DeskPool } from './db';
export { migrate } from './migrations';
export { deadAfterAttempts, type DeliveryRetrier } from './delivery-health';
export { buildDeskServer, type DeskServerDeps } from './server';
