import { describe, expect, it } from 'vitest';
import { agencies } from '../../../connectors';
import type { AgencyDefinition, IntakeOutcome, RawRecord } from '../../../connectors/intake';
import { decodePublished, inMemoryIntake, validRaw, wrongCheckDigit } from './fixtures';

async function outcomeOf(agency: AgencyDefinition, raw: RawRecord): Promise<IntakeOutcome> {
  const world = inMemoryIntake(agency);
  const [outcome] = await world.intake.ingest([{ raw, rawFormat: 'json', position: 'records[0]' }], 'api:test');
  if (outcome === undefined) throw new Error('no outcome');
  return outcome;
}

async function problemsOf(agency: AgencyDefinition, raw: RawRecord): Promise<readonly { field: string; reason: string }[]> {
  const outcome = await outcomeOf(agency, raw);
  return outcome.status === 'rejected' ? outcome.problems : [];
}

describe('agency definitions: valid records', () => {
  for (const id of ['civil-affairs', 'rural-revitalization', 'hospitals', 'tax'] as const) {
    it(`accepts a complete, consistent ${id} record`, async () => {
      const outcome = await outcomeOf(agencies[id], validRaw[id]);
      expect(outcome.status).toBe('accepted');
      expect(outcome).toMatchObject({
        position: 'records[0]',
        eventId: expect.stringMatching(new RegExp(`^${id}:[0-9a-f]{32}$`)) as unknown,
      });
    });
  }
});

