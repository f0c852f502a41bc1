/**
 * `hub bench rules` (`npm run bench:rules`): the rules pipeline on the real local stack
 * (`hub stack up`), fed by the simulator. Everything lives under a HUB_TOPIC_PREFIX of its own
 * (`bench-rules-<id>.`): topics, registry subjects, consumer groups and the Redis state namespace,
 * so no other data is touched; topics, groups and Redis keys are removed at the end.
 *
 * 1. Throughput: a simulated region (all four agencies' files) is imported once through the real
 *    connectors (openIntake + importFile). Each round then starts from nothing (the rules group's
 *    offsets and the state dropped), spawns `node bin/hub.mjs rules` and times from the service's
 *    "running" log line (group joined) to the group's lag reaching 0 on every inbound partition.
 * 2. Latency at a fixed rate: with the service caught up, hospital settlements are produced at a
 *    steady rate, each for a person of its own that has no other fact. Such a settlement always
 *    changes its person's self-pay year to date, and nothing else produces a self-pay record keyed
 *    by that person, so the first self-pay record under that key seen by a read_committed consumer
 *    is the settlement's output (one to one: no guessing about batching or causes). Latency is from
 *    just before the producer's send to the moment the reader's fetch returns the committed output.
 * 3. Memory: 1,000,000 person-years are written into the state directly, in the documented key
 *    layout (state-store.ts), by cloning the person values the throughput rounds folded from the
 *    simulated region (folding a million people through Kafka would take far longer than the rest
 *    of the bench together). Each person key is placed in the partition the Kafka default
 *    partitioner gives it, so the service finds the state when facts arrive. Then settlements for
 *    random ones of those people are pre-loaded, the service is started, and its RSS is sampled
 *    while it folds them. Redis memory per person-year is MEMORY USAGE summed over the written keys
 *    (exact, and immune to other writers), with the INFO used_memory delta beside it.
 *
 * Options: --people N (simulated region, default 50,000), --rounds R (default 3), --rate N
 * (events/s for the latency run, default 1,000), --seconds S (default 60), --person-years N
 * (default 1,000,000), --memory-events N (default 100,000), --skip throughput,latency,memory,
 * --keep (leave the topics and state for inspection), --prefix P (reuse a kept run's topics; implies --keep),
 * --service-heap-mb N (start the service with node --max-old-space-size=N, as a deployment caps it),
 * --profile DIR (write the service's V8 CPU profiles there, to open in Chrome's DevTools).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { agencies } from '../connectors';
import { type AgencyDefinition } from '../connectors/intake';
import { formatOfFileName, importFile, openIntake } from '../connectors/intake/runtime';
import { topics, type HospitalSettlement } from '../schemas';
import { type HubProducer } from '../services/kafka';
import { partitionOfKey } from '../services/kafka/runtime';
import { HubError, loadConfig, type Environment, type Logger, type RoleMain } from '../services/platform';
import { createLogger } from '../services/platform/runtime';
import { createTopicCodec, type TopicCodec } from '../services/registry';
import { createRegistryClient, registerAllSchemas } from '../services/registry/runtime';
import { dropAllState } from '../services/rules';
import { openRules, type RulesRuntime } from '../services/rules/runtime';
import { simulateRegion, type SimulationSummary } from '../services/simulate';

const hubBin = join(import.meta.dirname, '..', 'bin', 'hub.mjs');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const int = (n: number): string => Math.round(n).toLocaleString('en-US');

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

interface Options {
  people: number;
  rounds: number;
  rate: number;
  seconds: number;
  personYears: number;
  memoryEvents: number;
  skip: Set<string>;
  keep: boolean;
  /** An earlier run's prefix (kept with --keep): its topics and state are used as they are. */
  prefix: string | undefined;
  /** The service's V8 old-space cap in MiB, or undefined for Node's default (a share of the machine's memory). */
  serviceHeapMb: number | undefined;
  /** A directory for the service's V8 CPU profiles (node --cpu-prof), one per started service. */
  profileDir: string | undefined;
}

