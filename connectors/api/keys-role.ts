import { HubError, loadConfig, type RoleMain } from '../../services/platform';
import { agencyIds, fileKeyStore, type AgencyId } from '../intake';

const usage = `usage: hub keys issue <agency> | list | revoke <key-id>\n  agencies: ${agencyIds.join(', ')}`;

/**
 * `hub keys`: agency API keys in HUB_AGENCY_KEYS_FILE. `issue` prints the new key alone on stdout
 * (so `KEY=$(hub keys issue tax)` works) and what it is on stderr; the key is never shown again.
 */
export const runKeys: RoleMain = async (args, io) => {
  const [action, ...rest] = args;
  const config = loadConfig(io.env, ['agencyKeysFile']);
  const store = fileKeyStore(config.agencyKeysFile);

  if (action === 'issue' && rest.length === 1) {
    const agency = agencyIds.find((id): id is AgencyId => id === rest[0]);
    if (agency === undefined) throw new HubError('USAGE', `unknown agency '${rest[0] ?? ''}'\n${usage}`);
    const issued = await store.issue(agency);
    io.stdout.write(`${issued.key}\n`);
    io.stderr.write(`issued ${issued.keyId} for ${issued.agency} at ${issued.issuedAt}; the key above is shown once: the hub keeps only its SHA-256 hash (${config.agencyKeysFile})\n`);
    return 0;
  }
  if (action === 'list' && rest.length === 0) {
    const keys = await store.list();
    io.stdout.write(`${'KEY ID'.padEnd(18)} ${'AGENCY'.padEnd(22)} ${'ISSUED'.padEnd(26)} REVOKED\n`);
    for (const key of keys) {
      io.stdout.write(`${key.keyId.padEnd(18)} ${key.agency.padEnd(22)} ${key.issuedAt.padEnd(26)} ${key.revokedAt ?? '-'}\n`);
    }
    return 0;
  }
  if (action === 'revoke' && rest.length === 1 && rest[0] !== undefined) {
    if (!(await store.revoke(rest[0]))) {
      io.stderr.write(`hub: no key with id '${rest[0]}' in ${config.agencyKeysFile}\n`);
      return 1;
    }
    io.stdout.write(`revoked ${rest[0]}\n`);
    return 0;
  }
  throw new HubError('USAGE', usage);
};
