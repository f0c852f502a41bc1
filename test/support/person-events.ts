import { checkCharacter } from '../../services/identity';
import { Random } from '../../services/simulate';
import type { IntakeItem } from '../../connectors/intake';

/**
 * A small, deterministic set of agency records for people insured in Xianyang (division 610402,
 * policy xianyang-2020), as the push API receives them: statuses certified late and revoked,
 * settlements with reversals (some arriving before their original), duplicates and contributions.
 */
export interface AgencyRecords {
  civilAffairs: IntakeItem[];
  hospitals: IntakeItem[];
  tax: IntakeItem[];
}

export function idNumber(index: number): string {
  const birth =
    `19${String(50 + (index % 40)).padStart(2, '0')}` +
    `${String(1 + (index % 12)).padStart(2, '0')}${String(1 + (index % 28)).padStart(2, '0')}`;
  const first17 = `610402${birth}${String(100 + (index % 900)).padStart(3, '0')}`;
  return first17 + checkCharacter(first17);
}

const yuan = (fen: number): string => (fen / 100).toFixed(2);
const item = (raw: Record<string, unknown>, i: number): IntakeItem => ({ raw, rawFormat: 'json', position: `records[${i}]` });

export function agencyRecords(people: number, seed = 7): AgencyRecords {
  const random = new Random('person-events', seed);
  const next = (): number => random.next();
  const records: AgencyRecords = { civilAffairs: [], hospitals: [], tax: [] };
  for (let p = 0; p < people; p += 1) {
    const id = idNumber(p);
    const month = 1 + Math.floor(next() * 10);
    if (next() < 0.4) {
      const category = next() < 0.25 ? 'TEKUN' : 'DIBAO';
      const from = `2020-${String(month).padStart(2, '0')}-01`;
      // Certified late: the decision comes two months after the status starts (back-dated).
      records.civilAffairs.push(
        item(
          {
            recordId: `MZ-${p}`,
            version: 1,
            idNumber: id,
            name: '测试',
            admdvs: '610402',
            category,
            action: 'CERTIFY',
            validFrom: from,
            validTo: null,
            decidedAt: `2020-${String(Math.min(12, month + 2)).padStart(2, '0')}-10 09:00:00`,
          },
          records.civilAffairs.length,
        ),
      );
      if (next() < 0.3) {
        records.civilAffairs.push(
          item(
            {
              recordId: `MZ-${p}`,
              version: 2,
              idNumber: id,
              admdvs: '610402',
              category,
              action: 'REVOKE',
              validFrom: from,
              validTo: `2020-${String(Math.min(12, month + 3)).padStart(2, '0')}-15`,
              decidedAt: '2020-12-20 09:00:00',
            },
            records.civilAffairs.length,
          ),
        );
      }
    }
    const settlements = 1 + Math.floor(next() * 4);
    for (let s = 0; s < settlements; s += 1) {
      const scope = 500_000 + Math.floor(next() * 6_000_000);
      const basic = Math.floor(scope * 0.55);
      const fullOwn = Math.floor(next() * 200_000);
      const pre = Math.floor(next() * 150_000);
      const total = scope + fullOwn + pre;
      const setlId = `S${p}-${s}`;
      const day = `2020-${String(1 + Math.floor(next() * 12)).padStart(2, '0')}-${String(1 + Math.floor(next() * 28)).padStart(2, '0')}`;
      const settlement = {
        fixmedins_code: 'H61040200001',
        setl_id: setlId,
        mdtrt_id: `M${p}-${s}`,
        psn_no: `P${p}`,
        certno: id,
        psn_name: '测试',
        insutype: '390',
        insu_admdvs: '610402',
        med_type: next() < 0.8 ? '21' : '14',
        setl_time: `${day} 10:00:00`,
        medfee_sumamt: yuan(total),
        fulamt_ownpay_amt: yuan(fullOwn),
        overlmt_selfpay: '0.00',
        preselfpay_amt: yuan(pre),
        inscp_scp_amt: yuan(scope),
        hifp_pay: yuan(basic),
        hifmi_pay: '0.00',
        maf_pay: '0.00',
        psn_part_amt: yuan(total - basic),
        is_reversal: false,
        orig_setl_id: null,
      };
      const reversal =
        next() < 0.15
          ? { ...settlement, setl_id: `R${p}-${s}`, is_reversal: true, orig_setl_id: setlId, setl_time: `${day} 15:00:00` }
          : undefined;
      // Now and then the reversal is sent before the settlement it reverses, and a settlement twice.
      if (reversal !== undefined && next() < 0.5)
        records.hospitals.push(item(reversal, records.hospitals.length), item(settlement, records.hospitals.length + 1));
      else {
        records.hospitals.push(item(settlement, records.hospitals.length));
        if (reversal !== undefined) records.hospitals.push(item(reversal, records.hospitals.length));
      }
      if (next() < 0.1) records.hospitals.push(item(settlement, records.hospitals.length));
    }
    records.tax.push(
      item(
        {
          recordId: `SW-${p}`,
          version: 1,
          idNumber: id,
          name: '测试',
          admdvs: '610402',
          insuranceYear: 2020,
          insutype: '390',
          kind: 'PAYMENT',
          contributionDue: '280.00',
          paid: '280.00',
          subsidised: '0.00',
          paidAt: '2020-01-05 10:00:00',
        },
        records.tax.length,
      ),
    );
  }
  return records;
}
