import { HubError, loadConfig, type RoleMain } from '../../services/platform';
import { agencyIds, type AgencyId, type KeyScope } from '../intake';
import { fileKeyStore } from './keys';

const usage =
  'usage: hub keys issue <agency> [--institution CODE[,CODE…]] [--division PREFIX[,PREFIX…]] | list | revoke <key-id>\n' +
  `  agencies: ${agencyIds.join(', ')}\n` +
  '  a bound key writes only settlements of those institutions (fixmedins_code) and records of divisions with those prefixes';

/** `--institution A,B --division 3303`: the scope of a bound key, or undefined for an unbound one. */
function scopeOf(flags: readonly string[]): KeyScope | undefined {
  let institutions: string[] | undefined;
  let divisions: string[] | undefined;
  for (let i = 0; i < flags.length; i += 2) {
    const [flag, value] = [flags[i], flags[i + 1]];
    const list = (value ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
    if (list.length === 0) throw new HubError('USAGE', `${flag ?? ''} needs a value\n${usage}`);
    if (flag === '--institution' && list.every((code) => /^[A-Z0-9]{6,20}$/.test(code))) institutions = [...(institutions ?? []), ...list];
    else if (flag === '--division' && list.every((prefix) => /^\d{2,6}$/.test(prefix))) divisions = [...(divisions ?? []), ...list];
    else throw new HubError('USAGE', `cannot use ${flag ?? ''} ${value ?? ''}\n${usage}`);
  }
  if (institutions === undefined && divisions === undefined) return undefined;
  return { ...(institutions === undefined ? {} : { institutions }), ...(divisions === undefined ? {} : { divisions }) };
}

/** What a bound key is bound to, for `hub keys list`: an operator must see which keys write everywhere. */
function boundTo(scope: KeyScope | undefined): string {
  if (scope === undefined) return '';
  const parts = [
    ...(scope.institutions === undefined ? [] : [`institutions ${scope.institutions.join(',')}`]),
    ...(scope.divisions === undefined ? [] : [`divisions ${scope.divisions.join(',')}`]),
  ];
  return `  (bound to ${parts.join('; ')})`;
}

/**
 * `hub keys`: agency API keys in HUB_AGENCY_KEYS_FILE. `issue` prints the new key alone on stdout
 * (so `KEY=$(hub keys issue tax)` works) and what it is on stderr; the key is never shown again.
 */
export const runKeys: RoleMain = async (args, io) => {
  const [action, ...rest] = args;
  const config = loadConfig(io.env, ['agencyKeysFile']);
  const store = fileKeyStore(config.agencyKeysFile);

  if (action === 'issue' && rest.length >= 1 && rest.length % 2 === 1) {
    const agency = agencyIds.find((id): id is AgencyId => id === rest[0]);
    if (agency === undefined) throw new HubError('USAGE', `unknown agency '${rest[0] ?? ''}'\n${usage}`);
    const scope = scopeOf(rest.slice(1));
    // Only settlements name an institution: an institution-bound key of another agency would bind nothing.
    if (scope?.institutions !== undefined && agency !== 'hospitals') {
      throw new HubError(
        'USAGE',
        `only hospitals' keys are bound to institutions (fixmedins_code); bind a ${agency} key with --division\n${usage}`,
      );
    }
    const issued = await store.issue(agency, scope);
    io.stdout.write(`${issued.key}\n`);
    io.stderr.write(
      `issued ${issued.keyId} for ${issued.agency} at ${issued.issuedAt}; ` +
        `the key above is shown once: the hub keeps only its SHA-256 hash (${config.agencyKeysFile})\n`,
    );
    return 0;
  }
  if (action === 'list' && rest.length === 0) {
    const keys = await store.list();
    io.stdout.write(`${'KEY ID'.padEnd(18)} ${'AGENCY'.padEnd(22)} ${'ISSUED'.padEnd(26)} REVOKED (BOUND TO)\n`);
    for (const key of keys) {
      io.stdout.write(
        `${key.keyId.padEnd(18)} ${key.agency.padEnd(22)} ${key.issuedAt.padEnd(26)} ${key.revokedAt ?? '-'}${boundTo(key.scope)}\n`,
      );
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
