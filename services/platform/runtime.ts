// The heavy face of platform: the pino logger, the ops server (health and Prometheus metrics) and
// TypeScript worker threads.
export { createLogger, type Logger } from './logger';
export { createMetrics, startOpsServer, type HubMetrics, type HealthReport, type OpsServer } from './ops-server';
export { startTypeScriptWorker } from './ts-worker';
