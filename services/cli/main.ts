import type { AgencyId } from '../../schemas';
import { HubError, describeConfig, effectiveEnvironment, loadConfig, reportFatal, type CliIo, type RoleMain } from '../platform';

/**
 * The `hub` command: one subcommand per role. Each role is loaded only when asked for, so
 * `hub calc` does not pay for Kafka clients and `hub stack` works before anything else is set up.
 */
interface Role {
  readonly summary: string;
  readonly load?: () => Promise<RoleMain>;
}

const notBuilt =
  (role: string): RoleMain =>
  () =>
    Promise.reject(new HubError('NOT_BUILT', `'hub ${role}' is not built yet`));

/** A connector role: the agency's push API (connectors/api), loaded with the agency's definition. */
const loadConnector = (agency: AgencyId): Promise<RoleMain> =>
  Promise.all([import('../../connectors'), import('../../connectors/api/runtime')]).then(([c, api]) =>
    api.connectorRole(c.agencies[agency]),
  );

const roles: Readonly<Record<string, Role>> = {
  stack: {
    summary:
      'up | down | status [--secure]: the local Kafka, schema registry, Redis and PostgreSQL (--secure: the SASL/ACL Kafka beside them)',
    load: () => import('../stack/runtime').then((m) => m.runStack),
  },
  schemas: {
    summary: 'register | check: the Avro schemas in schemas/ against the registry',
    load: () => import('../registry/runtime').then((m) => m.runSchemas),
  },
  'civil-affairs': { summary: 'connector for civil affairs (民政) certifications', load: () => loadConnector('civil-affairs') },
  'rural-revitalization': {
    summary: 'connector for rural revitalization (乡村振兴) statuses',
    load: () => loadConnector('rural-revitalization'),
  },
  hospitals: { summary: 'connector for hospital settlements (结算)', load: () => loadConnector('hospitals') },
  tax: { summary: 'connector for tax bureau (税务) contribution records', load: () => loadConnector('tax') },
  keys: {
    summary: 'issue <agency> | list | revoke <key-id>: agency API keys of the connectors',
    load: () => import('../../connectors/api').then((m) => m.runKeys),
  },
  import: {
    summary: "<agency> FILE [--format csv|xlsx] [--encoding auto|utf-8|gbk] [--report PATH]: import a batch file into an agency's topic",
    load: () =>
      Promise.all([import('../../connectors'), import('../../connectors/intake/runtime')]).then(([connectors, intake]) =>
        intake.importCommand(connectors.agencies),
      ),
  },
  rules: {
    summary: '[--rebuild]: the rules service: recompute tilted benefits when facts change',
    load: () => import('../rules/runtime').then((m) => m.runRules),
  },
  warnings: {
    summary:
      '[run --region R --period P [--dry-run] | deliveries [--dead] [--retry ID] | export …]: quarterly ' +
      'warnings to civil affairs and rural revitalization',
    load: () => import('../warnings/runtime').then((m) => m.runWarningsCommand),
  },
  desk: {
    summary: '[users add|list|disable]: the warning desk (预警台): page, JSON API and its read model in PostgreSQL',
    load: () => import('../desk/runtime').then((m) => m.runDesk),
  },
  calc: { summary: '--policy ID [--input FILE]: compute one person-year as JSON', load: () => import('../policy').then((m) => m.runCalc) },
  simulate: {
    summary: "--people N --region ID --out DIR [--year Y] [--seed S] [--bad-rate R]: generate a synthetic region's agency feeds",
    load: () => import('../simulate').then((m) => m.runSimulate),
  },
  demo: {
    summary:
      '[--people N] [--region POLICY_ID] [--period P] [--namespace NAME] [--exit]: the whole story on a ' +
      'synthetic region, then serve the desk until Ctrl-C',
    load: () => import('../demo/runtime').then((m) => m.runDemo),
  },
  tail: {
    summary: "TOPIC [--follow] [--key PERSON_KEY] [--last N]: print a topic's records decoded, one JSON object a line",
    load: () => import('../tail/runtime').then((m) => m.runTail),
  },
  bench: { summary: 'engine | …: benchmarks that print their figures', load: () => import('../../bench').then((m) => m.runBench) },
  config: {
    summary: '[check]: every configuration key with its default; check validates the environment',
    load: () => Promise.resolve(runConfig),
  },
};

/** `hub config` prints the keys; `hub config check` validates the environment as a role would. */
const runConfig: RoleMain = (args, io) => {
  if (args[0] === 'check') {
    loadConfig(io.env);
    io.stdout.write('configuration valid\n');
  } else {
    io.stdout.write(`${describeConfig()}\n`);
  }
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