describe('agency definitions: each rule names the field and why', () => {
  it('refuses an ID number whose GB 11643 check character is wrong', async () => {
    expect(
      await problemsOf(agencies['civil-affairs'], { ...validRaw['civil-affairs'], idNumber: wrongCheckDigit('11010519491231002') }),
    ).toEqual([{ field: 'idNumber', reason: 'the check character does not match (GB 11643 MOD 11-2)' }]);
  });

  it("checks the hospital's certno the same way", async () => {
    expect(await problemsOf(agencies.hospitals, { ...validRaw.hospitals, certno: wrongCheckDigit('11010519491231002') })).toEqual([
      { field: 'certno', reason: 'the check character does not match (GB 11643 MOD 11-2)' },
    ]);
  });

  it('refuses a date that does not exist (30 February)', async () => {
    expect(await problemsOf(agencies['civil-affairs'], { ...validRaw['civil-affairs'], validFrom: '2019-02-30' })).toEqual([
      { field: 'validFrom', reason: '"2019-02-30" is not a real date (YYYY-MM-DD)' },
    ]);
  });

  it('refuses validTo before validFrom', async () => {
    expect(
      await problemsOf(agencies['civil-affairs'], { ...validRaw['civil-affairs'], validFrom: '2019-03-01', validTo: '2019-02-01' }),
    ).toEqual([{ field: 'validTo', reason: 'must be after validFrom (2019-03-01)' }]);
  });

  it('refuses a civil-affairs category code outside the dictionary', async () => {
    expect(await problemsOf(agencies['civil-affairs'], { ...validRaw['civil-affairs'], category: 'MONITORED' })).toEqual([
      { field: 'category', reason: '"MONITORED" is not one of TEKUN, DIBAO, DIBAO_EDGE, ORPHAN, ILLNESS_POVERTY' },
    ]);
  });

  it('refuses a civil-affairs revocation without the day the status ends', async () => {
    expect(await problemsOf(agencies['civil-affairs'], { ...validRaw['civil-affairs'], action: 'REVOKE' })).toEqual([
      { field: 'validTo', reason: 'a revocation names the day the status ends' },
    ]);
  });

  it('refuses risk elimination (风险消除) of a status other than MONITORED', async () => {
    expect(await problemsOf(agencies['rural-revitalization'], { ...validRaw['rural-revitalization'], category: 'LIFTED' })).toEqual([
      { field: 'action', reason: 'risk elimination (风险消除) ends a MONITORED status only' },
    ]);
  });

  it('refuses a settlement whose total differs from its four parts by more than one fen', async () => {
    expect(await problemsOf(agencies.hospitals, { ...validRaw.hospitals, medfee_sumamt: '100000.02' })).toEqual([
      { field: 'medfee_sumamt', reason: 'is 10000002 fen but its four parts add up to 10000000 fen' },
    ]);
  });

  it("carries a settlement's 病种编码 (dise_codg), and null when the hospital sends none (issue 12 item 5)", async () => {
    const published = async (raw: RawRecord) => {
      const world = inMemoryIntake(agencies.hospitals);
      await world.intake.ingest([{ raw, rawFormat: 'json', position: 'records[0]' }], 'api:test');
      const [entry] = world.published;
      if (entry === undefined) throw new Error('nothing published');
      return decodePublished(entry);
    };
    expect((await published({ ...validRaw.hospitals, med_type: '14', dise_codg: 'M00103' })).dise_codg).toBe('M00103');
    expect((await published({ ...validRaw.hospitals })).dise_codg).toBeNull();
  });

  it('tolerates a one-fen rounding difference between the total and its parts', async () => {
    expect((await outcomeOf(agencies.hospitals, { ...validRaw.hospitals, medfee_sumamt: '100000.01' })).status).toBe('accepted');
  });

  it('refuses a basic-fund payment above the in-scope amount', async () => {
    expect(await problemsOf(agencies.hospitals, { ...validRaw.hospitals, hifp_pay: '90000.01', psn_part_amt: '0' })).toEqual([
      { field: 'hifp_pay', reason: 'is more than the in-scope amount (inscp_scp_amt) it could pay' },
    ]);
  });

  it('refuses a reversal (冲销) that does not name the settlement it reverses', async () => {
    expect(await problemsOf(agencies.hospitals, { ...validRaw.hospitals, is_reversal: true })).toEqual([
      { field: 'orig_setl_id', reason: 'a reversal (冲销) names the settlement it reverses' },
    ]);
  });

  it('accepts a reversal that names its original settlement', async () => {
    const reversal = { ...validRaw.hospitals, setl_id: 'S20190402001-R', is_reversal: 'true', orig_setl_id: 'S20190402001' };
    expect((await outcomeOf(agencies.hospitals, reversal)).status).toBe('accepted');
  });

  it('refuses an amount in yuan with three decimals', async () => {
    expect(await problemsOf(agencies.hospitals, { ...validRaw.hospitals, maf_pay: '0.001' })).toEqual([
      { field: 'maf_pay', reason: '"0.001" is not an amount in yuan with at most two decimals' },
    ]);
  });

  it('refuses a tax payment whose paid and subsidised amounts exceed what was due', async () => {
    expect(await problemsOf(agencies.tax, { ...validRaw.tax, paid: '200.00', subsidised: '50.01' })).toEqual([
      { field: 'subsidised', reason: 'paid and subsidised together exceed the contribution due' },
    ]);
  });

  it('names every problem of a record in one answer', async () => {
    expect(await problemsOf(agencies.tax, { ...validRaw.tax, admdvs: '3303', kind: 'GIFT', paidAt: undefined })).toEqual([
      { field: 'admdvs', reason: '"3303" is not a 6-digit division code' },
      { field: 'kind', reason: '"GIFT" is not one of PAYMENT, REFUND' },
      { field: 'paidAt', reason: 'is required' },
    ]);
  });
});

