import { kafkaPrincipals } from '../kafka';
import { HubError, type RoleMain } from '../platform';
import { ensureSecureKafka, secureKafkaStatus, stopSecureKafka } from './secure-kafka';
import { ensureStack, formatStatus, stackStatus, stopStack } from './stack';

const usage = 'usage: hub stack up | down | status [--secure]';

/** `hub stack up | down | status`. Progress goes to stderr, the status table to stdout. */
export const runStack: RoleMain = async (args, io) => {
  const [command, ...rest] = args;
  const secure = rest[0] === '--secure';
  if (rest.length > (secure ? 1 : 0)) throw new HubError('USAGE', `unexpected arguments: ${rest.join(' ')}\n${usage}`);
  const progress = (line: string): void => {
    io.stderr.write(`hub stack: ${line}\n`);
  };
  if (secure) return secureCommand(command, io, progress);
  switch (command) {
    case 'up': {
      const started = Date.now();
      const report = await ensureStack({ env: io.env, progress });
      progress(`all ${report.components.length} components healthy in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return 0;
    }
    case 'down':
      await stopStack({ env: io.env, progress });
      return 0;
    case 'status': {
      const report = await stackStatus({ env: io.env });
      io.stdout.write(formatStatus(report));
      return report.healthy ? 0 : 1;
    }
    default:
      throw new HubError('USAGE', command === undefined ? usage : `unknown stack command '${command}'\n${usage}`);
  }
};

/**
 * `hub stack up|down|status --secure`: the secure Kafka beside the plain stack (services/stack/secure-kafka.ts).
 * `up` prints, per principal, the file of HUB_KAFKA_* variables that makes a role connect as it.
 */
async function secureCommand(command: string | undefined, io: Parameters<RoleMain>[1], progress: (line: string) => void): Promise<number> {
  switch (command) {
    case 'up': {
      const secure = await ensureSecureKafka({ env: io.env, progress });
      progress(`secure Kafka at ${secure.brokers.join(',')}; the registry, Redis and PostgreSQL are the plain stack's (hub stack up)`);
      io.stdout.write(
        `${kafkaPrincipals()
          .map((p) => p.name)
          .map((name) => `${name.padEnd(22)} ${secure.envFile(name)}`)
          .join('\n')}\n`,
      );
      return 0;
    }
    case 'down':
      await stopSecureKafka({ env: io.env, progress });
      return 0;
    case 'status': {
      const component = await secureKafkaStatus({ env: io.env });
      io.stdout.write(formatStatus({ components: [component], healthy: component.healthy }));
      return component.healthy ? 0 : 1;
    }
    default:
      throw new HubError('USAGE', command === undefined ? usage : `unknown stack command '${command}'\n${usage}`);
  }
}
