import { HubError, describeConfig, effectiveEnvironment, reportFatal, type CliIo, type RoleMain } from '../platform';

/**
 * The `hub` command: one subcommand per role. Each role is loaded only when asked for, so
 * `hub calc` does not pay for Kafka clients and `hub stack` works before anything else is set up.
 */
interface Role {
  readonly summary: string;
  readonly load?: () => Promise<RoleMain>;
}

const notBuilt = (role: string): RoleMain => () =>
  Promise.reject(new HubError('NOT_BUILT', `'hub ${role}' is not built yet`));

const roles: Readonly<Record<string, Role>> = {
  stack: { summary: 'up | down | status: the local Kafka, schema registry, Redis and PostgreSQL', load: () => import('../stack').then((m) => m.runStack) },
  schemas: {
    summary: 'register | check: the Avro schemas in schemas/ against the registry',
    load: () => import('../registry').then((m) => m.runSchemas),
  },
  'civil-affairs': { summary: 'connector for civil affairs (民政) certifications' },
  'rural-revitalization': { summary: 'connector for rural revitalization (乡村振兴) statuses' },
  hospitals: { summary: 'connector for hospital settlements (结算)' },
  tax: { summary: 'connector for tax bureau (税务) contribution records' },
  import: { summary: '<agency> FILE: import a batch file into an agency\'s topic' },
  rules: { summary: 'the rules service: recompute tilted benefits when facts change' },
  warnings: { summary: 'the quarterly warnings service' },
  desk: { summary: 'the warning desk (web page and API)' },
  calc: { summary: '--policy ID [--input FILE]: compute one person-year as JSON', load: () => import('../policy').then((m) => m.runCalc) },
  simulate: { summary: 'generate a synthetic region\'s agency feeds' },
  demo: { summary: 'run the hub end to end on a synthetic region' },
  bench: { summary: 'engine | …: benchmarks that print their figures', load: () => import('../../bench').then((m) => m.runBench) },
  config: { summary: 'print every configuration key with its default', load: () => Promise.resolve(printConfig) },
};

const printConfig: RoleMain = (_args, io) => {
  io.stdout.write(`${describeConfig()}\n`);
  return Promise.resolve(0);
};

export function usage(): string {
  const lines = Object.entries(roles).map(([name, role]) => `  ${name.padEnd(22)} ${role.summary}`);
  return `usage: hub <role> [options]\n\n${lines.join('\n')}\n`;
}

export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const role = roles[name];
  try {
    if (role === undefined) throw new HubError('USAGE', `unknown role '${name}'\n${usage()}`);
    const load = role.load ?? (() => Promise.resolve(notBuilt(name)));
    const run = await load();
    return await run(args, io);
  } catch (error) {
    return reportFatal(error, io.stderr);
  }
}

function processIo(): CliIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: effectiveEnvironment(process.env) };
}
