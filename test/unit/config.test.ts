import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/platform';

const secrets = { HUB_PERSON_KEY_SECRET: 'a'.repeat(64), HUB_ID_ENCRYPTION_KEY: 'b'.repeat(64) };

describe('configuration', () => {
  it('applies documented defaults when only the secrets are given', () => {
    const config = loadConfig(secrets);
    expect(config.kafkaBrokers).toEqual(['127.0.0.1:9092']);
    expect(config.topicPartitions).toBe(6);
    expect(config.personKeySecret).toEqual(Buffer.alloc(32, 0xaa));
  });

  it('refuses to start without a secret, naming the key', () => {
    expect(() => loadConfig({ HUB_ID_ENCRYPTION_KEY: 'b'.repeat(64) })).toThrow(/^HUB_PERSON_KEY_SECRET is required/);
  });

  it('refuses a malformed broker list, naming the key and the bad entry', () => {
    expect(() => loadConfig({ ...secrets, HUB_KAFKA_BROKERS: 'localhost:9092,kafka' })).toThrow(
      'HUB_KAFKA_BROKERS: "kafka" is not host:port',
    );
  });

  it('checks only the keys a role asks for', () => {
    expect(loadConfig({}, ['logLevel', 'redisUrl'])).toEqual({ logLevel: 'info', redisUrl: 'redis://127.0.0.1:6379' });
  });

  it('refuses a secret of the wrong length', () => {
    expect(() => loadConfig({ ...secrets, HUB_ID_ENCRYPTION_KEY: 'abcd' })).toThrow('HUB_ID_ENCRYPTION_KEY: must be 32 bytes');
  });
});