function parseOptions(args: readonly string[]): Options {
  const number = (name: string, fallback: number): number => {
    const at = args.indexOf(name);
    if (at === -1) return fallback;
    const value = Number(args[at + 1]);
    if (!Number.isSafeInteger(value) || value <= 0) throw new HubError('USAGE', `hub bench rules: ${name} needs a positive whole number`);
    return value;
  };
  const skipAt = args.indexOf('--skip');
  return {
    people: number('--people', 50_000),
    rounds: number('--rounds', 3),
    rate: number('--rate', 1_000),
    seconds: number('--seconds', 60),
    personYears: number('--person-years', 1_000_000),
    memoryEvents: number('--memory-events', 100_000),
    skip: new Set(skipAt === -1 ? [] : (args[skipAt + 1] ?? '').split(',')),
    keep: args.includes('--keep') || args.includes('--prefix'),
    prefix: args.includes('--prefix') ? args[args.indexOf('--prefix') + 1] : undefined,
    serviceHeapMb: args.includes('--service-heap-mb') ? number('--service-heap-mb', 0) : undefined,
    profileDir: args.includes('--profile') ? args[args.indexOf('--profile') + 1] : undefined,
  };
}

/** A `hub rules` child process: its RSS sampled from /proc, its "running" moment from its log. */
interface RulesChild {
  readonly process: ChildProcess;
  /** Resolves with the time (ms since epoch) the service logged it runs: the group is joined. */
  readonly running: Promise<number>;
  peakRss(): number;
  rss(): number;
  /** Warnings and errors the service logged, by message, most frequent first. */
  warnings(): string;
  /** Rejects when the service exits before stop() (a crash, V8 running out of heap), with its last words. */
  readonly failed: Promise<never>;
  stop(): Promise<void>;
}

function readRss(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}

function heapArgs(options: Options): string[] {
  return [
    ...(options.serviceHeapMb === undefined ? [] : [`--max-old-space-size=${options.serviceHeapMb}`]),
    ...(options.profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`]),
  ];
}

function startRulesChild(env: Environment, stderr: NodeJS.WritableStream, extraArgs: readonly string[] = []): RulesChild {
  const opsPort = String(20_000 + Math.floor(Math.random() * 10_000));
  const child = spawn(process.execPath, [...extraArgs, hubBin, 'rules'], {
    env: { ...process.env, ...env, HUB_OPS_PORT: opsPort, HUB_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let peak = 0;
  let stopping = false;
  const warnings = new Map<string, number>();
  /** The last lines the service wrote that are not its JSON log (V8's fatal errors, stack traces). */
  const lastWords: string[] = [];
  const timer = setInterval(() => {
    peak = Math.max(peak, readRss(child.pid));
  }, 100);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      clearInterval(timer);
      resolve();
    }),
  );
  const running = new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`hub rules exited (${String(code)}) before running`)));
    if (child.stderr === null) return;
    for (const stream of [child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        if (line.includes('"rules service running"')) {
          resolve(Date.now());
          return;
        }
        if (!line.startsWith('{')) {
          lastWords.push(line);
          if (lastWords.length > 12) lastWords.shift();
          return;
        }
        // Warnings and errors are tallied by message (a region's people warn by the thousand) and shown once.
        const level = /"level":(\d+)/.exec(line)?.[1];
        if (level === undefined || Number(level) < 40) return;
        const message = /"msg":"([^"]*)"/.exec(line)?.[1] ?? line.slice(0, 200);
        const count = (warnings.get(message) ?? 0) + 1;
        warnings.set(message, count);
        if (count === 1 && warnings.size <= 20) stderr.write(`  [hub rules] ${line.slice(0, 300)}\n`);
      });
    }
  });
  running.catch(() => undefined);
  const failed = new Promise<never>((_resolve, reject) => {
    child.once('exit', (code, signal) => {
      if (!stopping)
        reject(
          new Error(
            `hub rules exited (${signal ?? String(code)}) during the bench:\n${lastWords.filter((l) => l.trim() !== '').join('\n')}`,
          ),
        );
    });
  });
  failed.catch(() => undefined);
  return {
    failed,
    process: child,
    running,
    peakRss: () => Math.max(peak, readRss(child.pid)),
    rss: () => readRss(child.pid),
    warnings: () =>
      [...warnings]
        .sort((a, b) => b[1] - a[1])
        .map(([message, count]) => `${count} × ${message.slice(0, 120)}`)
        .join('; ') || 'none',
    async stop() {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Polls the group's lag until every inbound partition with records is committed to its end. */
async function waitCaughtUp(runtime: RulesRuntime, timeoutMs: number, pollMs = 200): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lags = await runtime.kafka.consumerLag(runtime.groupId, runtime.inboundTopics).catch(() => []);
    if (lags.length > 0 && lags.every((l) => l.lag === 0 && (l.committed !== '-1' || l.end === '0'))) return Date.now();
    if (Date.now() > deadline) throw new Error(`the rules group did not catch up within ${timeoutMs / 1000} s`);
    await sleep(pollMs);
  }
}

async function inboundCount(runtime: RulesRuntime): Promise<number> {
  let total = 0;
  for (const topic of runtime.inboundTopics) for (const end of (await runtime.kafka.endOffsets(topic)).values()) total += Number(end);
  return total;
}

async function simulated(
  env: Environment,
  people: number,
  out: NodeJS.WritableStream,
): Promise<{ dir: string; summary: SimulationSummary }> {
  const dir = join(env.HUB_STATE_DIR ?? '.hub', 'bench', `rules-${people}`);
  const summaryFile = join(dir, 'simulation.json');
  if (!existsSync(summaryFile)) {
    out.write(`generating a region of ${int(people)} people in ${dir} ...\n`);
    await simulateRegion({ people, region: 'xianyang-2020', outDir: dir, seed: 'bench', badRate: 0 });
  }
  return { dir, summary: JSON.parse(readFileSync(summaryFile, 'utf8')) as SimulationSummary };
}

async function importRegion(
  env: Environment,
  dir: string,
  summary: SimulationSummary,
  logger: Logger,
  out: NodeJS.WritableStream,
): Promise<void> {
  const byAgency: Readonly<Record<string, AgencyDefinition>> = agencies;
  for (const feed of summary.feeds) {
    const agency = byAgency[feed.agency];
    const format = formatOfFileName(feed.file);
    if (agency === undefined || format === undefined) throw new Error(`unknown feed ${feed.agency} ${feed.file}`);
    const runtime = await openIntake(agency, env, logger);
    try {
      const started = Date.now();
      const result = await importFile({
        agency,
        input: createReadStream(join(dir, feed.file)),
        format,
        intake: runtime.intake,
        reportPath: join(dir, `${feed.agency}.rejected.csv`),
        channel: 'file:bench',
      });
      out.write(
        `  imported ${feed.file}: ${int(result.accepted)} accepted, ${result.duplicates} duplicates,` +
          ` ${result.rejected} rejected in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      );
    } finally {
      await runtime.close();
    }
  }
}

