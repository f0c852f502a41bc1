import { randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { agencies } from '../../connectors';
import { fileKeyStore, type RunningConnector } from '../../connectors/api';
import { startConnector } from '../../connectors/api/runtime';
import { type AgencyId } from '../../connectors/intake';
import { importFile, openIntake } from '../../connectors/intake/runtime';
import type { AgencyCode } from '../../schemas';
import { type RunningDesk } from '../desk';
import { startDesk } from '../desk/runtime';
import { connectKafka } from '../kafka/runtime';
import { loadPolicy } from '../policy';
import { HubError, createLifecycle, effectiveEnvironment, loadConfig, type Environment, type Logger, type RoleMain } from '../platform';
import { createLogger } from '../platform/runtime';
import { createRegistryClient, registerAllSchemas } from '../registry/runtime';
import { startRules } from '../rules/runtime';
import { describeSimulation, simulateRegion } from '../simulate';
import { ensureStack } from '../stack/runtime';
import { periodBounds, periodOf, type RunSummary } from '../warnings';
import { openWarnings, startWarningsService } from '../warnings/runtime';
import { storyFigures, type StoryFigures } from './figures';
import { ensureDemoLogins, type DemoLogin } from './logins';
import { pushFile } from './push-client';
import { startStandInAgency, type StandInAgency, type StandInDelivery } from './stand-in-agency';

const usage = 'usage: hub demo [--people N] [--region POLICY_ID] [--seed S] [--period P] [--namespace NAME] [--exit]';

const yuan = (fen: number): string => `${(fen / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })} yuan`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** How each agency's year reaches the hub in the demo: two push their records, two hand in files. */
const channels: Readonly<Record<AgencyId, 'push' | 'file'>> = {
  hospitals: 'push',
  'civil-affairs': 'push',
  'rural-revitalization': 'file',
  tax: 'file',
};

const agencyLabel: Readonly<Record<AgencyCode, string>> = {
  CIVIL_AFFAIRS: 'civil affairs 民政',
  RURAL_REVITALIZATION: 'rural revitalization 乡村振兴',
};

interface DemoFlags {
  readonly people: number;
  readonly region: string;
  readonly seed: string;
  readonly period: string | undefined;
  readonly namespace: string;
  readonly exit: boolean;
}

function parseFlags(args: readonly string[]): DemoFlags {
  const values = new Map<string, string>();
  let exit = false;
  for (let i = 0; i < args.length; i += 1) {
    const name = args[i] ?? '';
    if (name === '--exit') {
      exit = true;
      continue;
    }
    const value = args[i + 1];
    if (!['--people', '--region', '--seed', '--period', '--namespace'].includes(name) || value === undefined)
      throw new HubError('USAGE', usage);
    values.set(name, value);
    i += 1;
  }
  const people = Number(values.get('--people') ?? '2000');
  if (!Number.isInteger(people) || people < 1) throw new HubError('USAGE', `--people is a whole number\n${usage}`);
  const namespace = values.get('--namespace') ?? 'demo';
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(namespace))
    throw new HubError('USAGE', `--namespace is 1-31 of a-z, 0-9 and -, starting with a letter\n${usage}`);
  return {
    people,
    region: values.get('--region') ?? 'anhui-huangshan-2022',
    seed: values.get('--seed') ?? '1',
    period: values.get('--period'),
    namespace,
    exit,
  };
}

/**
 * The answers the stand-in agencies send: civil affairs gives temporary assistance to people over the
 * line, everyone else is acknowledged.
 */
function civilAffairsAnswer(delivery: StandInDelivery): Record<string, unknown> {
  const w = delivery.warning;
  const receiptId = `MZ-R-${delivery.warning.warningId}`;
  if (w.warned && w.reasons.includes('SELF_PAY_OVER_THRESHOLD')) {
    // 临时救助 of a tenth of the self-pay, in whole yuan, at most 5,000 yuan.
    const fen = Math.min(Math.floor(w.selfPayFen / 10 / 100) * 100, 500_000);
    return {
      receiptId,
      warningId: w.warningId,
      outcome: 'ASSISTANCE_GIVEN',
      assistanceKind: '临时救助',
      assistanceAmount: (fen / 100).toFixed(2),
    };
  }
  return { receiptId, warningId: w.warningId, outcome: 'RECEIVED' };
}

