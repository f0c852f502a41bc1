import { describe, expect, it } from 'vitest';
import { kafkaClientSecurity, kafkaSecurityFromConfig, kafkaSecurityKeys } from '../../../services/kafka';
import { isHubError, loadConfig } from '../../../services/platform';

const security = (env: Record<string, string>) => kafkaSecurityFromConfig(loadConfig(env, kafkaSecurityKeys));

describe('Kafka client security from configuration', () => {
  it('is plaintext and anonymous when nothing is set', () => {
    expect(security({})).toEqual({});
    expect(kafkaClientSecurity(security({}))).toEqual({});
  });

  it('passes SCRAM credentials and TLS to kafkajs, mechanism in the case kafkajs expects', () => {
    const settings = security({
      HUB_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      HUB_KAFKA_SASL_USERNAME: 'rural-revitalization',
      HUB_KAFKA_SASL_PASSWORD: 'pw',
      HUB_KAFKA_TLS: 'true',
    });
    expect(kafkaClientSecurity(settings)).toEqual({
      sasl: { mechanism: 'scram-sha-512', username: 'rural-revitalization', password: 'pw' },
      ssl: true,
    });
  });

  it('refuses an unknown mechanism, naming the key', () => {
    expect(() => security({ HUB_KAFKA_SASL_MECHANISM: 'gssapi' })).toThrow(/^HUB_KAFKA_SASL_MECHANISM: "gssapi" is not one of/);
  });

  it('refuses a mechanism without credentials, and credentials without a mechanism, as CONFIG_INVALID', () => {
    const refusals = [
      { HUB_KAFKA_SASL_MECHANISM: 'scram-sha-512', HUB_KAFKA_SASL_USERNAME: 'tax' },
      { HUB_KAFKA_SASL_MECHANISM: 'scram-sha-512', HUB_KAFKA_SASL_PASSWORD: 'pw' },
      { HUB_KAFKA_SASL_USERNAME: 'tax', HUB_KAFKA_SASL_PASSWORD: 'pw' },
    ];
    const keys = refusals.map((env) => {
      try {
        security(env);
        return 'accepted';
      } catch (error) {
        return isHubError(error, 'CONFIG_INVALID') ? String(error.detail.key) : 'other error';
      }
    });
    expect(keys).toEqual(['HUB_KAFKA_SASL_PASSWORD', 'HUB_KAFKA_SASL_USERNAME', 'HUB_KAFKA_SASL_MECHANISM']);
  });

  it('never shows the password in the error it raises', () => {
    expect(() => security({ HUB_KAFKA_SASL_USERNAME: 'tax', HUB_KAFKA_SASL_PASSWORD: 'sekrit-9' })).toThrow(/^(?!.*sekrit-9)/s);
  });
});
