// The light face of platform: errors, configuration, dates, the CLI's types and pure helpers. The
// logger (pino), the ops server (node:http, prom-client) and worker threads are in ./runtime.
export { HubError, errorCodes, isHubError, describeError, type ErrorCode } from './errors';
export {
  loadConfig,
  describeConfig,
  effectiveEnvironment,
  readEnvFile,
  configSpec,
  type HubConfig,
  type ConfigKey,
  type Environment,
} from './config';
export { shanghaiDate } from './dates';
export { scrubIdNumbers, redactPaths } from './redaction';
export type { Logger } from './logger';
export { createLifecycle, reportFatal, type Lifecycle } from './lifecycle';
export type { HubMetrics, HealthReport, OpsServer } from './ops-server';
export { type CliIo, type RoleMain } from './cli-io';
export { createTurns, type Turns, type TurnsOptions } from './turns';
export { pack, unpack } from './packed';
