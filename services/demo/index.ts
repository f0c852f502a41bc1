import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { agencies } from '../../connectors';
import { importFile, openIntake } from '../../connectors/intake';
import { topics } from '../../schemas';
import { loadPolicy } from '../policy';
import { HubError, createLogger, effectiveEnvironment, loadConfig, type RoleMain } from '../platform';
import { createRegistryClient, createTopicCodec, registerAllSchemas } from '../registry';
import { startRules } from '../rules';
import { describeSimulation, simulateRegion } from '../simulate';
import { ensureStack } from '../stack';

const usage = 'usage: hub demo [--people N] [--region POLICY_ID] [--seed S]';

const yuan = (fen: number): string => `${(fen / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })} yuan`;

/**
 * `hub demo`: the hub's main job on a synthetic region, end to end and for real. Brings the local
 * stack up, registers the schemas, simulates a region's four agency feeds, imports them through the
 * connectors, runs the rules service until it has folded every fact, and reports what the hub
 * decided: supplementary payments (补支付), subsidy corrections, and the people whose self-pay
 * after the three tiers is above the region's warning threshold.
 */
export const runDemo: RoleMain = async (args, io) => {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i += 2) {
    const name = args[i] ?? '';
    const value = args[i + 1];
    if (!['--people', '--region', '--seed'].includes(name) || value === undefined) throw new HubError('USAGE', usage);
    flags.set(name, value);
  }
  const people = Number(flags.get('--people') ?? '2000');
  if (!Number.isInteger(people) || people < 1) throw new HubError('USAGE', `--people is a whole number\n${usage}`);
  const region = flags.get('--region') ?? 'anhui-huangshan-2022';
  const policy = loadPolicy(region);
  const say = (line: string): void => { io.stdout.write(`${line}\n`); };
  const started = Date.now();

  say('1/5 local stack');
  await ensureStack({ env: io.env, progress: (line) => { io.stderr.write(`  ${line}\n`); } });
  // On a fresh clone the stack has just written the generated secrets: read them now.
  const env = effectiveEnvironment(io.env);
  const config = loadConfig(env, ['stateDir', 'schemaRegistryUrl', 'topicPrefix', 'logLevel']);
  const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, role: 'demo' });

  say('2/5 schemas');
  const subjects = await registerAllSchemas(env);
  say(`  ${subjects.length} subjects registered with BACKWARD compatibility`);

  say(`3/5 simulating ${people} people of ${region}`);
  const outDir = join(config.stateDir, 'demo', `${region}-${people}-${flags.get('--seed') ?? '1'}`);
  const simulation = await simulateRegion({ people, region, outDir, seed: flags.get('--seed') ?? '1' });
  io.stdout.write(describeSimulation(simulation).replace(/^/gm, '  '));

  say('4/5 connectors: importing each agency\'s file');
  for (const feed of simulation.feeds) {
    const agency = agencies[feed.agency];
    const runtime = await openIntake(agency, env, logger);
    try {
      const summary = await importFile({ agency, input: createReadStream(join(outDir, feed.file)), format: feed.format, intake: runtime.intake });
      say(`  ${agency.id.padEnd(21)} ${String(summary.accepted).padStart(7)} accepted ${String(summary.duplicates).padStart(7)} duplicates ${String(summary.rejected).padStart(5)} rejected (dead-lettered; report ${summary.reportPath ?? '-'})`);
    } finally {
      await runtime.close();
    }
  }

  say('5/5 rules service: folding every fact and recomputing each person-year');
  const rules = await startRules(env, logger);
  try {
    const { runtime } = rules;
    for (;;) {
      const lags = await runtime.kafka.consumerLag(runtime.groupId, runtime.inboundTopics).catch(() => []);
      if (lags.length > 0 && lags.every((l) => l.lag === 0 && (l.committed !== '-1' || l.end === '0'))) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const registry = createRegistryClient(config.schemaRegistryUrl);
    const read = async <K extends 'benefitAdjustments' | 'subsidyCorrections' | 'selfPay'>(id: K) => {
      const codec = createTopicCodec(registry, id, `${config.topicPrefix}${topics[id].name}`);
      return Promise.all((await runtime.kafka.readAll(codec.topic)).map((m) => codec.decode(m.value ?? Buffer.alloc(0))));
    };
    const latest = <T extends { personKey: string }>(records: T[], slot: (r: T) => string): T[] => [...new Map(records.map((r) => [`${r.personKey} ${slot(r)}`, r])).values()];
    const adjustments = latest(await read('benefitAdjustments'), (r) => `${r.fixmedinsCode}/${r.setlId}`);
    const subsidies = latest(await read('subsidyCorrections'), (r) => r.contributionRecordId);
    const selfPay = latest(await read('selfPay'), (r) => r.policyId).filter((r) => r.policyId === policy.id);
    const supplementary = adjustments.filter((a) => a.kind === 'SUPPLEMENTARY_PAYMENT');
    const review = adjustments.filter((a) => a.kind === 'OVERPAID_FOR_REVIEW');
    const under = subsidies.filter((s) => s.kind === 'UNDER_SUBSIDISED');
    const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);
    const yearEnd = policy.benefitYear.end.slice(0, 4);
    const overThreshold = selfPay.filter((r) => (policy.warning.basis === 'TOTAL' ? r.selfPayTotalFen : r.selfPayInScopeFen) > policy.warning.thresholdFen);
    const alwaysReported = selfPay.filter((r) => r.categories.some((c) => (policy.warning.alwaysReported as readonly string[]).includes(c)));

    say('');
    say(`What the hub decided for ${region} (${policy.region}), ${yearEnd}:`);
    say(`  supplementary payments (补支付)     ${String(supplementary.length).padStart(6)} settlements, ${yuan(sum(supplementary.map((a) => a.deltaFen)))} owed to people`);
    say(`  overpaid, for review (never clawed back) ${String(review.length).padStart(6)} settlements, ${yuan(-sum(review.map((a) => a.deltaFen)))}`);
    say(`  participation subsidies missing     ${String(under.length).padStart(6)} contribution records, ${yuan(sum(under.map((s) => s.deltaFen)))}`);
    say(`  person-years with self-pay computed ${String(selfPay.length).padStart(6)}`);
    say(`  self-pay after three tiers > ${yuan(policy.warning.thresholdFen)}: ${overThreshold.length} people; categories always reported (${policy.warning.alwaysReported.join(', ')}): ${alwaysReported.length} people`);
    say(`  (the quarterly warnings to civil affairs and rural revitalization are built from these by the warnings service)`);
    say('');
    say(`done in ${((Date.now() - started) / 1000).toFixed(0)} s. The stack keeps running: 'npx hub stack status', 'npx hub stack down'.`);
    return 0;
  } finally {
    await rules.stop();
  }
};