describe('agency definitions: smaller holes (issue 10, item 9)', () => {
  const fieldsOf = async (agency: AgencyDefinition, raw: RawRecord): Promise<string[]> =>
    (await problemsOf(agency, raw)).map((p) => p.field);

  it('refuses NUL and control characters and JSON booleans in identifiers', async () => {
    expect(await fieldsOf(agencies['civil-affairs'], { ...validRaw['civil-affairs'], recordId: 'MZ-1\u0000' })).toEqual(['recordId']);
    expect(await fieldsOf(agencies.hospitals, { ...validRaw.hospitals, setl_id: 'S1\nS2' })).toEqual(['setl_id']);
    // C1 controls are control characters too (U+0085 is a line break to some tools).
    expect(await fieldsOf(agencies.hospitals, { ...validRaw.hospitals, mdtrt_id: 'M1\u0085' })).toEqual(['mdtrt_id']);
    expect(await fieldsOf(agencies['civil-affairs'], { ...validRaw['civil-affairs'], recordId: true })).toEqual(['recordId']);
    expect(await fieldsOf(agencies.hospitals, { ...validRaw.hospitals, psn_no: false })).toEqual(['psn_no']);
  });

  it('refuses division 000000 and one of no province', async () => {
    expect(await fieldsOf(agencies['civil-affairs'], { ...validRaw['civil-affairs'], admdvs: '000000' })).toEqual(['admdvs']);
    expect(await fieldsOf(agencies.hospitals, { ...validRaw.hospitals, insu_admdvs: '990000' })).toEqual(['insu_admdvs']);
  });

  it('refuses a settlement of 10^13 yuan', async () => {
    // Consistent amounts (the parts add up), so only the bound can refuse them.
    expect(
      await fieldsOf(agencies.hospitals, { ...validRaw.hospitals, medfee_sumamt: '9999999999999.00', inscp_scp_amt: '9999999989999.00' }),
    ).toEqual(['medfee_sumamt', 'inscp_scp_amt']);
  });

  it('refuses an insurance year far ahead and a certification from 2150', async () => {
    expect(await fieldsOf(agencies.tax, { ...validRaw.tax, insuranceYear: 2199 })).toContain('insuranceYear');
    expect(await fieldsOf(agencies['civil-affairs'], { ...validRaw['civil-affairs'], validFrom: '2150-01-01' })).toEqual(['validFrom']);
  });

  it('refuses invisible characters in identifiers: zero-width, direction overrides, line separators', async () => {
    for (const character of ['\u200b', '\u200e', '\u202e', '\u2028', '\u2066', '\ufeff', '\u00ad']) {
      expect(
        await problemsOf(agencies['civil-affairs'], { ...validRaw['civil-affairs'], recordId: `MZ-${character}1` }),
        `U+${character.charCodeAt(0).toString(16)}`,
      ).toEqual([
        { field: 'recordId', reason: 'holds an invisible character (zero-width space, direction mark or override, line separator …)' },
      ]);
    }
    expect((await outcomeOf(agencies['civil-affairs'], { ...validRaw['civil-affairs'], recordId: '民政-2019-一' })).status).toBe(
      'accepted',
    );
  });

  it('refuses a refund larger than the contribution due, and takes one that gives back what was paid', async () => {
    const refund = { ...validRaw.tax, kind: 'REFUND', paidAt: '2019-05-10 09:00:00' };
    expect(await problemsOf(agencies.tax, { ...refund, paid: '2500.00' })).toEqual([
      { field: 'paid', reason: 'a refund gives back more than the contribution due (paid and subsidised together exceed contributionDue)' },
    ]);
    expect(await fieldsOf(agencies.tax, { ...refund, paid: '200.00', subsidised: '50.01' })).toEqual(['paid']);
    expect((await outcomeOf(agencies.tax, { ...refund, paid: '200.00', subsidised: '50.00' })).status).toBe('accepted');
  });

  it('refuses a status valid from before the birth date in the ID number, and takes one from the birth date on', async () => {
    // 11010519491231002X: born 1949-12-31.
    for (const agency of [agencies['civil-affairs'], agencies['rural-revitalization']]) {
      const raw = validRaw[agency.id];
      expect(await problemsOf(agency, { ...raw, idNumber: '11010519491231002X', validFrom: '1949-12-30', validTo: '1950-06-01' })).toEqual([
        { field: 'validFrom', reason: 'is before the birth date in the ID number' },
      ]);
      expect(
        (await outcomeOf(agency, { ...raw, idNumber: '11010519491231002X', validFrom: '1949-12-31', validTo: '1950-06-01' })).status,
      ).toBe('accepted');
    }
  });
});
