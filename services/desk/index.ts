// The light face of the warning desk: its read model's projection, users, roles, labels, passwords
// and the warning list's queries. The server (fastify), PostgreSQL and the running role are in ./runtime.
export type { RunningDesk } from './run-desk';
export { applyRecord, deskTopicIds, type DeskRecord, type DeskTopicId } from './projection';
export { addUser, disableUser, listUsers, setPassword, checkLogin, type DeskUser } from './users';
export { roles, type Role } from './roles';
export { formatFen, describeOutcome } from './labels';
export type { DeskPool } from './db';
export type { DeliveryRetrier } from './delivery-retrier';
export type { DeskServerDeps } from './server';
export { hashPassword, verifyPassword, passwordProblem } from './passwords';
export { can, agencyScope, type Permission } from './roles';
export { encodeCursor, filterClause, type WarningFilter } from './warning-list';
