import { describe, expect, it } from 'vitest';
import { civilAffairs, hospitals } from '../../../connectors';
import type { IntakeItem, RawRecord } from '../../../connectors/intake';
import { decryptNationalId, derivePersonKey } from '../../../services/identity';
import { decodePublished, fixedNow, inMemoryIntake, liSi, secrets, validRaw, zhangSan } from './fixtures';

const item = (raw: RawRecord, index = 0): IntakeItem => ({ raw, rawFormat: 'json', position: `records[${index}]` });

describe('intake pipeline', () => {
  it('publishes an accepted record keyed by the person key, with the ID sealed and no clear ID or name', async () => {
    const world = inMemoryIntake(civilAffairs);
    const [outcome] = await world.intake.ingest([item(validRaw['civil-affairs'])], 'api:key-1');

    const personKey = derivePersonKey(zhangSan.idNumber, secrets.personKeySecret);
    expect(world.published).toHaveLength(1);
    const [entry] = world.published;
    if (entry === undefined) throw new Error('nothing published');
    expect(entry.topic).toBe('test.civil-affairs');
    expect(entry.record.key).toBe(personKey);
    const record = decodePublished(entry);
    expect(record).toEqual({
      sourceRecordId: 'MZ-2019-0001',
      sourceVersion: 1,
      admdvs: '330302',
      category: 'DIBAO',
      action: 'CERTIFY',
      validFrom: '2019-03-01',
      validTo: null,
      eventId: outcome?.status === 'accepted' ? outcome.eventId : 'missing',
      source: 'civil-affairs:api:key-1',
      occurredAt: Date.parse('2019-02-27T10:00:00+08:00'),
      recordedAt: fixedNow,
      personKey,
      idCipher: expect.stringMatching(/^v1\./) as unknown,
    });
    expect(decryptNationalId(record.idCipher as string, secrets.idEncryptionKey, personKey)).toBe(zhangSan.idNumber);
    const bytes = entry.record.value.toString('utf8');
    expect(bytes).not.toContain(zhangSan.idNumber);
    expect(bytes).not.toContain(zhangSan.name);
    expect(world.deadLetters).toEqual([]);
  });

  it('publishes a fact sent twice in one batch once, answering the second copy as a duplicate', async () => {
    const world = inMemoryIntake(civilAffairs);
    const outcomes = await world.intake.ingest([item(validRaw['civil-affairs'], 0), item(validRaw['civil-affairs'], 1)], 'api:key-1');
    expect(outcomes.map((o) => o.status)).toEqual(['accepted', 'duplicate']);
    expect(outcomes[0]?.status === 'accepted' && outcomes[1]?.status === 'duplicate' && outcomes[0].eventId === outcomes[1].eventId).toBe(
      true,
    );
    expect(world.published).toHaveLength(1);
  });

  it('publishes a fact sent again in a later batch once', async () => {
    const world = inMemoryIntake(civilAffairs);
    await world.intake.ingest([item(validRaw['civil-affairs'])], 'api:key-1');
    // A resend through another channel is still the same fact: the envelope is not part of its identity.
    const again = await world.intake.ingest([item(validRaw['civil-affairs'])], 'file:batch-2');
    expect(again.map((o) => o.status)).toEqual(['duplicate']);
    expect(world.published).toHaveLength(1);
  });

  it('refuses the same record id and version with other content, with a dead letter keyed by the person', async () => {
    const world = inMemoryIntake(civilAffairs);
    await world.intake.ingest([item(validRaw['civil-affairs'])], 'api:key-1');
    const changed = await world.intake.ingest([item({ ...validRaw['civil-affairs'], category: 'TEKUN' })], 'api:key-1');
    expect(changed).toEqual([
      {
        status: 'rejected',
        position: 'records[0]',
        problems: [
          { field: 'sourceVersion', reason: 'this record id and version were already received with other content: send a new version' },
        ],
      },
    ]);
    expect(world.published).toHaveLength(1);
    expect(world.deadLetters).toHaveLength(1);
    expect(world.deadLetters[0]).toMatchObject({
      origin: 'civil-affairs',
      errorCode: 'INPUT_INVALID',
      field: 'sourceVersion',
      key: derivePersonKey(zhangSan.idNumber, secrets.personKeySecret),
    });
  });

  it('writes one dead letter per rejected record, its raw form with the ID sealed and the name removed', async () => {
    const world = inMemoryIntake(civilAffairs);
    const outcomes = await world.intake.ingest(
      [
        item({ ...validRaw['civil-affairs'], validFrom: '2019-02-30' }, 0),
        item({ ...validRaw['civil-affairs'], recordId: 'MZ-2019-0002', idNumber: liSi.idNumber, name: liSi.name }, 1),
        item({ ...validRaw['civil-affairs'], recordId: 'MZ-2019-0003', category: 'UNKNOWN', action: 'REVOKE' }, 2),
      ],
      'api:key-1',
    );
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'accepted', 'rejected']);
    expect(world.deadLetters).toHaveLength(2);
    const [first, second] = world.deadLetters;
    expect(first).toMatchObject({
      origin: 'civil-affairs',
      errorCode: 'INPUT_INVALID',
      rawFormat: 'json',
      field: 'validFrom',
      sourceRecordId: 'MZ-2019-0001',
      errorMessage: 'validFrom: "2019-02-30" is not a real date (YYYY-MM-DD)',
    });
    expect(second).toMatchObject({
      field: 'category',
      sourceRecordId: 'MZ-2019-0003',
      errorMessage:
        'category: "UNKNOWN" is not one of TEKUN, DIBAO, DIBAO_EDGE, ORPHAN, ILLNESS_POVERTY; validTo: a ' +
        'revocation names the day the status ends',
    });
    for (const letter of world.deadLetters) {
      const text = letter.raw.toString('utf8');
      expect(text).not.toContain(zhangSan.idNumber);
      expect(text).not.toContain(zhangSan.name);
      const raw = JSON.parse(text) as Record<string, unknown>;
      expect(raw.name).toBe('[removed]');
      expect(decryptNationalId(String(raw.idNumber), secrets.idEncryptionKey, 'dead-letter')).toBe(zhangSan.idNumber);
    }
  });

  it('masks an ID number sent under a misspelt field name before it reaches the dead letters', async () => {
    const world = inMemoryIntake(hospitals);
    const { certno: _certno, ...withoutCertno } = validRaw.hospitals;
    const outcomes = await world.intake.ingest(
      [item({ ...withoutCertno, cert_no: zhangSan.idNumber, note: `patient ${zhangSan.idNumber}` })],
      'api:key-1',
    );
    expect(outcomes).toEqual([
      { status: 'rejected', position: 'records[0]', problems: [{ field: 'certno', reason: 'no ID number given' }] },
    ]);
    const raw = world.deadLetters[0]?.raw.toString('utf8') ?? '';
    expect(raw).not.toContain(zhangSan.idNumber);
    // Fields the agency does not have are only counted: a name may sit under any key (issue 10, item 3d).
    const kept = JSON.parse(raw) as Record<string, unknown>;
    expect(kept).toMatchObject({ '[other fields removed]': 2, psn_name: '[removed]', setl_id: 'S20190402001' });
    expect(Object.keys(kept)).not.toContain('cert_no');
  });

  it('remembers nothing when Kafka refuses the batch, so that the resend is published', async () => {
    const world = inMemoryIntake(civilAffairs);
    world.failNextSend(new Error('broker down'));
    await expect(world.intake.ingest([item(validRaw['civil-affairs'])], 'api:key-1')).rejects.toThrow('broker down');
    expect(world.seen.size).toBe(0);
    const retry = await world.intake.ingest([item(validRaw['civil-affairs'])], 'api:key-1');
    expect(retry.map((o) => o.status)).toEqual(['accepted']);
    expect(world.published).toHaveLength(1);
  });

  it('gives a settlement and its reversal different event ids: both are facts', async () => {
    const world = inMemoryIntake(hospitals);
    const reversal = { ...validRaw.hospitals, setl_id: 'S20190402001-R', is_reversal: true, orig_setl_id: 'S20190402001' };
    const outcomes = await world.intake.ingest([item(validRaw.hospitals, 0), item(reversal, 1)], 'api:key-1');
    expect(outcomes.map((o) => o.status)).toEqual(['accepted', 'accepted']);
    const records = world.published.map(decodePublished);
    expect(records.map((r) => [r.setl_id, r.is_reversal, r.orig_setl_id, r.medfee_sumamt, r.hifp_pay])).toEqual([
      ['S20190402001', false, null, 10_000_000, 5_400_000],
      ['S20190402001-R', true, 'S20190402001', 10_000_000, 5_400_000],
    ]);
  });
});