const ruralAnswer = (delivery: StandInDelivery): Record<string, unknown> => ({
  receiptId: `XC-R-${delivery.warning.warningId}`,
  warningId: delivery.warning.warningId,
  outcome: 'RECEIVED',
});

/** Starts the desk on the configured port, or on any free port when that one is taken (a desk already running there). */
async function startDeskSomewhere(env: Environment, logger: Logger): Promise<RunningDesk> {
  try {
    return await startDesk(env, logger);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'EADDRINUSE') throw error;
    return startDesk({ ...env, HUB_DESK_PORT: '0' }, logger);
  }
}

async function waitUntil(timeoutMs: number, done: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await done()) return true;
    if (Date.now() > deadline) return false;
    await sleep(500);
  }
}

/**
 * `hub demo`: the hub's whole job on a synthetic region, for real, on the local stack. Brings the
 * stack up, simulates a region's year, feeds it through the connectors (hospitals and civil affairs
 * push by API with keys issued for the demo, rural revitalization and tax hand in files), runs the
 * rules service until it folded every fact, closes a warning period, delivers the warnings by signed
 * webhook to two stand-in agencies that answer through their connectors, and serves the desk with
 * demo logins. Everything lives under its own namespace (topic prefix `<namespace>.`, desk database
 * `hub_<namespace>`, keys and logins under `.hub/demo/<namespace>`), so a second run reuses it and
 * the hub's own topics and desk are left alone. It stays in the foreground serving the desk until
 * SIGINT or SIGTERM; `--exit` stops after the summary.
 */
