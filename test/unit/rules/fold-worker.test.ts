import { describe, expect, it } from 'vitest';
import type { InboundRecord } from '../../../services/kafka';
import { pack, unpack } from '../../../services/platform';
import { packOutputs, packRecords, unpackOutputs, unpackRecords } from '../../../services/rules/fold-worker';

const record = (offset: number, value: string | null): InboundRecord => ({
  topic: 'hospitals.settlements',
  partition: 4,
  offset: String(offset),
  key: null,
  value: value === null ? null : Buffer.from(value, 'utf8'),
  headers: {},
  timestamp: 1_556_000_000_000 + offset,
});

describe('records crossing to a fold worker', () => {
  it('keep their values, offsets, timestamps and missing values through pack and unpack', () => {
    const records = [record(10, 'first'), record(11, null), record(12, ''), record(13, '结算 settlement ✓')];
    const back = unpackRecords(packRecords(records));
    expect(back.map((r) => [r.topic, r.partition, r.offset, r.timestamp, r.value?.toString('utf8') ?? null])).toEqual(
      records.map((r) => [r.topic, r.partition, r.offset, r.timestamp, r.value?.toString('utf8') ?? null]),
    );
  });

  it("pack into a buffer of their own, which can be transferred without detaching Node's shared pool", () => {
    // Small Buffers live in one shared pool: transferring that pool's memory would break every other Buffer in it.
    const small = Buffer.from('tiny');
    expect(small.buffer.byteLength).toBeGreaterThan(small.length);
    const packed = pack([small, Buffer.from('also tiny')]);
    expect(packed.values.buffer.byteLength).toBe('tiny'.length + 'also tiny'.length);
    expect(packed.values.buffer).not.toBe(small.buffer);
    expect(unpack(packed.values, packed.ends).map((b) => b?.toString())).toEqual(['tiny', 'also tiny']);
  });

  it('outputs come back per topic with their keys and bytes', () => {
    const outputs = [
      {
        topic: 'benefits.self-pay',
        records: [
          { key: 'a', value: Buffer.from([0, 0, 0, 0, 7, 1]) },
          { key: 'b', value: Buffer.from([2]) },
        ],
      },
      { topic: 'benefits.adjustments', records: [{ key: 'c', value: Buffer.alloc(0) }] },
    ];
    const back = unpackOutputs(packOutputs(outputs));
    expect(back.map((o) => ({ topic: o.topic, records: o.records.map((r) => ({ key: r.key, value: [...r.value] })) }))).toEqual(
      outputs.map((o) => ({ topic: o.topic, records: o.records.map((r) => ({ key: r.key, value: [...r.value] })) })),
    );
  });
});
