/**
 * `npm run bench:warnings` (`hub bench warnings [--person-years N] [--deliveries N] [--keep]
 * [--profile DIR]`, or `--clean-up PREFIX` for what a kept run left):
 *
 * 1. Writes N person-years (default 1,000,000) of the Huangshan 2022 policy straight into the rules
 *    state under a fresh prefix, in the documented layout (encodePerson, `{p<n>}:person:<key>`,
 *    and the warning watch, watchScores, `{p<n>}:watch:<policyId>`):
 *    one to three stays each, amounts drawn from a seeded generator so that about a tenth are
 *    warned for 2022-Q2 (self-pay over 10,000 yuan to the end of June, or 特困/低保: one in twenty
 *    holds one). Their sealed ID numbers go into the warnings service's id directory.
 * 2. Times the warning run of 2022-Q2 over them (computing every person-year that could be warned
 *    with the engine, publishing to Kafka) and prints the process's peak RSS and heap.
 * 3. Delivers at least `--deliveries` (default 100,000) of its warnings to a local receiver that
 *    checks each request's signature: the warnings service's feed and delivery worker, as `hub
 *    warnings` runs them (HUB_DELIVERY_BATCH_SIZE warnings per request), timed from the service's
 *    start until the receiver has them.
 *
 * Targets (issue 16): the run under 20 s; 100,000 deliveries under 60 s. Everything it wrote
 * (Redis keys, topics, consumer groups) is deleted at the end unless --keep. `--profile DIR` writes
 * a CPU profile of the run and one of the delivery (open them in Chrome's DevTools).
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg } from 'node:os';
import { Session } from 'node:inspector/promises';
import { Redis } from 'ioredis';
import { encryptNationalId, checkCharacter } from '../services/identity';
import { connectKafka } from '../services/kafka/runtime';
import { HubError, effectiveEnvironment, loadConfig, type RoleMain } from '../services/platform';
import { createLogger } from '../services/platform/runtime';
import { registerAllSchemas } from '../services/registry/runtime';
import { encodePerson, partitionKeys, stateNamespace, watchScores, type PersonState, type StoredFact } from '../services/rules';
import { openWarnings, startWarningsService } from '../services/warnings/runtime';
import { verify } from '../connectors/agency-delivery';

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

/** Whether `done` items in `seconds` meet "`size` in under `limit` s", or, short of `size`, keep its pace. */
function target(done: number, seconds: number, size: number, limit: number): string {
  if (done >= size) return seconds < limit ? 'met' : 'missed';
  const atPace = (seconds * size) / Math.max(1, done);
  return `${int(done)} done, ${atPace.toFixed(0)} s at this rate, ${atPace < limit ? 'on pace' : 'off pace'}`;
}

function option(args: readonly string[], name: string, fallback: number): number {
  const at = args.indexOf(name);
  if (at === -1) return fallback;
  const value = Number(args[at + 1]);
  if (!Number.isSafeInteger(value) || value <= 0) throw new HubError('USAGE', `hub bench warnings: ${name} needs a positive whole number`);
  return value;
}

/** A deterministic generator (LCG), so every run writes the same people. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state / 4_294_967_296;
  };
}

function idNumber(i: number): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  const first17 = `341002${1950 + (i % 50)}${two(1 + (i % 12))}${two(1 + (i % 28))}${String(i % 1000).padStart(3, '0')}`;
  return first17 + checkCharacter(first17);
}

/** Deletes everything a bench run under `prefix` wrote: Redis keys, topics and consumer groups. */
async function cleanUp(env: Record<string, string | undefined>, prefix: string): Promise<void> {
  const config = loadConfig(env, ['kafkaBrokers', 'redisUrl']);
  const redis = new Redis(config.redisUrl);
  try {
    for (const match of [`${stateNamespace(prefix)}*`, `hub:warnings:${prefix}*`, `hub:bull:${prefix}*`]) {
      for await (const keys of redis.scanStream({ match, count: 5_000 }) as AsyncIterable<string[]>)
        if (keys.length > 0) await redis.unlink(...keys);
    }
  } finally {
    redis.disconnect();
  }
  const kafka = connectKafka(
    { brokers: config.kafkaBrokers, clientId: 'bench-warnings-cleanup', topicPrefix: prefix, partitions: 1, replication: 1 },
    createLogger({ level: 'warn', role: 'bench' }),
  );
  try {
    await kafka.deleteTopics(await kafka.topicsStartingWith(prefix));
    for (const group of await kafka.groupsStartingWith(prefix)) await kafka.deleteGroup(group).catch(() => undefined);
  } finally {
    await kafka.close();
  }
}

