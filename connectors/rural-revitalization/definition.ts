import { ruralRevitalizationCategories } from '../../schemas';
import { defineAgency, readStatusFields } from '../intake';

/**
 * Rural revitalization (乡村振兴): 返贫致贫人口 (RELAPSED_POVERTY), 防止返贫监测对象 (MONITORED),
 * 脱贫人口 (LIFTED) and the historical 建档立卡 (POOR_REGISTERED). 风险消除 (risk eliminated) is the
 * end of a MONITORED status: action RISK_ELIMINATED with validTo the day it ends.
 */
export const ruralRevitalization = defineAgency({
  id: 'rural-revitalization',
  module: import.meta.url,
  label: '乡村振兴 rural revitalization',
  topic: 'ruralRevitalizationStatus',
  idField: 'idNumber',
  nameFields: ['name'],
  read: (reader, today) => {
    const { fact, occurredAt } = readStatusFields(reader, today, ruralRevitalizationCategories, [
      'CERTIFY',
      'REVOKE',
      'RISK_ELIMINATED',
    ] as const);
    if (fact.action === 'RISK_ELIMINATED' && fact.category !== 'MONITORED')
      reader.problem('action', 'risk elimination (风险消除) ends a MONITORED status only');
    if (fact.action !== 'CERTIFY' && fact.validTo === null) reader.problem('validTo', 'an ending names the day the status ends');
    return { fact, occurredAt };
  },
  factKey: (fact) => `${fact.sourceRecordId}#${fact.sourceVersion}`,
  withdrawal: (record) => ({ ...record, action: 'WITHDRAWN' }),
});
