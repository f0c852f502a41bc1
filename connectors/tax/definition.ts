import { insuranceTypes } from '../../schemas';
import { shanghaiDate } from '../../services/platform';
import { defineAgency } from '../intake';

/**
 * Tax bureau (税务): contribution records (参保缴费): the insurance year paid for, the insured
 * type, what was due, paid and subsidised (资助参保), the payment time; refunds as kind REFUND.
 */
export const tax = defineAgency({
  id: 'tax',
  module: import.meta.url,
  label: '税务 tax bureau',
  topic: 'taxContributions',
  idField: 'idNumber',
  nameFields: ['name'],
  read: (reader, today) => {
    const sourceRecordId = reader.string('recordId');
    const sourceVersion = reader.integer('version', 1, 1_000_000);
    const admdvs = reader.division('admdvs');
    const insuranceYear = reader.integer('insuranceYear', 2000, Number(today.slice(0, 4)) + 1);
    const insutype = reader.oneOf('insutype', insuranceTypes);
    const kind = reader.oneOf('kind', ['PAYMENT', 'REFUND'] as const);
    const contributionDueFen = reader.yuanAsFen('contributionDue');
    const paidFen = reader.yuanAsFen('paid');
    const subsidisedFen = reader.yuanAsFen('subsidised');
    const paidAt = reader.timestamp('paidAt');
    if (reader.problems.length === 0 && paidFen + subsidisedFen > contributionDueFen) {
      // A refund (退费) gives back what was paid for the year: never more than the contribution due.
      if (kind === 'REFUND')
        reader.problem('paid', 'a refund gives back more than the contribution due (paid and subsidised together exceed contributionDue)');
      else reader.problem('subsidised', 'paid and subsidised together exceed the contribution due');
    }
    if (paidAt > 0) {
      const paidDate = shanghaiDate(paidAt);
      if (paidDate > today) reader.problem('paidAt', 'is in the future');
      if (Number(paidDate.slice(0, 4)) > insuranceYear + 1) reader.problem('paidAt', `is long after insurance year ${insuranceYear}`);
    }
    return {
      fact: { sourceRecordId, sourceVersion, admdvs, insuranceYear, insutype, kind, contributionDueFen, paidFen, subsidisedFen, paidAt },
      occurredAt: paidAt,
    };
  },
  factKey: (fact) => `${fact.sourceRecordId}#${fact.sourceVersion}`,
  withdrawal: (record) => ({ ...record, kind: 'WITHDRAWN' }),
});