/** `--profile DIR`: a CPU profile (.cpuprofile, for Chrome's DevTools) of the run and of the delivery, each alone. */
function profiler(args: readonly string[]) {
  const at = args.indexOf('--profile');
  const dir = at === -1 ? undefined : args[at + 1];
  const session = new Session();
  return {
    async start() {
      if (dir === undefined) return;
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    },
    async stop(phase: string) {
      if (dir === undefined) return;
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(`${dir}/warnings-${phase}.cpuprofile`, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

export const runWarningsBench: RoleMain = async (args, io) => {
  const out = io.stdout;
  const leftover = args.indexOf('--clean-up');
  if (leftover !== -1) {
    const prefix = args[leftover + 1] ?? '';
    if (!/^bench-warn-[0-9a-f]{8}\.$/.test(prefix))
      throw new HubError('USAGE', 'hub bench warnings --clean-up bench-warn-XXXXXXXX. (a prefix this bench made)');
    await cleanUp(effectiveEnvironment(io.env), prefix);
    out.write(`cleaned up ${prefix}\n`);
    return 0;
  }
  const personYears = option(args, '--person-years', 1_000_000);
  const deliveries = option(args, '--deliveries', 100_000);
  const prefix = `bench-warn-${randomUUID().slice(0, 8)}.`;
  const secret = 'bench-webhook-secret-0123456789abcdef';
  const { idEncryptionKey } = loadConfig(effectiveEnvironment(io.env), ['idEncryptionKey']);
  let received = 0;
  let requests = 0;
  let invalid = 0;
  const receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const ok = verify({
        secret,
        body,
        timestamp: request.headers['x-hub-timestamp'] as string | undefined,
        signature: request.headers['x-hub-signature'] as string | undefined,
      });
      // A request carries up to HUB_DELIVERY_BATCH_SIZE warnings; each counts once.
      if (ok) received += (JSON.parse(body.toString('utf8')) as { warnings: unknown[] }).warnings.length;
      else invalid += 1;
      requests += 1;
      response.writeHead(ok ? 200 : 401).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const address = receiver.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const env = {
    ...effectiveEnvironment(io.env),
    HUB_TOPIC_PREFIX: prefix,
    HUB_LOG_LEVEL: 'warn',
    HUB_WARNINGS_REGIONS: 'anhui-huangshan-2022',
    HUB_CIVIL_AFFAIRS_WEBHOOK_URL: `http://127.0.0.1:${port}/warnings`,
    HUB_CIVIL_AFFAIRS_WEBHOOK_SECRET: secret,
    HUB_DELIVERY_CONCURRENCY: io.env.HUB_DELIVERY_CONCURRENCY ?? '64',
  };
  const logger = createLogger({ level: 'warn', role: 'bench' });
  const runtime = await registerAllSchemas(env)
    .then(() => openWarnings(env, logger))
    .catch((error: unknown) => {
      receiver.close();
      throw error;
    });
  let peakRss = process.memoryUsage().rss;
  let peakHeap = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 100);
  const namespace = stateNamespace(prefix);
  try {
    out.write(`warnings bench: ${int(personYears)} person-years of anhui-huangshan-2022, prefix ${prefix}\n`);
    const random = generator(16);
    const started = Date.now();
    const chunk = 2_000;
    let overOwnPay = 0;
    for (let from = 0; from < personYears; from += chunk) {
      const pairs: (string | Buffer)[] = [];
      const watch = new Map<string, (string | number)[]>();
      const ids: string[] = [];
      for (let i = from; i < Math.min(personYears, from + chunk); i += 1) {
        const personKey = `bench-${i.toString(36).padStart(8, '0')}`;
        const facts = new Map<`s:${string}` | `h:${string}` | `c:${string}`, StoredFact>();
        const categorised = random() < 0.05;
        if (categorised)
          facts.set('s:civil-affairs/B', {
            kind: 'status',
            eventId: `e-s-${i}`,
            version: 1,
            category: random() < 0.3 ? 'TEKUN' : 'DIBAO',
            action: 'CERTIFY',
            from: '2022-01-01',
            to: null,
          });
        const stays = 1 + Math.floor(random() * 3);
        let ownPay = 0;
        for (let n = 0; n < stays; n += 1) {
          const month = 1 + Math.floor(random() * 9);
          const scope = 100_00 + Math.floor(random() * 900_000);
          const basic = Math.floor(scope * 0.6);
          const own = Math.floor(random() * random() * 550_000);
          ownPay += own;
          const key = `H34100200001/B${i}-${n}`;
          const settledAt = `2022-${String(month).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`;
          facts.set(`h:${key}`, {
            kind: 'settlement',
            eventId: `e-h-${i}-${n}`,
            key,
            reversesKey: null,
            fixmedinsCode: 'H34100200001',
            setlId: `B${i}-${n}`,
            admdvs: '341002',
            insuredType: 'RESIDENT',
            medType: '21',
            settledAt,
            setlTime: Date.parse(`${settledAt}T10:00:00+08:00`),
            totalFen: scope + own,
            fullOwnPayFen: own,
            overLimitFen: 0,
            preSelfPayFen: 0,
            policyScopeFen: scope,
            basicPaidFen: basic,
            settledCriticalIllnessFen: 0,
            settledAssistanceFen: 0,
          });
        }
        const state: PersonState = { facts, emitted: new Map() };
        const keys = partitionKeys(namespace, i % runtime.config.topicPartitions);
        pairs.push(keys.person(personKey), encodePerson(state));
        // The warning watch, as the rules service writes it beside the person.
        for (const [policyId, score] of watchScores(facts.values(), runtime.resolver)) {
          const members = watch.get(keys.watch(policyId)) ?? [];
          members.push(score, personKey);
          watch.set(keys.watch(policyId), members);
        }
        ids.push(personKey, encryptNationalId(idNumber(i), idEncryptionKey, personKey));
        if (ownPay > 1_000_000) overOwnPay += 1;
      }
      const pipeline = runtime.redis.pipeline().mset(pairs);
      for (const [key, members] of watch) pipeline.zadd(key, ...members);
      if (ids.length > 0) pipeline.hset(`${runtime.namespace}:ids`, ...ids);
      await pipeline.exec();
    }
    out.write(
      `  wrote ${int(personYears)} person-years and their sealed ID numbers ` +
        `(${int(overOwnPay)} with over 10,000 yuan paid out of scope alone) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );

    // As `hub warnings` does at its start: the run's worker threads are up before the schedule fires.
    await runtime.startWorkers();
    // The peaks printed from here on are the run's and the delivery's, not the writing's.
    peakRss = process.memoryUsage().rss;
    peakHeap = process.memoryUsage().heapUsed;
    const profile = profiler(args);
    await profile.start();
    const runStarted = Date.now();
    const runCpu = process.cpuUsage();
    const summary = await runtime.run('anhui-huangshan-2022', '2022-Q2', { dryRun: false });
    const runSeconds = (Date.now() - runStarted) / 1000;
    const { user, system } = process.cpuUsage(runCpu);
    const runCpuSeconds = (user + system) / 1e6;
    await profile.stop('run');
    out.write(
      `RUN ${int(summary.personYears)} person-years in ${runSeconds.toFixed(1)} s (${int(summary.personYears / runSeconds)}/s): ` +
        `${int(summary.warned)} warned, ${int(summary.published)} published; this process's CPU ${runCpuSeconds.toFixed(1)} s ` +
        `(load average ${loadavg()[0]?.toFixed(1)}); peak RSS ${mib(peakRss)}, heap ${mib(peakHeap)} ` +
        `(target 1,000,000 in < 20 s: ${target(summary.personYears, runSeconds, 1_000_000, 20)})\n`,
    );

    // Delivery: the first `deliveries` warnings go to civil affairs (uncategorised and 特困/低保 persons all route there).
    const expected = Math.min(deliveries, summary.published);
    const deliveryStarted = Date.now();
    await profile.start();
    const service = await startWarningsService(runtime, logger);
    try {
      const deadline = Date.now() + 600_000;
      while (received < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
      const seconds = (Date.now() - deliveryStarted) / 1000;
      out.write(
        `DELIVERY ${int(received)} warnings delivered in ${int(requests)} signed requests in ${seconds.toFixed(1)} s ` +
          `(${int(received / seconds)}/s), ${invalid} with a bad signature; peak RSS ${mib(peakRss)}, heap ${mib(peakHeap)} ` +
          `(target 100,000 in < 60 s: ${target(received, seconds, 100_000, 60)})\n`,
      );
    } finally {
      await profile.stop('delivery');
      await service.stop();
    }
  } finally {
    clearInterval(sampler);
    await runtime.close();
    receiver.close();
    if (!args.includes('--keep')) await cleanUp(env, prefix);
    else out.write(`kept: hub bench warnings --clean-up ${prefix} removes it\n`);
  }
  return 0;
};
