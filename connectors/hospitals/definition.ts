import { insuranceTypes } from '../../schemas';
import { shanghaiDate } from '../../services/platform';
import { defineAgency } from '../intake';

/**
 * Hospitals: settlements (结算) and their reversals (冲销), with the national settlement interface's
 * field names. Amounts arrive in yuan with two decimals, as that interface sends them, and become fen.
 */
export const hospitals = defineAgency({
  id: 'hospitals',
  module: import.meta.url,
  label: '定点医疗机构 hospitals',
  topic: 'hospitalSettlements',
  idField: 'certno',
  nameFields: ['psn_name'],
  read: (reader, today) => {
    const fixmedins_code = reader.code('fixmedins_code', /^[A-Z0-9]{6,20}$/, 'a designated-institution code');
    const setl_id = reader.string('setl_id', 40);
    const mdtrt_id = reader.string('mdtrt_id', 40);
    const psn_no = reader.string('psn_no', 40);
    const insutype = reader.oneOf('insutype', insuranceTypes);
    const insu_admdvs = reader.division('insu_admdvs');
    const med_type = reader.code('med_type', /^\d{2,6}$/, 'a medical-type code of the national dictionary');
    const setl_time = reader.timestamp('setl_time');
    const medfee_sumamt = reader.yuanAsFen('medfee_sumamt');
    const fulamt_ownpay_amt = reader.yuanAsFen('fulamt_ownpay_amt');
    const overlmt_selfpay = reader.yuanAsFen('overlmt_selfpay');
    const preselfpay_amt = reader.yuanAsFen('preselfpay_amt');
    const inscp_scp_amt = reader.yuanAsFen('inscp_scp_amt');
    const hifp_pay = reader.yuanAsFen('hifp_pay');
    const hifmi_pay = reader.yuanAsFen('hifmi_pay');
    const maf_pay = reader.yuanAsFen('maf_pay');
    const psn_part_amt = reader.yuanAsFen('psn_part_amt');
    const is_reversal = reader.boolean('is_reversal');
    const orig_setl_id = reader.optionalString('orig_setl_id', 40);
    // 病种编码: a policy may count only some 门诊慢特病 (001: class Ⅰ); optional, as most exports lack it.
    const dise_codg = reader.optionalString('dise_codg', 30);

    if (reader.problems.length === 0) {
      const parts = fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt;
      if (Math.abs(medfee_sumamt - parts) > 1) {
        reader.problem('medfee_sumamt', `is ${medfee_sumamt} fen but its four parts add up to ${parts} fen`);
      }
      if (hifp_pay > inscp_scp_amt) reader.problem('hifp_pay', 'is more than the in-scope amount (inscp_scp_amt) it could pay');
      if (hifp_pay + hifmi_pay + maf_pay > medfee_sumamt)
        reader.problem('maf_pay', 'the funds together pay more than the total (medfee_sumamt)');
      if (psn_part_amt > medfee_sumamt - hifp_pay - hifmi_pay - maf_pay + 1) {
        reader.problem('psn_part_amt', 'is more than what is left after the funds paid');
      }
    }
    if (setl_time > 0 && shanghaiDate(setl_time) > today) reader.problem('setl_time', 'is in the future');
    if (is_reversal && orig_setl_id === null) reader.problem('orig_setl_id', 'a reversal (冲销) names the settlement it reverses');
    if (!is_reversal && orig_setl_id !== null) reader.problem('orig_setl_id', 'only a reversal names an original settlement');
    if (orig_setl_id !== null && orig_setl_id === setl_id) reader.problem('orig_setl_id', 'a reversal has a setl_id of its own');

    return {
      fact: {
        fixmedins_code,
        setl_id,
        mdtrt_id,
        psn_no,
        insutype,
        insu_admdvs,
        med_type,
        setl_time,
        medfee_sumamt,
        fulamt_ownpay_amt,
        overlmt_selfpay,
        preselfpay_amt,
        inscp_scp_amt,
        hifp_pay,
        hifmi_pay,
        maf_pay,
        psn_part_amt,
        is_reversal,
        orig_setl_id,
        dise_codg,
      },
      occurredAt: setl_time,
    };
  },
  factKey: (fact) => `${fact.fixmedins_code}/${fact.setl_id}#${fact.is_reversal ? 'reversal' : 'settlement'}`,
});
