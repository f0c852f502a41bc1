/**
 * `npm run bench:connectors`: records per second from an agency file to its topic, and from the push
 * API to the topic, on the real local stack (`hub stack up`), with the peak memory (RSS) of the
 * importing process. Each round writes to topics of its own (a fresh HUB_TOPIC_PREFIX), so every
 * round publishes every record; the topics are deleted afterwards.
 *
 * Environment: BENCH_ROUNDS (default 3), BENCH_PEOPLE (default 204,000: about 1,000,000
 * settlements), BENCH_BATCH (rows per intake batch, default 2,000), BENCH_PUSH_RECORDS (default
 * 200,000), BENCH_PUSH_BATCH (records per request, default 2,000), BENCH_PUSH_CONCURRENCY (default 2),
 * BENCH_FILE_WORKER=0 (file imports prepare on the main thread, as the push API does, instead of in
 * the prepare worker: for comparison).
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type * as ConnectorApi from '../connectors/api/runtime';
import { hospitals } from '../connectors';
import { importFile, openIntake, readFileRows } from '../connectors/intake/runtime';
import { fileKeyStore } from '../connectors/api';
import { connectKafka } from '../services/kafka/runtime';
import { effectiveEnvironment, loadConfig, type Environment } from '../services/platform';
import { createLogger } from '../services/platform/runtime';
import { registerAllSchemas } from '../services/registry/runtime';

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const people = Number(process.env.BENCH_PEOPLE ?? 204_000);
const batchSize = Number(process.env.BENCH_BATCH ?? 2_000);
const pushRecords = Number(process.env.BENCH_PUSH_RECORDS ?? 200_000);
const pushBatch = Number(process.env.BENCH_PUSH_BATCH ?? 2_000);
const pushConcurrency = Number(process.env.BENCH_PUSH_CONCURRENCY ?? 2);
const fileWorker = process.env.BENCH_FILE_WORKER !== '0';
const targetPerSecond = 20_000;

const baseEnv = effectiveEnvironment(process.env);
const logger = createLogger({ level: 'warn', role: 'bench', destination: process.stderr });
const runId = randomUUID().slice(0, 8);
const prefixes: string[] = [];

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

/** Peak RSS while `work` runs, sampled every 50 ms (the process's lifetime peak would include the set-up). */
async function withPeakRss<T>(work: () => Promise<T>): Promise<{ result: T; peakRss: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 50);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, peakRss: peak };
  } finally {
    clearInterval(timer);
  }
}

async function freshEnvironment(label: string): Promise<Environment> {
  const prefix = `bench-${runId}-${label}-`;
  prefixes.push(prefix);
  const env = { ...baseEnv, HUB_TOPIC_PREFIX: prefix };
  await registerAllSchemas(env);
  return env;
}

function settlementFile(): string {
  const dir = join(baseEnv.HUB_STATE_DIR ?? '.hub', 'bench', `hospitals-${people}`);
  const file = join(dir, 'hospitals.csv');
  if (!existsSync(file)) {
    console.log(`generating ${file} (${people} people, about ${Math.round(people * 4.9).toLocaleString('en-US')} settlements) ...`);
    const run = spawnSync(
      process.execPath,
      [
        'bin/hub.mjs',
        'simulate',
        '--people',
        String(people),
        '--region',
        'xianyang-2020',
        '--out',
        dir,
        '--only',
        'hospitals',
        '--seed',
        'bench',
        '--bad-rate',
        '0',
      ],
      { stdio: 'inherit' },
    );
    if (run.status !== 0) throw new Error('hub simulate failed');
  }
  return file;
}

async function benchFileImport(file: string): Promise<{ rates: number[]; peakRss: number; rows: number }> {
  const rates: number[] = [];
  let peakRss = 0;
  let rows = 0;
  for (let round = 1; round <= rounds; round += 1) {
    const env = await freshEnvironment(`file${round}`);
    const runtime = await openIntake(hospitals, env, logger);
    try {
      const started = process.hrtime.bigint();
      const { result, peakRss: peak } = await withPeakRss(() =>
        importFile({
          agency: hospitals,
          input: createReadStream(file),
          format: 'csv',
          batchSize,
          // Without `offload`, the import prepares on the main thread through `ingest`.
          intake: fileWorker ? runtime.intake : { ingest: (items, channel) => runtime.intake.ingest(items, channel) },
          reportPath: join(tmpdir(), `bench-${runId}.rejected.csv`),
          channel: 'file:bench',
        }),
      );
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const rate = result.accepted / seconds;
      rates.push(rate);
      peakRss = Math.max(peakRss, peak);
      rows = result.rows;
      console.log(
        `  file round ${round}: ${result.rows} rows, ${result.accepted} accepted in ${seconds.toFixed(1)} s ` +
          `= ${Math.round(rate).toLocaleString('en-US')} records/s, peak RSS ${mib(peak)}`,
      );
    } finally {
      await forgetSeenFacts(runtime.redis, env.HUB_TOPIC_PREFIX ?? '');
      await runtime.close();
    }
  }
  return { rates, peakRss, rows };
}

