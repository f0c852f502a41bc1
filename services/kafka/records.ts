import type { IHeaders, KafkaMessage } from 'kafkajs';

/** A record the hub sends. */
export interface OutboundRecord {
  /** The person key, so that one person's records share a partition and keep their order. */
  readonly key: string;
  readonly value: Buffer;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A record the hub has read. */
export interface InboundRecord {
  readonly topic: string;
  readonly partition: number;
  /** Kafka offsets are 64-bit; kept as decimal strings. */
  readonly offset: string;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly timestamp: number;
}

/** Records to publish to one topic. */
export interface OutboundBatch {
  readonly topic: string;
  readonly records: readonly OutboundRecord[];
}

/** A record as kafkajs sends it. */
export type WireMessage = { key: string; value: Buffer; headers?: IHeaders };

/** One produce request: messages per topic. */
export type ProduceRequest = { topic: string; messages: WireMessage[] }[];

export function toInbound(topic: string, partition: number, message: KafkaMessage): InboundRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? String(value[0]) : String(value);
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key === null ? null : message.key.toString('utf8'),
    value: message.value,
    headers,
    timestamp: Number(message.timestamp),
  };
}

export function toMessage(record: OutboundRecord): WireMessage {
  return record.headers === undefined
    ? { key: record.key, value: record.value }
    : { key: record.key, value: record.value, headers: { ...record.headers } };
}

/** The offset after the last of `records` ('0' for none). */
export function nextOffset(records: readonly InboundRecord[]): string {
  const last = records[records.length - 1];
  return last === undefined ? '0' : (BigInt(last.offset) + 1n).toString();
}

/**
 * A batch's outputs as produce requests: all topics in one request, split so that no request (and
 * so no partition's record batch) comes near the broker's 1 MiB message.max.bytes; a large input
 * batch's outputs in one request were refused as "larger than the max message size".
 */
export const maxRequestBytes = 512 * 1024;
export function produceRequests(outputs: readonly OutboundBatch[], limitBytes: number = maxRequestBytes): ProduceRequest[] {
  const requests: ProduceRequest[] = [];
  let current: ProduceRequest = [];
  let bytes = 0;
  for (const output of outputs) {
    let entry: { topic: string; messages: WireMessage[] } | undefined;
    for (const record of output.records) {
      const size = record.value.length + Buffer.byteLength(record.key) + 64;
      if (bytes + size > limitBytes && bytes > 0) {
        requests.push(current);
        current = [];
        entry = undefined;
        bytes = 0;
      }
      if (entry === undefined) {
        entry = { topic: output.topic, messages: [] };
        current.push(entry);
      }
      entry.messages.push(toMessage(record));
      bytes += size;
    }
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

/** The error kafkajs reports, or what it wraps: the broker's type, for telling fencing apart. */
export function errorTypes(error: unknown): string[] {
  const types: string[] = [];
  for (let at: unknown = error, depth = 0; at !== undefined && at !== null && depth < 5; depth += 1) {
    const { type, name } = at as { type?: unknown; name?: unknown };
    if (typeof type === 'string') types.push(type);
    if (typeof name === 'string') types.push(name);
    at = (at as { cause?: unknown }).cause;
  }
  return types;
}
