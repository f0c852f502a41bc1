import { civilAffairsCategories } from '../../schemas';
import { defineAgency, readStatusFields } from '../intake';

/**
 * Civil affairs (民政): certifications and revocations of 特困 (TEKUN), 低保 (DIBAO), 低保边缘
 * (DIBAO_EDGE), 孤儿 (ORPHAN) and 因病致贫重病患者 (ILLNESS_POVERTY), with validity dates.
 */
export const civilAffairs = defineAgency({
  id: 'civil-affairs',
  module: import.meta.url,
  label: '民政 civil affairs',
  topic: 'civilAffairsStatus',
  idField: 'idNumber',
  nameFields: ['name'],
  read: (reader, today) => {
    const { fact, occurredAt } = readStatusFields(reader, today, civilAffairsCategories, ['CERTIFY', 'REVOKE'] as const);
    if (fact.action === 'REVOKE' && fact.validTo === null) reader.problem('validTo', 'a revocation names the day the status ends');
    return { fact, occurredAt };
  },
  factKey: (fact) => `${fact.sourceRecordId}#${fact.sourceVersion}`,
  withdrawal: (record) => ({ ...record, action: 'WITHDRAWN' }),
});
