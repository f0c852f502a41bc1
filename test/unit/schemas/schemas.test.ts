import { describe, expect, it } from 'vitest';
import {
  agencyCodes,
  agencyIds,
  agencyOfTopic,
  avroType,
  daysToIsoDate,
  inboundTopicIds,
  isoDateToDays,
  schemaText,
  topicSpec,
  topics,
  type TopicId,
} from '../../../schemas';
import { sampleRecords } from '../../support/sample-records';

describe('Avro schemas', () => {
  const ids = Object.keys(topics) as TopicId[];

  it.each(ids)('%s: the TypeScript record type agrees with the schema and round-trips', (id) => {
    const type = avroType(topics[id].schema);
    const sample = sampleRecords[id];
    const problems: string[] = [];
    const valid = type.isValid(sample, { errorHook: (path) => problems.push(path.join('.')) });
    expect(problems).toEqual([]);
    expect(valid).toBe(true);
    expect(type.fromBuffer(type.toBuffer(sample))).toEqual(sample);
  });

  it.each(ids)('%s: carries an event id, a source and both times', (id) => {
    const fields = (JSON.parse(schemaText(topics[id].schema)) as { fields: { name: string }[] }).fields.map((f) => f.name);
    expect(fields.slice(0, 4)).toEqual(['eventId', 'source', 'occurredAt', 'recordedAt']);
  });

  it('keys inbound records by person: every inbound and warning schema has a person key and a sealed ID, never a clear one', () => {
    for (const id of [
      'civilAffairsStatus',
      'ruralRevitalizationStatus',
      'hospitalSettlements',
      'taxContributions',
      'quarterlyWarnings',
    ] as const) {
      const text = JSON.stringify(avroType(topics[id].schema).schema());
      expect(text).toContain('"personKey"');
      expect(text).toContain('"idCipher"');
      expect(text).not.toMatch(/"(idNumber|certno|psn_cert_no|nationalId)"/);
    }
  });

  it('stores calendar dates as Avro dates: days since the epoch', () => {
    expect(isoDateToDays('1970-01-02')).toBe(1);
    expect(isoDateToDays('2019-03-01')).toBe(17956);
    expect(daysToIsoDate(17956)).toBe('2019-03-01');
    const type = avroType('civil-affairs-status-change');
    const buffer = type.toBuffer(sampleRecords.civilAffairsStatus);
    expect(type.fromBuffer(buffer)).toMatchObject({ validFrom: '2019-03-01', validTo: null });
  });
});

describe('the table of topics and agencies', () => {
  it('derives the inbound topics, each written by one agency, and the agencies that receive warnings', () => {
    expect(inboundTopicIds).toEqual(['civilAffairsStatus', 'ruralRevitalizationStatus', 'hospitalSettlements', 'taxContributions']);
    expect(agencyIds).toEqual(['civil-affairs', 'rural-revitalization', 'hospitals', 'tax']);
    expect(agencyOfTopic).toEqual({
      civilAffairsStatus: 'civil-affairs',
      ruralRevitalizationStatus: 'rural-revitalization',
      hospitalSettlements: 'hospitals',
      taxContributions: 'tax',
    });
    expect(agencyCodes).toEqual(['CIVIL_AFFAIRS', 'RURAL_REVITALIZATION']);
  });

  it('keeps facts, decisions, warnings, receipts and dead letters for good, and names a topic under its prefix', () => {
    // Kafka is the system of record: the rules state and the desk's read model are folded again from every topic.
    const kept = (Object.keys(topics) as TopicId[]).filter(
      (id) => (topics[id].config as Readonly<Record<string, string>>)['retention.ms'] === '-1',
    );
    expect(kept).toEqual([
      'civilAffairsStatus',
      'ruralRevitalizationStatus',
      'hospitalSettlements',
      'taxContributions',
      'benefitAdjustments',
      'subsidyCorrections',
      'selfPay',
      'quarterlyWarnings',
      'deliveryReceipts',
      'deadLetters',
    ]);
    expect(topicSpec('taxContributions', 'p.')).toEqual({
      name: 'p.tax.contributions',
      config: { 'retention.ms': '-1', 'cleanup.policy': 'delete' },
    });
    expect(topicSpec('quarterlyWarnings', '')).toEqual({
      name: 'warnings.quarterly',
      config: { 'retention.ms': '-1', 'cleanup.policy': 'delete' },
    });
  });
});

describe('money on the wire', () => {
  it('says in the doc of every field holding fen that it holds fen', () => {
    type Field = { name: string; type: unknown; doc?: string };
    const undocumented: string[] = [];
    const visit = (where: string, type: unknown): void => {
      if (Array.isArray(type)) {
        for (const branch of type) visit(where, branch);
        return;
      }
      if (typeof type !== 'object' || type === null) return;
      const { fields, items } = type as { fields?: Field[]; items?: unknown };
      if (items !== undefined) visit(where, items);
      for (const field of fields ?? []) {
        const money = /Fen$|_amt$|_sumamt$|_pay$|^overlmt_selfpay$/.test(field.name);
        if (money && !/\(fen, 分\)/.test(field.doc ?? '')) undocumented.push(`${where}.${field.name}`);
        visit(`${where}.${field.name}`, field.type);
      }
    };
    for (const id of Object.keys(topics) as TopicId[]) visit(topics[id].schema, JSON.parse(schemaText(topics[id].schema)) as unknown);
    expect(undocumented).toEqual([]);
  });
});