describe('intake: an ID number is text (issue 10, item 2)', () => {
  // 330302194501251363 as a JSON number is the double 330302194501251400, whose digits pass the check
  // character: String() of it named another, plausible person.
  const roundsToAnother = Number('330302194501251363');

  it('refuses an ID number sent as a JSON number, telling the sender to send text, and publishes nothing', async () => {
    const world = inMemoryIntake(hospitals);
    const [outcome] = await world.intake.ingest([item({ ...validRaw.hospitals, certno: roundsToAnother })], 'api:key-1');
    expect(outcome).toMatchObject({
      status: 'rejected',
      problems: [{ field: 'certno', reason: expect.stringMatching(/^must be text/) as unknown }],
    });
    expect(world.published).toEqual([]);
    expect(world.deadLetters).toHaveLength(1);
  });

  it('refuses an ID number in E+ notation (an Excel column not formatted as text) with a reason saying so', async () => {
    const world = inMemoryIntake(civilAffairs);
    const [outcome] = await world.intake.ingest([item({ ...validRaw['civil-affairs'], idNumber: '3.30302E+17' })], 'api:key-1');
    expect(outcome).toMatchObject({
      status: 'rejected',
      problems: [{ field: 'idNumber', reason: expect.stringMatching(/E\+ notation.*format the column as text/) as unknown }],
    });
  });

  it('refuses an ID number that is a boolean or an object', async () => {
    const world = inMemoryIntake(civilAffairs);
    const outcomes = await world.intake.ingest(
      [item({ ...validRaw['civil-affairs'], idNumber: true }), item({ ...validRaw['civil-affairs'], idNumber: { n: 1 } }, 1)],
      'api:key-1',
    );
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
  });
});
