import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { HubError, type HubConfig } from '../platform';

/**
 * How a role authenticates to Kafka: SASL (SCRAM-SHA-512 in the hub's deployments, one principal
 * per connector and per service) and, where the listener asks for it, TLS. Absent: plaintext and
 * anonymous, as the local stack's Kafka on 9092 serves.
 */
export interface KafkaSecurity {
  readonly sasl?: {
    readonly mechanism: 'scram-sha-512' | 'scram-sha-256' | 'plain';
    readonly username: string;
    readonly password: string;
  };
  readonly tls?: boolean;
}

/** The configuration keys a role loads to connect with SASL (pass them to loadConfig with its own). */
export const kafkaSecurityKeys = ['kafkaSaslMechanism', 'kafkaSaslUsername', 'kafkaSaslPassword', 'kafkaTls'] as const;

type SecurityConfig = Pick<HubConfig, (typeof kafkaSecurityKeys)[number]>;

/**
 * The security settings from validated configuration. A mechanism without a username or password,
 * or credentials without a mechanism, is refused (CONFIG_INVALID naming the key): a role that was
 * given credentials must not quietly connect without them.
 */
export function kafkaSecurityFromConfig(config: SecurityConfig): KafkaSecurity {
  const { kafkaSaslMechanism: mechanism, kafkaSaslUsername: username, kafkaSaslPassword: password, kafkaTls: tls } = config;
  if (mechanism === '') {
    if (username !== '' || password !== '') {
      throw new HubError(
        'CONFIG_INVALID',
        'HUB_KAFKA_SASL_MECHANISM: required when HUB_KAFKA_SASL_USERNAME or HUB_KAFKA_SASL_PASSWORD is set ' +
          '(scram-sha-512, scram-sha-256 or plain)',
        {
          catastrophic: true,
          detail: { key: 'HUB_KAFKA_SASL_MECHANISM' },
        },
      );
    }
    return tls ? { tls } : {};
  }
  for (const [key, value] of [
    ['HUB_KAFKA_SASL_USERNAME', username],
    ['HUB_KAFKA_SASL_PASSWORD', password],
  ] as const) {
    if (value === '')
      throw new HubError('CONFIG_INVALID', `${key}: required with HUB_KAFKA_SASL_MECHANISM=${mechanism}`, {
        catastrophic: true,
        detail: { key },
      });
  }
  return { sasl: { mechanism, username, password }, ...(tls ? { tls } : {}) };
}

/** The kafkajs client options for `security` (the one place the client is given credentials). */
export function kafkaClientSecurity(security: KafkaSecurity | undefined): Pick<KafkaConfig, 'sasl' | 'ssl'> {
  if (security === undefined) return {};
  const options: { sasl?: SASLOptions; ssl?: boolean } = {};
  if (security.sasl !== undefined) {
    const { mechanism, username, password } = security.sasl;
    options.sasl = { mechanism, username, password };
  }
  if (security.tls === true) options.ssl = true;
  return options;
}
