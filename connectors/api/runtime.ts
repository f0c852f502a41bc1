// The heavy face of the connectors' API: the push API's server (fastify, node:http) and the
// running connector role.
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
export { createFailedKeyLimiter, clientOf, type FailedKeyLimiter, type FailedKeyLimits } from './failed-keys';
