import { HubError, type RoleMain } from '../platform';
import { ensureStack, formatStatus, stackStatus, stopStack } from './stack';

const usage = 'usage: hub stack up | down | status';

/** `hub stack up | down | status`. Progress goes to stderr, the status table to stdout. */
export const runStack: RoleMain = async (args, io) => {
  const [command, ...rest] = args;
  if (rest.length > 0) throw new HubError('USAGE', `unexpected arguments: ${rest.join(' ')}\n${usage}`);
  const progress = (line: string): void => { io.stderr.write(`hub stack: ${line}\n`); };
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