/** Deletes the group's offsets and the state: the next service folds every inbound record again. */
async function resetRules(runtime: RulesRuntime): Promise<void> {
  for (let i = 0; i < 100 && (await runtime.kafka.groupMemberCount(runtime.groupId)) > 0; i += 1) await sleep(200);
  await runtime.kafka.deleteGroup(runtime.groupId);
  await dropAllState(runtime.redis, runtime.namespace);
}

async function benchThroughput(
  env: Environment,
  runtime: RulesRuntime,
  options: Options,
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
): Promise<void> {
  const out = io.stdout;
  const events = await inboundCount(runtime);
  const rates: number[] = [];
  const rss: number[] = [];
  for (let round = 1; round <= options.rounds; round += 1) {
    // Every round starts from nothing, also the first one on a kept prefix (--prefix).
    await resetRules(runtime);
    const spawned = Date.now();
    const child = startRulesChild(env, io.stderr, heapArgs(options));
    try {
      const running = await child.running;
      const done = await Promise.race([waitCaughtUp(runtime, 30 * 60_000), child.failed]);
      const seconds = (done - running) / 1000;
      rates.push(events / seconds);
      rss.push(child.peakRss());
      out.write(
        `  round ${round}: ${int(events)} events in ${seconds.toFixed(1)} s = ${int(events / seconds)} ` +
          `events/s (start-up ${((running - spawned) / 1000).toFixed(1)} s not counted); peak RSS ${mib(child.peakRss())}\n`,
      );
      out.write(`    service warnings: ${child.warnings()}\n`);
    } finally {
      await child.stop();
    }
  }
  const rate = median(rates);
  out.write(
    `THROUGHPUT median ${int(rate)} events/s over ${options.rounds} rounds of ${int(events)} events (target ` +
      `10,000: ${rate >= 10_000 ? 'met' : 'missed'}); rules service peak RSS ${mib(Math.max(...rss))}\n`,
  );
}

