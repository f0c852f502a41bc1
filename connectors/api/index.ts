// The light face of the connectors' API: its types, the API-key store and `hub keys`, how an intake
// failure maps to an HTTP status. The server (fastify, node:http) and the running connector are in ./runtime.
export type { ConnectorServer, ConnectorServerDependencies, ConnectorLimits, RecordsAnswer, FileAnswer, ImportFile } from './server';
export type { RunningConnector, StartConnectorOptions } from './run-connector';
export { classifyIntakeFailure, httpStatusOf } from './failures';
export { runKeys } from './keys-role';
export type { FailedKeyLimiter, FailedKeyLimits } from './failed-keys';
export { fileKeyStore, memoryKeyStore, type AgencyKeyStore, type AgencyKeyInfo, type IssuedAgencyKey, type KeyHolder } from './keys';
