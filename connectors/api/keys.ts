import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HubError, describeError } from '../../services/platform';
import { agencyIds, type AgencyId, type KeyScope } from '../intake';

/**
 * Agency API keys. A key is 32 random bytes (base64url), shown once when issued; the hub keeps only
 * its SHA-256 hash, so a copy of the key file lets nobody write to a connector. A plain hash (not a
 * slow password hash) is enough because the key has 256 bits of entropy: there is nothing to guess.
 */
export interface AgencyKeyInfo {
  readonly keyId: string;
  readonly agency: AgencyId;
  readonly scope?: KeyScope;
  /** ISO timestamp. */
  readonly issuedAt: string;
  readonly revokedAt: string | null;
}

export interface IssuedAgencyKey extends AgencyKeyInfo {
  /** The key itself: returned by `issue` only, never stored. */
  readonly key: string;
}

/** Who a presented key belongs to. */
export interface KeyHolder {
  readonly keyId: string;
  readonly agency: AgencyId;
  readonly scope?: KeyScope;
}

export interface AgencyKeyStore {
  /** A new key; with a scope, bound to those institutions or divisions. */
  issue(agency: AgencyId, scope?: KeyScope): Promise<IssuedAgencyKey>;
  /** Every key ever issued, revoked ones included (with their revocation time); never a key or hash. */
  list(): Promise<AgencyKeyInfo[]>;
  /** Marks a key revoked; false when no key has that id. Revoking twice keeps the first time. */
  revoke(keyId: string): Promise<boolean>;
  /** The holder of a live key, or undefined for an unknown, malformed or revoked one. */
  verify(presented: string): Promise<KeyHolder | undefined>;
}

interface StoredKey extends AgencyKeyInfo {
  /** SHA-256 of the key, hex. */
  readonly sha256: string;
}

interface KeyFile {
  readonly version: 1;
  readonly keys: readonly StoredKey[];
}

const keyPattern = /^[A-Za-z0-9_-]{43}$/;

function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

function newKey(agency: AgencyId, now: () => number, scope: KeyScope | undefined): { stored: StoredKey; key: string } {
  const key = randomBytes(32).toString('base64url');
  const keyId = `key-${randomBytes(6).toString('hex')}`;
  const bound = scope === undefined || (scope.institutions === undefined && scope.divisions === undefined) ? {} : { scope };
  const stored: StoredKey = {
    keyId,
    agency,
    ...bound,
    issuedAt: new Date(now()).toISOString(),
    revokedAt: null,
    sha256: hashKey(key).toString('hex'),
  };
  return { stored, key };
}

function info(stored: StoredKey): AgencyKeyInfo {
  return {
    keyId: stored.keyId,
    agency: stored.agency,
    ...(stored.scope === undefined ? {} : { scope: stored.scope }),
    issuedAt: stored.issuedAt,
    revokedAt: stored.revokedAt,
  };
}

const isList = (value: unknown): boolean =>
  value === undefined || (Array.isArray(value) && value.every((item) => typeof item === 'string'));

function findHolder(keys: readonly StoredKey[], presented: string): KeyHolder | undefined {
  if (!keyPattern.test(presented)) return undefined;
  const hash = hashKey(presented);
  for (const stored of keys) {
    const candidate = Buffer.from(stored.sha256, 'hex');
    if (candidate.length === hash.length && timingSafeEqual(candidate, hash) && stored.revokedAt === null) {
      return { keyId: stored.keyId, agency: stored.agency, ...(stored.scope === undefined ? {} : { scope: stored.scope }) };
    }
  }
  return undefined;
}

