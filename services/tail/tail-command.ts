import { randomUUID } from 'node:crypto';
import { topics, type TopicId } from '../../schemas';
import { kafkaSecurityKeys, type InboundRecord } from '../kafka';
import { connectKafka, kafkaSettingsFromConfig } from '../kafka/runtime';
import { HubError, createLifecycle, loadConfig, type RoleMain } from '../platform';
import { createLogger } from '../platform/runtime';
import { createTopicCodec, type TopicCodec } from '../registry';
import { createRegistryClient } from '../registry/runtime';

const usage = `usage: hub tail TOPIC [--follow] [--key PERSON_KEY] [--last N]

Prints a topic's records decoded from Avro, one JSON object a line: topic, partition, offset,
key, and the record (bytes as base64). TOPIC is a topic id or name without the prefix:
${Object.entries(topics)
  .map(([id, t]) => `  ${id.padEnd(26)} ${t.name}`)
  .join('\n')}
Without --follow it reads to the topic's end and exits; with --follow it goes on until stopped.`;

export interface TailOptions {
  readonly topic: TopicId;
  readonly follow: boolean;
  readonly key?: string;
  /** Only the last N records read (without --follow). */
  readonly last?: number;
}

/** Parses `hub tail`'s arguments; a topic is named by its id (selfPay) or its name (benefits.self-pay). */
export function parseTailArgs(args: readonly string[]): TailOptions {
  let topic: TopicId | undefined;
  let follow = false;
  let key: string | undefined;
  let last: number | undefined;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    const value = (): string => {
      const next = args[i + 1];
      if (next === undefined) throw new HubError('USAGE', `${arg} needs a value\n${usage}`);
      i += 1;
      return next;
    };
    if (arg === '--follow' || arg === '-f') follow = true;
    else if (arg === '--key') key = value();
    else if (arg === '--last') {
      const n = Number(value());
      if (!Number.isSafeInteger(n) || n < 1) throw new HubError('USAGE', `--last takes a whole number above 0\n${usage}`);
      last = n;
    } else if (arg === '--help' || arg === '-h') throw new HubError('USAGE', usage);
    else if (topic === undefined && !arg.startsWith('-')) {
      const found = (Object.keys(topics) as TopicId[]).find((id) => id === arg || topics[id].name === arg);
      if (found === undefined) throw new HubError('USAGE', `unknown topic '${arg}'\n${usage}`);
      topic = found;
    } else throw new HubError('USAGE', `unexpected argument '${arg}'\n${usage}`);
  }
  if (topic === undefined) throw new HubError('USAGE', `name a topic\n${usage}`);
  if (follow && last !== undefined)
    throw new HubError('USAGE', `--last reads to the end and stops; it does not go with --follow\n${usage}`);
  return { topic, follow, ...(key === undefined ? {} : { key }), ...(last === undefined ? {} : { last }) };
}

/** One record as a JSON line; byte fields (a dead letter's raw copy) as base64, 64-bit numbers as strings. */
export function tailLine(record: InboundRecord, value: unknown): string {
  return JSON.stringify(
    { topic: record.topic, partition: record.partition, offset: record.offset, key: record.key, value },
    (_name, field: unknown) => {
      if (typeof field === 'bigint') return field.toString();
      if (
        field !== null &&
        typeof field === 'object' &&
        (field as { type?: unknown }).type === 'Buffer' &&
        Array.isArray((field as { data?: unknown }).data)
      ) {
        return Buffer.from((field as { data: number[] }).data).toString('base64');
      }
      return field;
    },
  );
}

/**
 * `hub tail`: an operator's view of a topic, decoded through the registry. Debian's kcat has no
 * Avro support, so this is the way to read the hub's topics on such a machine. It reads with a
 * throwaway consumer group that it deletes when it ends, and never writes to a topic.
 */
export const runTail: RoleMain = async (args, io) => {
  const options = parseTailArgs(args);
  const config = loadConfig(io.env, [
    'kafkaBrokers',
    'kafkaClientId',
    'topicPrefix',
    'topicPartitions',
    'topicReplication',
    'schemaRegistryUrl',
    'logLevel',
    ...kafkaSecurityKeys,
  ]);
  // Records go to stdout; the log (stderr) says only what went wrong unless asked for more.
  const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, role: 'tail' });
  const kafka = connectKafka(kafkaSettingsFromConfig(config, 'tail'), logger);
  const topicName = kafka.topicName(topics[options.topic].name);
  const codec = createTopicCodec(createRegistryClient(config.schemaRegistryUrl), options.topic, topicName) as TopicCodec<unknown>;
  const render = async (record: InboundRecord): Promise<string | undefined> => {
    if (options.key !== undefined && record.key !== options.key) return undefined;
    if (record.value === null) return tailLine(record, null);
    try {
      return tailLine(record, await codec.decode(record.value));
    } catch (error) {
      return tailLine(record, { undecodable: error instanceof Error ? error.message : String(error), bytes: record.value.length });
    }
  };
  try {
    if (!options.follow) {
      const lines: string[] = [];
      for (const record of await kafka.readAll(topicName)) {
        const line = await render(record);
        if (line === undefined) continue;
        lines.push(line);
        if (options.last !== undefined && lines.length > options.last) lines.shift();
      }
      for (const line of lines) io.stdout.write(`${line}\n`);
      return 0;
    }
    const groupId = `${config.topicPrefix}hub-tail-${randomUUID()}`;
    const consumer = kafka.createConsumer({
      groupId,
      topics: [topicName],
      fromBeginning: true,
      handleBatch: async (records) => {
        for (const record of records) {
          const line = await render(record);
          if (line !== undefined) io.stdout.write(`${line}\n`);
        }
      },
    });
    const lifecycle = createLifecycle(logger, 5_000);
    lifecycle.onShutdown('consumer', async () => {
      await consumer.stop();
      await kafka.deleteGroup(groupId);
    });
    await consumer.start();
    await lifecycle.stopped;
    await lifecycle.shutdown('stopped');
    return 0;
  } finally {
    await kafka.close();
  }
};
