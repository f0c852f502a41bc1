import { describe, expect, it } from 'vitest';
import { civilAffairs } from '../../../connectors';
import type { IntakeItem, RawRecord, SourceVersionAnswer, SourceVersionClaim, SourceVersions } from '../../../connectors/intake';
import { derivePersonKey } from '../../../services/identity';
import { decodePublished, inMemoryIntake, liSi, secrets, validRaw, zhangSan } from './fixtures';

const item = (raw: RawRecord, index = 0): IntakeItem => ({ raw, rawFormat: 'json', position: `records[${index}]` });
const keyOf = (idNumber: string): string => derivePersonKey(idNumber, secrets.personKeySecret);

/** An index that answers as told and keeps what it was asked. */
function scripted(answers: SourceVersionAnswer[]): SourceVersions & { claims: SourceVersionClaim[] } {
  const claims: SourceVersionClaim[] = [];
  return {
    claims,
    claim(batch) {
      claims.push(...batch);
      return Promise.resolve(batch.map(() => answers.shift() ?? { status: 'newest', others: [] }));
    },
  };
}

describe('following a versioned record across people (issue 10 item 6)', () => {
  it(
    'publishes, with a version naming another person, the WITHDRAWN record for the person an older version ' +
      'named, in the same transaction',
    async () => {
      const sources = scripted([{ status: 'newest', others: [{ personKey: 'pk-earlier', idCipher: 'cipher-earlier' }] }]);
      const world = inMemoryIntake(civilAffairs, undefined, sources);
      const [outcome] = await world.intake.ingest(
        [item({ ...validRaw['civil-affairs'], version: 2, idNumber: liSi.idNumber })],
        'api:key-1',
      );
      expect(outcome?.status).toBe('accepted');
      expect(sources.claims).toMatchObject([{ recordId: 'MZ-2019-0001', version: 2, personKey: keyOf(liSi.idNumber) }]);
      const records = world.published.map((p) => [p.record.key, decodePublished(p)] as const);
      expect(
        records.map(([key, r]) => [key === keyOf(liSi.idNumber) ? 'corrected' : key, r.action, r.sourceVersion, r.sourceRecordId]),
      ).toEqual([
        ['corrected', 'CERTIFY', 2, 'MZ-2019-0001'],
        ['pk-earlier', 'WITHDRAWN', 2, 'MZ-2019-0001'],
      ]);
      const withdrawal = records[1]?.[1];
      expect(withdrawal).toMatchObject({ personKey: 'pk-earlier', idCipher: 'cipher-earlier', category: 'DIBAO' });
      expect(withdrawal?.eventId).not.toBe(outcome?.status === 'accepted' ? outcome.eventId : '');
    },
  );

  it(
    'refuses an older version for another person, and the newest version again for another, with a reason, ' + 'dead-lettered once',
    async () => {
      const sources = scripted([{ status: 'stale', newest: 3 }, { status: 'conflict' }, { status: 'older' }]);
      const world = inMemoryIntake(civilAffairs, undefined, sources);
      const outcomes = await world.intake.ingest(
        [
          item({ ...validRaw['civil-affairs'], version: 1 }, 0),
          item({ ...validRaw['civil-affairs'], recordId: 'MZ-2', version: 3 }, 1),
          item({ ...validRaw['civil-affairs'], recordId: 'MZ-3', version: 1, idNumber: zhangSan.idNumber }, 2),
        ],
        'api:key-1',
      );
      expect(outcomes.map((o) => (o.status === 'rejected' ? o.problems : o.status))).toEqual([
        [
          {
            field: 'version',
            reason: 'is older than version 3 of this record, which names another person: an older version changes nothing',
          },
        ],
        [
          {
            field: 'version',
            reason: 'this version of the record was already received for another person: send the correction as a new version',
          },
        ],
        'accepted',
      ]);
      expect(world.published.map((p) => decodePublished(p).sourceRecordId)).toEqual(['MZ-3']);
      expect(world.deadLetters.map((d) => [d.errorCode, d.field])).toEqual([
        ['INPUT_INVALID', 'version'],
        ['INPUT_INVALID', 'version'],
      ]);
      expect(JSON.stringify(world.deadLetters.map((d) => [d.errorMessage, d.raw.toString('utf8')]))).not.toContain(zhangSan.idNumber);
    },
  );
});