function parseKeyFile(text: string, path: string): KeyFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new HubError('CONFIG_INVALID', `${path} is not JSON: ${describeError(error)}`, {
      catastrophic: true,
      detail: { key: 'HUB_AGENCY_KEYS_FILE' },
    });
  }
  const keys = (parsed as { keys?: unknown }).keys;
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray(keys)) {
    throw new HubError('CONFIG_INVALID', `${path} is not an agency key file (expected {"version":1,"keys":[…]})`, {
      catastrophic: true,
      detail: { key: 'HUB_AGENCY_KEYS_FILE' },
    });
  }
  const valid = keys.every((entry: unknown) => {
    const k = entry as Partial<Record<keyof StoredKey, unknown>>;
    return (
      typeof entry === 'object' &&
      entry !== null &&
      typeof k.keyId === 'string' &&
      typeof k.issuedAt === 'string' &&
      typeof k.sha256 === 'string' &&
      /^[0-9a-f]{64}$/.test(k.sha256) &&
      agencyIds.some((id) => id === k.agency) &&
      (k.revokedAt === null || typeof k.revokedAt === 'string') &&
      (k.scope === undefined ||
        (typeof k.scope === 'object' &&
          k.scope !== null &&
          isList((k.scope as KeyScope).institutions) &&
          isList((k.scope as KeyScope).divisions)))
    );
  });
  if (!valid)
    throw new HubError('CONFIG_INVALID', `${path} has a malformed key entry`, {
      catastrophic: true,
      detail: { key: 'HUB_AGENCY_KEYS_FILE' },
    });
  return { version: 1, keys: keys as StoredKey[] };
}

/**
 * Keys in a JSON file. Every call reads the file again when it changed, so that a key issued or
 * revoked with `hub keys` takes effect in running connectors without a restart. Writes go to a
 * temporary file renamed into place, so a connector never reads half a file.
 */
export function fileKeyStore(path: string, now: () => number = Date.now): AgencyKeyStore {
  let cached: { stamp: string; file: KeyFile } | undefined;

  const load = async (): Promise<KeyFile> => {
    let stamp: string;
    try {
      const stats = await stat(path);
      stamp = `${stats.mtimeMs}/${stats.size}/${stats.ino}`;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, keys: [] };
      throw error;
    }
    if (cached?.stamp === stamp) return cached.file;
    const file = parseKeyFile(await readFile(path, 'utf8'), path);
    cached = { stamp, file };
    return file;
  };

  const save = async (file: KeyFile): Promise<void> => {
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, path);
    cached = undefined;
  };

  return {
    async issue(agency, scope) {
      const file = await load();
      const { stored, key } = newKey(agency, now, scope);
      await save({ version: 1, keys: [...file.keys, stored] });
      return { ...info(stored), key };
    },
    async list() {
      return (await load()).keys.map(info);
    },
    async revoke(keyId) {
      const file = await load();
      const target = file.keys.find((k) => k.keyId === keyId);
      if (target === undefined) return false;
      if (target.revokedAt !== null) return true;
      const revokedAt = new Date(now()).toISOString();
      await save({ version: 1, keys: file.keys.map((k) => (k.keyId === keyId ? { ...k, revokedAt } : k)) });
      return true;
    },
    async verify(presented) {
      return findHolder((await load()).keys, presented);
    },
  };
}

/** Keys held in memory, for tests and for tools that must not touch the key file. */
export function memoryKeyStore(now: () => number = Date.now): AgencyKeyStore {
  let keys: StoredKey[] = [];
  return {
    issue(agency, scope) {
      const { stored, key } = newKey(agency, now, scope);
      keys = [...keys, stored];
      return Promise.resolve({ ...info(stored), key });
    },
    list: () => Promise.resolve(keys.map(info)),
    revoke(keyId) {
      const target = keys.find((k) => k.keyId === keyId);
      if (target === undefined) return Promise.resolve(false);
      if (target.revokedAt === null) keys = keys.map((k) => (k.keyId === keyId ? { ...k, revokedAt: new Date(now()).toISOString() } : k));
      return Promise.resolve(true);
    },
    verify: (presented) => Promise.resolve(findHolder(keys, presented)),
  };
}
