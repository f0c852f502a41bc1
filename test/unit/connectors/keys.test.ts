import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { fileKeyStore, memoryKeyStore } from '../../../connectors/api';
import { runHub } from '../../support/run-hub';

let path: string;
beforeEach(() => {
  path = join(mkdtempSync(join(tmpdir(), 'hub-keys-')), 'nested', 'agency-keys.json');
});

const at = (iso: string) => () => Date.parse(iso);

describe('agency key store (file)', () => {
  it('issues a random 32-byte base64url key that verifies as its agency', async () => {
    const store = fileKeyStore(path, at('2019-06-01T04:00:00Z'));
    const issued = await store.issue('hospitals');
    expect(issued.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(issued.key, 'base64url')).toHaveLength(32);
    expect(issued).toMatchObject({
      agency: 'hospitals',
      issuedAt: '2019-06-01T04:00:00.000Z',
      revokedAt: null,
      keyId: expect.stringMatching(/^key-[0-9a-f]{12}$/) as unknown,
    });
    expect(await store.verify(issued.key)).toEqual({ keyId: issued.keyId, agency: 'hospitals' });
    const other = await store.issue('hospitals');
    expect(other.key).not.toBe(issued.key);
    expect(other.keyId).not.toBe(issued.keyId);
  });

  it('keeps only the SHA-256 of a key on disk, never the key', async () => {
    const issued = await fileKeyStore(path).issue('tax');
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain(issued.key);
    expect(JSON.parse(text)).toEqual({
      version: 1,
      keys: [
        {
          keyId: issued.keyId,
          agency: 'tax',
          issuedAt: issued.issuedAt,
          revokedAt: null,
          sha256: createHash('sha256').update(issued.key).digest('hex'),
        },
      ],
    });
  });

  it('refuses an unknown key, a malformed one and one differing in a single character', async () => {
    const store = fileKeyStore(path);
    const issued = await store.issue('civil-affairs');
    const flipped = `${issued.key.slice(0, -1)}${issued.key.endsWith('A') ? 'B' : 'A'}`;
    expect(await store.verify(flipped)).toBeUndefined();
    expect(await store.verify('not a key')).toBeUndefined();
    expect(await store.verify('')).toBeUndefined();
  });

  it('lists agency, key id and issue time, never a key or hash', async () => {
    const store = fileKeyStore(path, at('2019-06-01T04:00:00Z'));
    const issued = await store.issue('civil-affairs');
    expect(await store.list()).toEqual([
      { keyId: issued.keyId, agency: 'civil-affairs', issuedAt: '2019-06-01T04:00:00.000Z', revokedAt: null },
    ]);
  });

  it('stops honouring a revoked key, also in a store opened before the revocation (a running connector)', async () => {
    const connector = fileKeyStore(path);
    const operator = fileKeyStore(path, at('2019-07-01T00:00:00Z'));
    const issued = await operator.issue('rural-revitalization');
    expect(await connector.verify(issued.key)).toEqual({ keyId: issued.keyId, agency: 'rural-revitalization' });
    expect(await operator.revoke(issued.keyId)).toBe(true);
    expect(await connector.verify(issued.key)).toBeUndefined();
    expect((await connector.list())[0]?.revokedAt).toBe('2019-07-01T00:00:00.000Z');
  });

  it('answers false when revoking an id it does not know', async () => {
    expect(await fileKeyStore(path).revoke('key-000000000000')).toBe(false);
  });

  it('has no keys while the file does not exist', async () => {
    expect(await fileKeyStore(path).list()).toEqual([]);
  });

  it('refuses a key file that is not JSON, naming the config key', async () => {
    const store = fileKeyStore(path);
    await store.issue('tax');
    writeFileSync(path, '{ not json');
    await expect(store.verify('x'.repeat(43))).rejects.toMatchObject({ code: 'CONFIG_INVALID', detail: { key: 'HUB_AGENCY_KEYS_FILE' } });
  });
});

describe('agency key store (memory)', () => {
  it('issues, verifies and revokes like the file store', async () => {
    const store = memoryKeyStore();
    const issued = await store.issue('tax');
    expect(await store.verify(issued.key)).toEqual({ keyId: issued.keyId, agency: 'tax' });
    expect(await store.revoke(issued.keyId)).toBe(true);
    expect(await store.verify(issued.key)).toBeUndefined();
  });
});

describe('hub keys', () => {
  const hub = (...argv: string[]) => runHub(argv, { HUB_AGENCY_KEYS_FILE: path });

  it('issue prints the key alone on stdout, list shows it without the key, revoke ends it', async () => {
    const issued = await hub('keys', 'issue', 'civil-affairs');
    expect(issued.code).toBe(0);
    const key = issued.stdout.trim();
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const keyId = /issued (key-[0-9a-f]{12}) for civil-affairs/.exec(issued.stderr)?.[1] ?? '';
    expect(await fileKeyStore(path).verify(key)).toEqual({ keyId, agency: 'civil-affairs' });

    const listed = await hub('keys', 'list');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${keyId}\\s+civil-affairs\\s+\\d{4}-\\d{2}-\\d{2}T\\S+\\s+-$`, 'm'));
    expect(listed.stdout).not.toContain(key);

    expect(await hub('keys', 'revoke', keyId)).toEqual({ code: 0, stdout: `revoked ${keyId}\n`, stderr: '' });
    expect(await fileKeyStore(path).verify(key)).toBeUndefined();
    expect((await hub('keys', 'revoke', 'key-000000000000')).code).toBe(1);
  });

  it("lists what a bound key is bound to, and refuses to bind another agency's key to institutions it never names", async () => {
    const bound = await hub('keys', 'issue', 'hospitals', '--institution', 'H33030200001,H33030200002', '--division', '3303');
    expect(bound.code).toBe(0);
    const keyId = /issued (key-[0-9a-f]{12}) for hospitals/.exec(bound.stderr)?.[1] ?? '';
    expect((await hub('keys', 'list')).stdout).toMatch(
      new RegExp(`^${keyId}\\s+hospitals\\s+\\S+\\s+-  \\(bound to institutions H33030200001,H33030200002; divisions 3303\\)$`, 'm'),
    );
    const civil = await hub('keys', 'issue', 'civil-affairs', '--institution', 'H33030200001');
    expect(civil.code).toBe(2);
    expect(civil.stderr).toContain(
      "hub: USAGE: only hospitals' keys are bound to institutions (fixmedins_code); bind a civil-affairs key with --division",
    );
    expect(civil.stdout).toBe('');
  });

  it('refuses an agency it does not know, with usage', async () => {
    const result = await hub('keys', 'issue', 'police');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("hub: USAGE: unknown agency 'police'");
  });
});
