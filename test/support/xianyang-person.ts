import type { CivilAffairsStatusChange, HospitalSettlement } from '../../schemas';

/**
 * One person of Xianyang's 2020 year (policy xianyang-2020) as the rules tests fold them: a
 * settlement with amounts worked by hand and a 低保 certification back-dated to March.
 */
export const shanghai = (iso: string): number => Date.parse(`${iso}+08:00`);

/** Xianyang 2020 (seed 003): deductible 10,000 yuan, 60% up to 30,000; DIBAO: 5,000 and 65%. */
export function settlement(fields: Partial<HospitalSettlement> & Pick<HospitalSettlement, 'eventId' | 'setl_id'>): HospitalSettlement {
  return {
    source: 'hospitals',
    occurredAt: shanghai('2020-04-02T10:00:00'),
    recordedAt: shanghai('2020-04-02T10:05:00'),
    personKey: 'pk-1',
    idCipher: 'cipher',
    fixmedins_code: 'H610400001',
    mdtrt_id: 'M1',
    psn_no: 'P1',
    insutype: '390',
    insu_admdvs: '610402',
    med_type: '21',
    setl_time: shanghai('2020-04-02T10:00:00'),
    medfee_sumamt: 5_000_000,
    fulamt_ownpay_amt: 200_000,
    overlmt_selfpay: 100_000,
    preselfpay_amt: 200_000,
    inscp_scp_amt: 4_500_000,
    hifp_pay: 2_500_000,
    hifmi_pay: 600_000,
    maf_pay: 0,
    psn_part_amt: 1_900_000,
    is_reversal: false,
    orig_setl_id: null,
    dise_codg: null,
    ...fields,
  };
}

export const dibao: CivilAffairsStatusChange = {
  eventId: 'ca-1',
  source: 'civil-affairs',
  occurredAt: shanghai('2020-04-20T09:00:00'),
  recordedAt: shanghai('2020-04-20T09:00:00'),
  personKey: 'pk-1',
  idCipher: 'cipher',
  sourceRecordId: 'MZ-1',
  sourceVersion: 1,
  admdvs: '610402',
  category: 'DIBAO',
  action: 'CERTIFY',
  validFrom: '2020-03-01',
  validTo: null,
};