/** A settlement of 2020 in Xianyang for `personKey`; `n` makes its ids unique. */
function settlement(runId: string, personKey: string, n: number, now: number): HospitalSettlement {
  const scope = 300_000 + ((n * 7919) % 4_000_000);
  const basic = Math.floor(scope * 0.55);
  const setlTime = Date.parse('2020-03-01T02:00:00Z') + (n % 250) * 86_400_000;
  return {
    eventId: `bench-${runId}-settlement-${n}`,
    source: 'hospitals:bench',
    occurredAt: setlTime,
    recordedAt: now,
    personKey,
    idCipher: 'bench',
    fixmedins_code: 'H61040200001',
    setl_id: `B${runId}-${n}`,
    mdtrt_id: `M${runId}-${n}`,
    psn_no: `P${n}`,
    insutype: '390',
    insu_admdvs: '610402',
    med_type: n % 5 === 0 ? '14' : '21',
    setl_time: setlTime,
    medfee_sumamt: scope + 20_000,
    fulamt_ownpay_amt: 10_000,
    overlmt_selfpay: 0,
    preselfpay_amt: 10_000,
    inscp_scp_amt: scope,
    hifp_pay: basic,
    hifmi_pay: 0,
    maf_pay: 0,
    psn_part_amt: scope + 20_000 - basic,
    is_reversal: false,
    orig_setl_id: null,
    dise_codg: null,
  };
}

function settlementsCodec(env: Environment, runtime: RulesRuntime): TopicCodec<HospitalSettlement> {
  const config = loadConfig(env, ['schemaRegistryUrl']);
  return createTopicCodec(
    createRegistryClient(config.schemaRegistryUrl),
    'hospitalSettlements',
    runtime.kafka.topicName(topics.hospitalSettlements.name),
  );
}

async function benchLatency(
  env: Environment,
  runtime: RulesRuntime,
  runId: string,
  options: Options,
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
): Promise<void> {
  const out = io.stdout;
  const codec = settlementsCodec(env, runtime);
  const producer: HubProducer = await runtime.kafka.createProducer();
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let measuring = false;
  let warmSeen = 0;
  const child = startRulesChild(env, io.stderr, heapArgs(options));
  let reader: { stop(): Promise<void> } | undefined;
  try {
    await child.running;
    await Promise.race([waitCaughtUp(runtime, 10 * 60_000), child.failed]);
    // A read_committed reader of the self-pay topic that starts at its end (a group of its own).
    reader = await runtime.kafka.follow(runtime.kafka.topicName(topics.selfPay.name), (records) => {
      const at = Date.now();
      for (const record of records) {
        const key = record.key ?? undefined;
        const sent = key === undefined ? undefined : sentAt.get(key);
        if (key === undefined || sent === undefined) continue;
        sentAt.delete(key);
        if (measuring) latencies.push(at - sent);
        else warmSeen += 1;
      }
    });
    await sleep(1_000);

    let n = 0;
    const produce = async (count: number): Promise<void> => {
      const records: { key: string; value: Buffer }[] = [];
      for (let i = 0; i < count; i += 1, n += 1) {
        const personKey = `bench-${runId}-lat-${n}`;
        records.push({ key: personKey, value: await codec.encode(settlement(runId, personKey, n, Date.now())) });
      }
      const at = Date.now();
      for (const record of records) sentAt.set(record.key, at);
      await producer.send(runtime.kafka.topicName(topics.hospitalSettlements.name), records);
    };
    // Warm-up: the reader must be at the end of the topic and the service's producers open.
    await produce(200);
    for (let i = 0; i < 300 && warmSeen < 200; i += 1) await sleep(100);
    if (warmSeen < 200) throw new Error(`latency warm-up: ${warmSeen} of 200 outputs seen in 30 s`);
    sentAt.clear();

    measuring = true;
    const total = options.rate * options.seconds;
    const started = Date.now();
    let sent = 0;
    const tickMs = 10;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((Date.now() - started) * options.rate) / 1000)) - sent;
      if (due > 0) {
        await produce(due);
        sent += due;
      }
      await sleep(tickMs);
    }
    const produceSeconds = (Date.now() - started) / 1000;
    for (let i = 0; i < 600 && sentAt.size > 0; i += 1) await sleep(100);
    const missing = sentAt.size;
    const sorted = [...latencies].sort((a, b) => a - b);
    out.write(
      `  produced ${int(sent)} settlements in ${produceSeconds.toFixed(1)} s ` +
        `(${int(sent / produceSeconds)}/s), each for a person of its own; ${int(sorted.length)} outputs ` +
        `seen${missing > 0 ? `, ${missing} not seen within 60 s` : ''}; rules service RSS ${mib(child.rss())}\n`,
    );
    const p99 = percentile(sorted, 99);
    out.write(
      `LATENCY at ${int(options.rate)} events/s for ${options.seconds} s, produce -> committed self-pay ` +
        `output: p50 ${percentile(sorted, 50)} ms, p95 ${percentile(sorted, 95)} ms, p99 ${p99} ms, ` +
        `max ${sorted.at(-1) ?? Number.NaN} ms (target p99 < 500 ms: ${p99 < 500 && missing === 0 ? 'met' : 'missed'})\n`,
    );
  } finally {
    await reader?.stop().catch(() => undefined);
    await producer.close();
    await child.stop();
  }
}

