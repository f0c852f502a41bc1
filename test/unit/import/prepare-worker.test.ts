import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { hospitals } from '../../../connectors';
import { createIntake, type Intake } from '../../../connectors/intake';
import { importFile } from '../../../connectors/intake/runtime';
import { avroType, schemaText, topics } from '../../../schemas';
import { decryptNationalId } from '../../../services/identity';
import type { DeadLetterInput } from '../../../services/kafka';
import { memoryDeadLetterTopic, memoryDeadLetters } from '../connectors/fixtures';
import { memorySeenFacts } from './memory-intake';

/**
 * A file import prepares its batches in a worker thread when the intake offers `offload`; the
 * outcomes, event ids, content hashes, records and wire bytes must be those of the main-thread path.
 */
const schemaId = 7;
const schema = schemaText(topics.hospitalSettlements.schema);
const type = avroType(topics.hospitalSettlements.schema);
const secrets = { personKeySecret: Buffer.alloc(32, 1), idEncryptionKey: Buffer.alloc(32, 2) };
const now = Date.parse('2026-06-01T10:00:00+08:00');

interface World {
  readonly intake: Intake;
  readonly sent: { key: string; value: Buffer }[];
  readonly seen: Map<string, string>;
  readonly deadLetters: DeadLetterInput[];
}

function world(offloaded: boolean, writerSchema = () => Promise.resolve({ id: schemaId, schema })): World {
  const sent: { key: string; value: Buffer }[] = [];
  const seen = new Map<string, string>();
  const deadLetters: DeadLetterInput[] = [];
  const seenFacts = memorySeenFacts(seen);
  const letters = memoryDeadLetters();
  const intake = createIntake({
    agency: hospitals,
    secrets,
    publisher: {
      publish: (batches) => {
        for (const batch of batches) {
          if (batch.topic === memoryDeadLetterTopic) deadLetters.push(...letters.lettersOf(batch));
          else for (const record of batch.records) sent.push({ key: String(record.key), value: record.value });
        }
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    },
    // As the registry codec's fast encoder writes: 0x00, the schema id, the Avro binary.
    codec: {
      topic: 'hospitals.settlements',
      encode: (record) => {
        const head = Buffer.alloc(5);
        head.writeUInt32BE(schemaId, 1);
        return Promise.resolve(Buffer.concat([head, type.toBuffer(record)]));
      },
      decode: () => Promise.reject(new Error('not used')),
    },
    deadLetters: letters.writer,
    seen: seenFacts,
    now: () => now,
    ...(offloaded ? { writerSchema } : {}),
  });
  return { intake, sent, seen, deadLetters };
}

const dibaoId = '330302194501258303';
const header =
  'fixmedins_code,setl_id,mdtrt_id,psn_no,certno,psn_name,insutype,insu_admdvs,med_type,setl_time,' +
  'medfee_sumamt,fulamt_ownpay_amt,overlmt_selfpay,preselfpay_amt,inscp_scp_amt,hifp_pay,hifmi_pay,maf_pay,psn_part_amt';
const row = (n: number, id = dibaoId, total = '100.00'): string =>
  `H33030200001,S${n},M${n},P1,${id},王秀英,390,330300,11,2019-04-0${n} 10:00:00,${total},5.00,0.00,5.00,90.00,45.00,0.00,0.00,55.00`;
const file = [
  header,
  row(1),
  row(2),
  row(1),
  row(3, '330302194501258304'),
  row(4),
  row(2, dibaoId, '100.00'),
  row(5),
  row(4, dibaoId, '200.00'),
  row(6),
].join('\n');

const decoded = (value: Buffer): Record<string, unknown> => type.fromBuffer(value.subarray(5)) as Record<string, unknown>;

async function run(offloaded: boolean, w = world(offloaded)) {
  const dir = await mkdtemp(join(tmpdir(), 'hub-prepare-'));
  const reportPath = join(dir, 'report.csv');
  const progress: number[] = [];
  const summary = await importFile({
    agency: hospitals,
    input: Readable.from([Buffer.from(file)]),
    format: 'csv',
    intake: w.intake,
    batchSize: 2,
    reportPath,
    onProgress: (rows) => progress.push(rows),
  });
  return { summary, report: await readFile(reportPath, 'utf8'), progress, ...w };
}

describe('file import with the prepare worker', () => {
  it('decides, publishes and reports exactly as the main-thread path', async () => {
    const main = await run(false);
    const worker = await run(true);
    expect(worker.intake.offload).toBeDefined();
    expect(main.intake.offload).toBeUndefined();
    expect({ ...worker.summary, reportPath: null }).toEqual({ ...main.summary, reportPath: null });
    expect(worker.summary).toMatchObject({ rows: 9, accepted: 5, duplicates: 2, rejected: 2 });
    expect(worker.report).toEqual(main.report);
    expect(worker.progress).toEqual(main.progress);
    expect([...worker.seen]).toEqual([...main.seen]);
    expect(worker.sent.map((m) => m.key)).toEqual(main.sent.map((m) => m.key));

    // The ciphertext has a random IV; everything else is the same record, and the bytes are the wire format.
    const withoutCipher = (record: Record<string, unknown>) => ({ ...record, idCipher: undefined });
    for (const [i, message] of worker.sent.entries()) {
      const record = decoded(message.value);
      const expected = decoded(main.sent[i]?.value ?? Buffer.alloc(5));
      expect(withoutCipher(record)).toEqual(withoutCipher(expected));
      expect(decryptNationalId(String(record.idCipher), secrets.idEncryptionKey, String(record.personKey))).toBe(dibaoId);
      const head = Buffer.alloc(5);
      head.writeUInt32BE(schemaId, 1);
      expect(message.value.equals(Buffer.concat([head, type.toBuffer(record)]))).toBe(true);
    }

    const letter = (l: DeadLetterInput) => ({ ...l, raw: undefined, rawIsBuffer: Buffer.isBuffer(l.raw) });
    expect(worker.deadLetters.map(letter)).toEqual(main.deadLetters.map(letter));
    expect(worker.deadLetters).toHaveLength(2);
    for (const l of worker.deadLetters) expect(l.raw.toString('utf8')).not.toContain(dibaoId);
  });

  it('counts a second import of the same file as duplicates', async () => {
    const w = world(true);
    await run(true, w);
    const second = await run(true, w);
    expect(second.summary).toMatchObject({ rows: 9, accepted: 0, duplicates: 7, rejected: 2 });
  });

  it('prepares on the main thread when the registry cannot give the schema', async () => {
    const w = world(true, () => Promise.reject(new Error('registry down')));
    const result = await run(true, w);
    expect(result.summary).toMatchObject({ rows: 9, accepted: 5, duplicates: 2, rejected: 2 });
    expect(result.sent).toHaveLength(5);
  });
});