export const runDemo: RoleMain = async (args, io) => {
  const flags = parseFlags(args);
  const policy = loadPolicy(flags.region);
  const period = flags.period ?? periodOf(policy.warning.cadence, policy.benefitYear.end);
  // A period of another form or outside the cadence is refused here, before anything starts.
  periodBounds(policy.warning.cadence, period);
  const started = Date.now();
  const say = (line: string): void => {
    io.stdout.write(`${line}\n`);
  };
  let stepStarted: number | undefined;
  /** A step's heading, after the seconds the step before it took. */
  const step = (line: string): void => {
    const now = Date.now();
    if (stepStarted !== undefined) say(`  (${((now - stepStarted) / 1000).toFixed(1)} s)`);
    stepStarted = now;
    say(line);
  };

  step('1/8 local stack');
  await ensureStack({
    env: io.env,
    progress: (line) => {
      io.stderr.write(`  ${line}\n`);
    },
  });
  // On a fresh clone the stack has just written the generated secrets: read them now.
  const base = effectiveEnvironment(io.env);
  const baseConfig = loadConfig(base, ['stateDir', 'logLevel', 'deskPort']);
  const dir = join(baseConfig.stateDir, 'demo', flags.namespace);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const secrets = { civil: randomBytes(32).toString('hex'), rural: randomBytes(32).toString('hex') };
  let env: Environment = {
    ...base,
    HUB_TOPIC_PREFIX: `${flags.namespace}.`,
    HUB_DESK_DATABASE: `hub_${flags.namespace.replace(/-/g, '_')}`,
    HUB_AGENCY_KEYS_FILE: join(dir, 'agency-keys.json'),
    HUB_WARNINGS_REGIONS: policy.id,
    HUB_DELIVERY_ATTEMPTS: '5',
    HUB_DELIVERY_BACKOFF_MS: '1000',
    HUB_DESK_SECURE_COOKIE: 'false',
  };
  const config = loadConfig(env, ['topicPrefix', 'schemaRegistryUrl', 'kafkaBrokers', 'shutdownGraceMs']);
  const logger = createLogger({ level: baseConfig.logLevel === 'info' ? 'warn' : baseConfig.logLevel, role: 'demo' });
  const shown = (path: string): string => (relative(process.cwd(), path).startsWith('..') ? path : relative(process.cwd(), path));
  const closers: { name: string; close: () => Promise<void> }[] = [];
  const stopAll = async (): Promise<void> => {
    for (const closer of closers.splice(0).reverse()) {
      const begun = Date.now();
      await closer.close().catch((error: unknown) => {
        logger.error({ component: closer.name, err: error }, 'close failed');
      });
      logger.debug({ component: closer.name, ms: Date.now() - begun }, 'closed');
    }
  };

  try {
    step('2/8 schemas');
    const subjects = await registerAllSchemas(env);
    say(`  ${subjects.length} subjects registered with BACKWARD compatibility`);

    step(`3/8 simulating ${flags.people} people of ${policy.id}`);
    const outDir = join(dir, `${policy.id}-${flags.people}-${flags.seed}`);
    const simulation = await simulateRegion({ people: flags.people, region: policy.id, outDir, seed: flags.seed });
    say(describeSimulation(simulation).trimEnd().replace(/^/gm, '  '));

    step('4/8 connectors: hospitals and civil affairs push by API, rural revitalization and tax hand in files');
    // Keys issued for this run; the previous run's are revoked, so the demo's key file holds one live key per agency.
    const keyStore = fileKeyStore(join(dir, 'agency-keys.json'));
    for (const key of await keyStore.list()) if (key.revokedAt === null) await keyStore.revoke(key.keyId);
    const keys = new Map<AgencyId, string>();
    for (const agency of ['hospitals', 'civil-affairs', 'rural-revitalization'] as const)
      keys.set(agency, (await keyStore.issue(agency)).key);
    const connectors = new Map<AgencyId, RunningConnector>();
    for (const agency of ['hospitals', 'civil-affairs', 'rural-revitalization'] as const) {
      const connector = await startConnector({ agency: agencies[agency], env, logger, port: 0 });
      closers.push({ name: `${agency} connector`, close: () => connector.close() });
      connectors.set(agency, connector);
    }
    const intakeTotals = new Map<AgencyId, { accepted: number; duplicates: number; rejected: number; how: string }>();
    for (const feed of simulation.feeds) {
      const agency = agencies[feed.agency];
      const connector = connectors.get(feed.agency);
      const key = keys.get(feed.agency);
      if (channels[feed.agency] === 'push' && connector !== undefined && key !== undefined) {
        const pushed = await pushFile({
          agency,
          file: join(outDir, feed.file),
          format: feed.format,
          connectorUrl: connector.url,
          apiKey: key,
        });
        intakeTotals.set(feed.agency, { ...pushed, how: `push API, ${pushed.requests} requests to ${connector.url}/v1/records` });
      } else {
        const runtime = await openIntake(agency, env, logger);
        try {
          const summary = await importFile({
            agency,
            input: createReadStream(join(outDir, feed.file)),
            format: feed.format,
            intake: runtime.intake,
          });
          intakeTotals.set(feed.agency, {
            ...summary,
            how: `file import of ${feed.file}${summary.rejected > 0 ? ` (rejections: ${shown(summary.reportPath ?? '-')})` : ''}`,
          });
        } finally {
          await runtime.close();
        }
      }
      const t = intakeTotals.get(feed.agency);
      say(
        `  ${feed.agency.padEnd(21)} ${String(t?.accepted ?? 0).padStart(7)} ` +
          `accepted ${String(t?.duplicates ?? 0).padStart(7)} ` +
          `duplicates ${String(t?.rejected ?? 0).padStart(5)} rejected   ${t?.how ?? ''}`,
      );
    }

    step('5/8 rules service: folding every fact and recomputing each person-year');
    const rules = await startRules(env, logger);
    closers.push({ name: 'rules', close: () => rules.stop() });
    await waitUntil(600_000, async () => {
      const lags = await rules.runtime.kafka.consumerLag(rules.runtime.groupId, rules.runtime.inboundTopics).catch(() => []);
      return lags.length > 0 && lags.every((l) => l.lag === 0 && (l.committed !== '-1' || l.end === '0'));
    }).then((done) => {
      if (!done) throw new HubError('UNAVAILABLE', 'the rules service did not catch up with the topics within 10 minutes');
    });
    say('  every fact folded');

    step('6/8 stand-in agencies and the desk');
    const standIns: Record<AgencyCode, StandInAgency> = {
      CIVIL_AFFAIRS: await startStandInAgency({
        name: 'civil-affairs',
        secret: secrets.civil,
        connectorUrl: connectors.get('civil-affairs')?.url ?? '',
        apiKey: keys.get('civil-affairs') ?? '',
        receiptFor: civilAffairsAnswer,
        logFile: join(dir, 'civil-affairs-received.jsonl'),
      }),
      RURAL_REVITALIZATION: await startStandInAgency({
        name: 'rural-revitalization',
        secret: secrets.rural,
        connectorUrl: connectors.get('rural-revitalization')?.url ?? '',
        apiKey: keys.get('rural-revitalization') ?? '',
        receiptFor: ruralAnswer,
        logFile: join(dir, 'rural-revitalization-received.jsonl'),
      }),
    };
    for (const standIn of Object.values(standIns)) closers.push({ name: `${standIn.name} stand-in`, close: () => standIn.close() });
    env = {
      ...env,
      HUB_CIVIL_AFFAIRS_WEBHOOK_URL: `${standIns.CIVIL_AFFAIRS.url}/hub-warnings`,
      HUB_CIVIL_AFFAIRS_WEBHOOK_SECRET: secrets.civil,
      HUB_RURAL_REVITALIZATION_WEBHOOK_URL: `${standIns.RURAL_REVITALIZATION.url}/hub-warnings`,
      HUB_RURAL_REVITALIZATION_WEBHOOK_SECRET: secrets.rural,
    };
    say(
      `  civil affairs at ${standIns.CIVIL_AFFAIRS.url}/hub-warnings, rural revitalization ` +
        `at ${standIns.RURAL_REVITALIZATION.url}/hub-warnings (signatures checked as the README says)`,
    );
    const desk = await startDeskSomewhere(env, logger);
    closers.push({ name: 'desk', close: () => desk.stop() });
    const logins: DemoLogin[] = await ensureDemoLogins(desk.pool, join(dir, 'desk-logins.json'));
    say(`  desk at ${desk.url}`);

    step(`7/8 closing ${period}: the warning run of ${policy.id}, then delivery`);
    const warnings = await openWarnings(env, logger);
    closers.push({ name: 'warnings runtime', close: () => warnings.close() });
    const service = await startWarningsService(warnings, logger);
    closers.push({ name: 'warnings service', close: () => service.stop() });
    const run: RunSummary = await warnings.run(policy.id, period, { dryRun: false });
    say(
      `  ${run.personYears} person-years judged, ${run.warned} people warned; published ${run.published} ` +
        `(${run.corrections} corrections, ${run.withdrawals} withdrawals), ${run.unchanged} ` +
        `unchanged${run.rerun ? ` (${period} was closed by an earlier run: only changes are sent)` : ''}`,
    );

    const kafka = connectKafka(
      { brokers: config.kafkaBrokers, clientId: 'hub-demo', topicPrefix: config.topicPrefix, partitions: 1, replication: 1 },
      logger,
    );
    closers.push({ name: 'kafka', close: () => kafka.close() });
    const registry = createRegistryClient(config.schemaRegistryUrl);
    const figuresNow = (): Promise<StoryFigures> =>
      storyFigures({ kafka, registry, topicPrefix: config.topicPrefix, policyId: policy.id, period });
    let figures = await figuresNow();
    const delivered = await waitUntil(180_000, async () => {
      figures = await figuresNow();
      return Object.values(figures.byAgency).every((a) => a.delivered + a.dead >= a.routed);
    });
    for (const standIn of Object.values(standIns)) await standIn.settled();
    // The desk has read everything once its group has committed to the end of each topic (its
    // commits move past the transaction markers that end the connectors' and the rules' batches).
    await waitUntil(120_000, async () => {
      const lags = await kafka.consumerLag(desk.consumer.groupId, desk.consumer.topicNames).catch(() => []);
      return lags.length > 0 && lags.every((l) => l.lag === 0 && (l.committed !== '-1' || l.end === '0'));
    });
    figures = await figuresNow();

    step('8/8 summary');
    printSummary(say, {
      flags,
      policyId: policy.id,
      period,
      intakeTotals,
      figures,
      standIns,
      delivered,
      desk,
      logins,
      dir: shown(dir),
      outDir: shown(outDir),
    });
    say(`done in ${((Date.now() - started) / 1000).toFixed(0)} s.`);
    if (flags.exit) {
      say("--exit: stopping the demo's roles; the stack keeps running ('npx hub stack status', 'npx hub stack down').");
      return 0;
    }
    say(`serving the desk at ${desk.url} until Ctrl-C (the stack keeps running afterwards).`);
    // The demo stops seven roles one after another (each consumer leaves its group): more than one role's grace.
    const lifecycle = createLifecycle(logger, Math.max(config.shutdownGraceMs, 90_000));
    lifecycle.onShutdown('demo', stopAll);
    await lifecycle.stopped;
    await lifecycle.shutdown('stopped');
    say('demo stopped.');
    return 0;
  } finally {
    await stopAll();
  }
};