async function usedMemory(runtime: RulesRuntime): Promise<number> {
  const info = await runtime.redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
}

async function benchMemory(
  env: Environment,
  runtime: RulesRuntime,
  runId: string,
  options: Options,
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
): Promise<void> {
  const out = io.stdout;
  const { redis, namespace } = runtime;
  // Templates: the person values folded from the simulated region (one benefit year each).
  const templates: Buffer[] = [];
  for await (const keys of redis.scanStream({ match: `${namespace}{p*}:person:*`, count: 2_000 }) as AsyncIterable<string[]>) {
    const pipeline = redis.pipeline();
    // Only the region's people: the latency run's one-settlement people would shrink the average.
    for (const key of keys.filter((k) => !k.includes(':person:bench-'))) pipeline.getBuffer(key);
    for (const [error, value] of (await pipeline.exec()) ?? []) {
      if (error === null && Buffer.isBuffer(value)) templates.push(value);
    }
  }
  if (templates.length === 0) throw new Error('memory: no folded state to copy (run the throughput part first)');
  const partitions = (await runtime.kafka.endOffsets(runtime.inboundTopics[0] ?? '')).size;
  const partitionOf = partitionOfKey(partitions);
  const personKey = (i: number): string => `bench-${runId}-mem-${i}`;
  const keyOf = (i: number): string => {
    const key = personKey(i);
    return `${namespace}{p${partitionOf(key)}}:person:${key}`;
  };

  const before = await usedMemory(runtime);
  const started = Date.now();
  const chunk = 2_000;
  for (let from = 0; from < options.personYears; from += chunk) {
    const pipeline = redis.pipeline();
    for (let i = from; i < Math.min(options.personYears, from + chunk); i += 1) {
      pipeline.set(keyOf(i), templates[i % templates.length] ?? Buffer.alloc(0));
    }
    await pipeline.exec();
  }
  const after = await usedMemory(runtime);
  let usage = 0;
  for (let from = 0; from < options.personYears; from += chunk) {
    const pipeline = redis.pipeline();
    for (let i = from; i < Math.min(options.personYears, from + chunk); i += 1) pipeline.memory('USAGE', keyOf(i), 'SAMPLES', '0');
    for (const [, bytes] of (await pipeline.exec()) ?? []) usage += Number(bytes ?? 0);
  }
  out.write(
    `  wrote ${int(options.personYears)} person-years (clones of ${int(templates.length)} folded people,` +
      ` ${(templates.reduce((s, t) => s + t.length, 0) / templates.length).toFixed(0)} bytes each) ` +
      `in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
  out.write(
    `REDIS ${(usage / options.personYears).toFixed(0)} bytes per person-year (MEMORY USAGE ` +
      `summed: ${mib(usage)}); INFO used_memory delta ${mib(after - before)} ` +
      `= ${((after - before) / options.personYears).toFixed(0)} bytes per person-year (includes the key ` +
      `table and any concurrent writer)\n`,
  );

  // Settlements for random people of the million, pre-loaded; then the service folds them.
  const codec = settlementsCodec(env, runtime);
  const producer = await runtime.kafka.createProducer();
  const topic = runtime.kafka.topicName(topics.hospitalSettlements.name);
  try {
    let seed = 12_345;
    const random = (): number => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      return seed / 4_294_967_296;
    };
    for (let from = 0; from < options.memoryEvents; from += 2_000) {
      const records: { key: string; value: Buffer }[] = [];
      for (let n = from; n < Math.min(options.memoryEvents, from + 2_000); n += 1) {
        const key = personKey(Math.floor(random() * options.personYears));
        records.push({ key, value: await codec.encode(settlement(runId, key, 1_000_000_000 + n, Date.now())) });
      }
      await producer.send(topic, records);
    }
  } finally {
    await producer.close();
  }
  const child = startRulesChild(env, io.stderr, heapArgs(options));
  try {
    const running = await child.running;
    const idle = child.rss();
    const done = await Promise.race([waitCaughtUp(runtime, 30 * 60_000), child.failed]);
    const seconds = (done - running) / 1000;
    const peak = child.peakRss();
    out.write(
      `  folded ${int(options.memoryEvents)} settlements for random people of the ${int(options.personYears)} ` +
        `in ${seconds.toFixed(1)} s = ${int(options.memoryEvents / seconds)} events/s\n`,
    );
    out.write(
      `MEMORY rules service RSS with ${int(options.personYears)} person-years in state: ${mib(idle)} on start,` +
        ` ${mib(child.rss())} after folding, peak ${mib(peak)} (target < 512 MiB: ${peak < 512 * 1024 * 1024 ? 'met' : 'missed'})\n`,
    );
  } finally {
    await child.stop();
  }
}

async function cleanUp(env: Environment, prefix: string, runtime: RulesRuntime, out: NodeJS.WritableStream): Promise<void> {
  await dropAllState(runtime.redis, runtime.namespace);
  for await (const keys of runtime.redis.scanStream({ match: `hub:intake:fact:${prefix}*`, count: 5_000 }) as AsyncIterable<string[]>) {
    if (keys.length > 0) await runtime.redis.unlink(...keys);
  }
  await runtime.kafka.deleteTopics(await runtime.kafka.topicsStartingWith(prefix));
  for (const group of await runtime.kafka.groupsStartingWith(prefix)) await runtime.kafka.deleteGroup(group).catch(() => undefined);
  out.write(`cleaned up: topics, groups and Redis keys of ${prefix}\n`);
}

export const runRulesBench: RoleMain = async (args, io) => {
  const options = parseOptions(args);
  const prefix = options.prefix ?? `bench-rules-${randomUUID().slice(0, 8)}.`;
  // Ids of the records the bench makes itself: unique per run, also when reusing a prefix.
  const runId = randomUUID().slice(0, 8);
  const env: Environment = { ...io.env, HUB_TOPIC_PREFIX: prefix, HUB_LOG_LEVEL: 'warn' };
  const logger = createLogger({ level: 'warn', role: 'bench', destination: process.stderr });
  const out = io.stdout;
  const benchConfig = loadConfig(env, ['topicPartitions', 'rulesWorkers', 'rulesWorkerHeapMb']);
  out.write(
    `bench rules: prefix ${prefix}; ${benchConfig.topicPartitions} partitions per topic; service main-thread ` +
      `heap ${options.serviceHeapMb === undefined ? "Node's default" : `--max-old-space-size=${options.serviceHeapMb}`};` +
      ` ${benchConfig.rulesWorkers} fold workers of ${benchConfig.rulesWorkerHeapMb} MiB heap ` +
      `(HUB_RULES_WORKERS, HUB_RULES_WORKER_HEAP_MB)\n`,
  );
  if (options.prefix === undefined) {
    await registerAllSchemas(env);
    const { dir, summary } = await simulated(env, options.people, out);
    out.write(
      `region: ${summary.region} ${summary.year}, ${int(summary.people)} people,` +
        ` ${summary.feeds.map((f) => `${f.agency} ${int(f.records)}`).join(', ')}\n`,
    );
    await importRegion(env, dir, summary, logger, out);
  }
  const runtime = await openRules(env, logger);
  try {
    out.write(`inbound: ${int(await inboundCount(runtime))} records on ${runtime.inboundTopics.length} topics\n`);
    if (!options.skip.has('throughput')) await benchThroughput(env, runtime, options, io);
    else await waitCaughtUp(runtime, 0).catch(() => benchThroughput(env, runtime, { ...options, rounds: 1 }, io));
    if (!options.skip.has('latency')) await benchLatency(env, runtime, runId, options, io);
    if (!options.skip.has('memory')) await benchMemory(env, runtime, runId, options, io);
  } finally {
    if (!options.keep)
      await cleanUp(env, prefix, runtime, out).catch((error: unknown) => {
        io.stderr.write(`clean-up failed: ${String(error)}\n`);
      });
    await runtime.close();
  }
  return 0;
};
