import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const hubBin = join(import.meta.dirname, '../../bin/hub.mjs');
const secrets = { HUB_PERSON_KEY_SECRET: 'a'.repeat(64), HUB_ID_ENCRYPTION_KEY: 'b'.repeat(64) };

function runHub(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // A state dir with no local.env, so only the variables given here count.
    execFile(
      process.execPath,
      [hubBin, ...args],
      { env: { PATH: process.env.PATH ?? '', HUB_STATE_DIR: '/nonexistent-hub-state', ...env } },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
      },
    );
  });
}

describe('a process with bad configuration', () => {
  it('stops with exit 2 and one line naming a missing secret', async () => {
    const result = await runHub(['config', 'check'], { HUB_ID_ENCRYPTION_KEY: secrets.HUB_ID_ENCRYPTION_KEY });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'hub: CONFIG_INVALID: HUB_PERSON_KEY_SECRET is required: HMAC-SHA256 key deriving the person key from a ' +
        'national ID number (32 bytes, hex or base64)\n',
    );
  }, 30_000);

  it('stops with exit 2 and one line naming a malformed broker list', async () => {
    const result = await runHub(['config', 'check'], { ...secrets, HUB_KAFKA_BROKERS: 'kafka-1:9092,kafka-2' });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'hub: CONFIG_INVALID: HUB_KAFKA_BROKERS: "kafka-2" is not host:port (expected a comma-separated list such as localhost:9092)\n',
    );
  }, 30_000);

  it('accepts a valid environment', async () => {
    const result = await runHub(['config', 'check'], secrets);
    expect(result).toEqual({ code: 0, stdout: 'configuration valid\n', stderr: '' });
  }, 30_000);
});