interface SummaryInput {
  readonly flags: DemoFlags;
  readonly policyId: string;
  readonly period: string;
  readonly intakeTotals: ReadonlyMap<AgencyId, { accepted: number; duplicates: number; rejected: number; how: string }>;
  readonly figures: StoryFigures;
  readonly standIns: Record<AgencyCode, StandInAgency>;
  readonly delivered: boolean;
  readonly desk: RunningDesk;
  readonly logins: readonly DemoLogin[];
  readonly dir: string;
  readonly outDir: string;
}

function printSummary(say: (line: string) => void, input: SummaryInput): void {
  const { figures, standIns } = input;
  const prefix = `HUB_TOPIC_PREFIX=${input.flags.namespace}.`;
  say('');
  say(`records (this run)        accepted  duplicates  rejected`);
  for (const [agency, t] of input.intakeTotals) {
    say(
      `  ${agency.padEnd(22)} ${String(t.accepted).padStart(8)} ${String(t.duplicates).padStart(11)} ${String(t.rejected).padStart(9)}   ` +
        `${channels[agency] === 'push' ? 'push API' : 'file import'}`,
    );
  }
  say('  (duplicates: records the hub already had from an earlier run; rejected records are dead-lettered on hub.dead-letters)');
  say(
    `supplementary payments (补支付)   ${figures.supplementary.count} settlements,` +
      ` ${yuan(figures.supplementary.fen)} (${figures.supplementary.fen} fen) owed to people`,
  );
  say(`participation subsidies missing  ${figures.subsidiesMissing.count} contribution records, ${yuan(figures.subsidiesMissing.fen)}`);
  say(
    `warnings ${input.policyId} ${input.period}: ${figures.warned} people warned (${figures.warningRecords} warning records on the topic)`,
  );
  for (const agency of ['CIVIL_AFFAIRS', 'RURAL_REVITALIZATION'] as const) {
    const a = figures.byAgency[agency];
    const reasons = Object.entries(a.byReason)
      .sort()
      .map(([reason, n]) => `${reason} ${n}`)
      .join(', ');
    say(`  to ${agencyLabel[agency].padEnd(30)} ${String(a.warned).padStart(5)} people${reasons === '' ? '' : `: ${reasons}`}`);
  }
  say(`deliveries (signed webhooks)${input.delivered ? '' : ' — still in progress when the summary was taken'}`);
  for (const agency of ['CIVIL_AFFAIRS', 'RURAL_REVITALIZATION'] as const) {
    const a = figures.byAgency[agency];
    const s = standIns[agency].stats();
    say(
      `  ${agencyLabel[agency].padEnd(30)} ${a.delivered} of ${a.routed} delivered, ${a.dead} dead; the ` +
        `stand-in stored ${s.received} this run (signature verified on each; ${s.refused} refused, ${s.repeated} repeats)`,
    );
  }
  say('receipts (回执) joined to their warnings');
  for (const agency of ['CIVIL_AFFAIRS', 'RURAL_REVITALIZATION'] as const) {
    const a = figures.byAgency[agency];
    const s = standIns[agency].stats();
    const answers = Object.entries(a.answers)
      .sort()
      .map(([outcome, n]) => `${outcome} ${n}`)
      .join(', ');
    say(
      `  ${agencyLabel[agency].padEnd(30)} ${answers === '' ? 'none' : answers}` +
        `${a.assistanceFen > 0 ? `; assistance given ${yuan(a.assistanceFen)}` : ''}` +
        `; this run sent ${s.receiptsSent}, accepted ${s.receiptsAccepted}, ` +
        `refused ${s.receiptsRejected}${s.receiptFailures > 0 ? `, not taken ${s.receiptFailures} (${s.lastReceiptError ?? ''})` : ''}`,
    );
  }
  say('where to look');
  say(`  desk (预警台)   ${input.desk.url}/`);
  for (const login of input.logins) say(`    ${login.username.padEnd(11)} ${login.password}   ${login.role}`);
  say(`  topics        ${prefix} npx hub tail warnings.quarterly --last 5`);
  say(`                ${prefix} npx hub tail benefits.adjustments --last 5`);
  say(`                ${prefix} npx hub tail warnings.delivery-receipts --follow`);
  say(`  deliveries    ${prefix} npx hub warnings deliveries`);
  say(`  stand-ins     ${input.dir}/civil-affairs-received.jsonl, ${input.dir}/rural-revitalization-received.jsonl (ID numbers masked)`);
  say(`  agency files  ${input.outDir}/`);
}
