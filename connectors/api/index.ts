export {
  createConnectorServer,
  defaultLimits,
  type ConnectorServer,
  type ConnectorServerDependencies,
  type ConnectorLimits,
  type RecordsAnswer,
  type FileAnswer,
  type ImportFile,
} from './server';
export { startConnector, connectorRole, defaultConnectorPorts, type RunningConnector, type StartConnectorOptions } from './run-connector';
export { classifyIntakeFailure, httpStatusOf } from './failures';
export { runKeys } from './keys-role';
export { createFailedKeyLimiter, clientOf, type FailedKeyLimiter, type FailedKeyLimits } from './failed-keys';
export { fileKeyStore, memoryKeyStore, type AgencyKeyStore, type AgencyKeyInfo, type IssuedAgencyKey, type KeyHolder } from './keys';
