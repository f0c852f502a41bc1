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
export { createLogger, scrubIdNumbers, redactPaths, type Logger } from './logger';
export { createLifecycle, reportFatal, type Lifecycle } from './lifecycle';
export { createMetrics, startOpsServer, type HubMetrics, type HealthReport, type OpsServer } from './ops-server';
export { type CliIo, type RoleMain } from './cli-io';
export { startTypeScriptWorker } from './ts-worker';
export { createTurns, type Turns, type TurnsOptions } from './turns';
export { pack, unpack } from './packed';