/** The first `count` settlements of the file as JSON records with the canonical field names. */
async function jsonRecords(file: string, count: number): Promise<Record<string, string>[]> {
  const records: Record<string, string>[] = [];
  let header: readonly string[] | undefined;
  for await (const row of readFileRows(createReadStream(file), 'csv', 'utf-8')) {
    if (header === undefined) {
      header = row.cells;
      continue;
    }
    const record: Record<string, string> = {};
    header.forEach((name, i) => {
      record[name] = row.cells[i] ?? '';
    });
    records.push(record);
    if (records.length >= count) break;
  }
  return records;
}

async function benchPushApi(file: string): Promise<number[] | string> {
  let api: typeof ConnectorApi;
  try {
    api = await import('../connectors/api/runtime');
  } catch (error) {
    return `the push API (connectors/api) cannot be loaded: ${error instanceof Error ? error.message : String(error)}`;
  }
  const records = await jsonRecords(file, pushRecords);
  const rates: number[] = [];
  const keysDir = await mkdtemp(join(tmpdir(), 'bench-keys-'));
  const keysFile = join(keysDir, 'agency-keys.json');
  const issued = await fileKeyStore(keysFile).issue('hospitals');
  for (let round = 1; round <= rounds; round += 1) {
    const env: Environment = { ...(await freshEnvironment(`push${round}`)), HUB_AGENCY_KEYS_FILE: keysFile };
    const connector = await api.startConnector({ agency: hospitals, env, logger, port: 0 });
    try {
      const started = process.hrtime.bigint();
      let next = 0;
      let accepted = 0;
      const worker = async (): Promise<void> => {
        while (next < records.length) {
          const slice = records.slice(next, next + pushBatch);
          next += pushBatch;
          const response = await fetch(`${connector.url}/v1/records`, {
            method: 'POST',
            headers: { authorization: `Bearer ${issued.key}`, 'content-type': 'application/json' },
            body: JSON.stringify({ records: slice }),
          });
          const answer = (await response.json()) as { accepted?: number };
          if (!response.ok) throw new Error(`push API answered ${response.status}: ${JSON.stringify(answer).slice(0, 300)}`);
          accepted += answer.accepted ?? 0;
        }
      };
      await Promise.all(Array.from({ length: pushConcurrency }, () => worker()));
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      rates.push(accepted / seconds);
      console.log(
        `  push round ${round}: ${accepted} accepted in ${seconds.toFixed(1)} s ` +
          `= ${Math.round(accepted / seconds).toLocaleString('en-US')} records/s`,
      );
    } finally {
      await forgetSeenFacts(connector.runtime.redis, env.HUB_TOPIC_PREFIX ?? '');
      await connector.close();
    }
  }
  rmSync(keysDir, { recursive: true, force: true });
  return rates;
}

/** The intake's memory of published facts for a bench prefix (a million keys a round), removed. */
async function forgetSeenFacts(redis: Redis, prefix: string): Promise<void> {
  const stream = redis.scanStream({ match: `hub:intake:fact:${prefix}*`, count: 5_000 });
  for await (const keys of stream as AsyncIterable<string[]>) if (keys.length > 0) await redis.unlink(...keys);
}

async function deleteBenchTopics(): Promise<void> {
  const config = loadConfig(baseEnv, ['kafkaBrokers']);
  const kafka = connectKafka(
    { brokers: config.kafkaBrokers, clientId: 'bench-cleanup', topicPrefix: '', partitions: 1, replication: 1 },
    logger,
  );
  try {
    for (const prefix of prefixes) await kafka.deleteTopics(await kafka.topicsStartingWith(prefix));
  } finally {
    await kafka.close();
  }
}

async function main(): Promise<void> {
  const file = settlementFile();
  console.log(`RSS before importing: ${mib(process.memoryUsage.rss())} (Node, tsx and the Kafka, Redis and registry clients loaded)`);
  const info = JSON.parse(readFileSync(join(file, '..', 'simulation.json'), 'utf8')) as { feeds: { records: number }[] };
  console.log(
    `bench:connectors — ${info.feeds[0]?.records.toLocaleString('en-US') ?? '?'} hospital settlements,` +
      ` ${rounds} rounds, batches of ${batchSize}, file prepare ${fileWorker ? 'in a worker thread' : 'on the main thread'}`,
  );
  try {
    const fileResult = await benchFileImport(file);
    const push = await benchPushApi(file);
    console.log('');
    console.log(
      `file -> topic   median ${Math.round(median(fileResult.rates)).toLocaleString('en-US')} records/s ` +
        `over ${rounds} rounds of ${fileResult.rows.toLocaleString('en-US')} rows ` +
        `(target ${targetPerSecond.toLocaleString('en-US')}: ${median(fileResult.rates) >= targetPerSecond ? 'met' : 'missed'});` +
        ` peak RSS ${mib(fileResult.peakRss)}`,
    );
    if (typeof push === 'string') console.log(`push -> topic   not measured: ${push}`);
    else
      console.log(
        `push -> topic   median ${Math.round(median(push)).toLocaleString('en-US')} records/s over ${rounds} ` +
          `rounds of ${pushRecords.toLocaleString('en-US')} records (${pushBatch} per request, ${pushConcurrency} in flight)`,
      );
  } finally {
    await deleteBenchTopics().catch((error: unknown) => console.error(`could not delete the bench topics: ${String(error)}`));
  }
}

await main();
