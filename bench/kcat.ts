/**
 * The hub's Kafka client beside a raw one: Debian's kcat (librdkafka) produces and consumes the
 * same number of the same records on topics of this bench's own, and the script prints both rates
 * and their ratio. Producing: kcat with acks=all and idempotence, as the hub's producer sends;
 * consuming: kcat reading a topic to its end, the hub's readAll doing the same (read-committed).
 *
 *   node --import tsx bench/kcat.ts            # BENCH_KCAT_RECORDS (default 200,000), BENCH_KCAT_BYTES (300)
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { type OutboundRecord } from '../services/kafka';
import { connectKafka } from '../services/kafka/runtime';
import { HubError, effectiveEnvironment, loadConfig } from '../services/platform';
import { createLogger } from '../services/platform/runtime';

const records = Number(process.env.BENCH_KCAT_RECORDS ?? 200_000);
const valueBytes = Number(process.env.BENCH_KCAT_BYTES ?? 300);
const batch = 2_000;

const config = loadConfig(effectiveEnvironment(process.env), ['kafkaBrokers', 'topicPartitions']);
const brokers = config.kafkaBrokers.join(',');
const logger = createLogger({ level: 'warn', role: 'bench', destination: process.stderr });
const prefix = `bench-kcat-${randomUUID().slice(0, 8)}.`;
const kafka = connectKafka(
  { brokers: config.kafkaBrokers, clientId: 'bench-kcat', topicPrefix: prefix, partitions: config.topicPartitions, replication: 1 },
  logger,
);

const keyOf = (i: number): string => `person-${String(i).padStart(8, '0')}`;
const valueOf = (i: number): string => `${String(i).padStart(10, '0')}${'x'.repeat(Math.max(0, valueBytes - 10))}`;
const perSecond = (count: number, ms: number): number => Math.round((count * 1000) / ms);
const int = (n: number): string => n.toLocaleString('en-US');

function kcat(args: readonly string[], input?: string): { ms: number; stdout: string } {
  const started = performance.now();
  const result = spawnSync('kcat', ['-b', brokers, ...args], { input, encoding: 'utf8', maxBuffer: 1024 * 1024 * 1024 });
  if (result.error !== undefined) throw result.error;
  if (result.status !== 0) throw new Error(`kcat ${args.join(' ')} exited ${result.status ?? result.signal}: ${result.stderr}`);
  return { ms: performance.now() - started, stdout: result.stdout };
}

async function main(): Promise<void> {
  if (spawnSync('kcat', ['-V']).error !== undefined) {
    throw new HubError('USAGE', "bench:kcat compares the hub with Debian's kcat, which is not installed here: apt-get install kcat");
  }
  const rawTopic = `${prefix}raw`;
  const hubTopic = `${prefix}hub`;
  await kafka.ensureTopics([{ name: rawTopic }, { name: hubTopic }]);
  console.log(
    `bench:kcat — ${int(records)} records of ${valueBytes} bytes, ${config.topicPartitions} partitions, topics ${rawTopic} and ${hubTopic}`,
  );

  // kcat reads key:value lines from its standard input, built before its clock starts.
  const lines = Array.from({ length: records }, (_, i) => `${keyOf(i)}:${valueOf(i)}\n`).join('');
  const kcatProduce = kcat(['-P', '-t', rawTopic, '-K:', '-X', 'acks=all', '-X', 'enable.idempotence=true'], lines);

  const producer = await kafka.createProducer();
  const outbound: OutboundRecord[] = Array.from({ length: records }, (_, i) => ({ key: keyOf(i), value: Buffer.from(valueOf(i)) }));
  let started = performance.now();
  for (let from = 0; from < records; from += batch) await producer.send(hubTopic, outbound.slice(from, from + batch));
  const hubProduceMs = performance.now() - started;

  const kcatConsume = kcat(['-C', '-t', rawTopic, '-o', 'beginning', '-e', '-q', '-X', 'isolation.level=read_committed', '-f', '%k\n']);
  const kcatRead = kcatConsume.stdout.split('\n').filter((line) => line !== '').length;
  started = performance.now();
  const hubRead = (await kafka.readAll(hubTopic)).length;
  const hubConsumeMs = performance.now() - started;

  const rows = [
    ['produce', perSecond(records, kcatProduce.ms), perSecond(records, hubProduceMs)],
    ['consume', perSecond(kcatRead, kcatConsume.ms), perSecond(hubRead, hubConsumeMs)],
  ] as const;
  for (const [what, raw, hub] of rows) {
    console.log(
      `${what.padEnd(8)} kcat ${int(raw).padStart(9)} records/s   hub ${int(hub).padStart(9)} records/s   ` +
        `hub/kcat ${(hub / raw).toFixed(2)}`,
    );
  }
  if (kcatRead !== records || hubRead !== records) console.log(`read back: kcat ${int(kcatRead)}, hub ${int(hubRead)} of ${int(records)}`);
  console.log("(kcat times include starting the process and connecting; the hub's do not include connecting)");
}

try {
  await main();
} finally {
  await kafka
    .deleteTopics(await kafka.topicsStartingWith(prefix))
    .catch((error: unknown) => console.error(`could not delete the bench topics: ${String(error)}`));
  await kafka.close();
}
