import type { TopicId, TopicRecords } from '../../schemas';

/** One realistic record per topic, typed by the TypeScript view of the schemas. */
const envelope = { occurredAt: Date.parse('2019-04-02T10:15:00+08:00'), recordedAt: Date.parse('2019-04-02T10:16:00+08:00') };
const person = { personKey: 'f532cf1203443ad49f73bb91d9c59c3ecf5003e5d46158e73994648fddd2d2f2', idCipher: 'v1.aaaaaaaaaaaaaaaa.bbbb.cccccccccccccccccccccc' };

export const sampleRecords: { [K in TopicId]: TopicRecords[K] } = {
  civilAffairsStatus: {
    ...envelope, ...person, eventId: 'ca-1', source: 'civil-affairs:api:wz-minzheng', sourceRecordId: 'MZ-2019-0001', sourceVersion: 1,
    admdvs: '330302', category: 'DIBAO', action: 'CERTIFY', validFrom: '2019-03-01', validTo: null,
  },
  ruralRevitalizationStatus: {
    ...envelope, ...person, eventId: 'rr-1', source: 'rural-revitalization:file:batch-7', sourceRecordId: 'XC-77', sourceVersion: 2,
    admdvs: '330302', category: 'MONITORED', action: 'RISK_ELIMINATED', validFrom: '2021-06-01', validTo: '2022-03-15',
  },
  hospitalSettlements: {
    ...envelope, ...person, eventId: 'hs-1', source: 'hospitals:api:H33030200001', fixmedins_code: 'H33030200001',
    setl_id: 'S20190402001', mdtrt_id: 'M20190325001', psn_no: '33000019491231002', insutype: '390', insu_admdvs: '330300',
    med_type: '21', setl_time: Date.parse('2019-04-02T10:15:00+08:00'),
    medfee_sumamt: 10_000_000, fulamt_ownpay_amt: 500_000, overlmt_selfpay: 100_000, preselfpay_amt: 400_000, inscp_scp_amt: 9_000_000,
    hifp_pay: 5_400_000, hifmi_pay: 0, maf_pay: 0, psn_part_amt: 4_600_000, is_reversal: false, orig_setl_id: null, dise_codg: null,
  },
  taxContributions: {
    ...envelope, ...person, eventId: 'tx-1', source: 'tax:file:2019-01', sourceRecordId: 'SW-1', sourceVersion: 1,
    admdvs: '330300', insuranceYear: 2019, insutype: '390', kind: 'PAYMENT', contributionDueFen: 25_000, paidFen: 25_000, subsidisedFen: 0,
    paidAt: Date.parse('2018-12-10T09:00:00+08:00'),
  },
  benefitAdjustments: {
    ...envelope, eventId: 'adj-1', source: 'hub:rules', personKey: person.personKey, policyId: 'wenzhou-2019', benefitYear: 2019,
    setlId: 'S20190402001', fixmedinsCode: 'H33030200001', settledCriticalIllnessFen: 0, settledAssistanceFen: 0,
    dueCriticalIllnessFen: 1_230_000, dueAssistanceFen: 0, deltaFen: 1_230_000, kind: 'SUPPLEMENTARY_PAYMENT', categoryApplied: 'DIBAO',
    reason: 'DIBAO certified from 2019-03-01', causedBy: ['ca-1'], supersedes: null,
  },
  subsidyCorrections: {
    ...envelope, eventId: 'sub-1', source: 'hub:rules', personKey: person.personKey, policyId: 'anhui-huangshan-2022', insuranceYear: 2022,
    category: 'TEKUN', contributionRecordId: 'SW-1', contributionEventId: 'tx-1', entitledSubsidyFen: 32_000, receivedSubsidyFen: 0, deltaFen: 32_000,
    kind: 'UNDER_SUBSIDISED', reason: 'TEKUN is fully subsidised',
  },
  selfPay: {
    ...envelope, eventId: 'sp-1', source: 'hub:rules', personKey: person.personKey, policyId: 'wenzhou-2019', benefitYear: 2019,
    settlementCount: 1, lastSettledAt: Date.parse('2019-04-02T10:15:00+08:00'), medfeeFen: 10_000_000, basicFen: 5_400_000,
    criticalIllnessFen: 1_230_000, assistanceFen: 0, selfPayTotalFen: 3_370_000, selfPayInScopeFen: 2_370_000, categories: ['DIBAO'],
  },
  quarterlyWarnings: {
    ...envelope, ...person, eventId: 'w-1', source: 'hub:warnings', policyId: 'anhui-huangshan-2022', period: '2022-Q2',
    windowFrom: '2022-01-01', windowTo: '2022-06-30', categories: ['DIBAO'], reasons: ['ALWAYS_REPORTED_CATEGORY', 'SELF_PAY_OVER_THRESHOLD'],
    basis: 'TOTAL', selfPayFen: 1_200_000, thresholdFen: 1_000_000, medfeeFen: 9_000_000, basicFen: 6_000_000, criticalIllnessFen: 1_000_000,
    assistanceFen: 800_000, routedTo: ['CIVIL_AFFAIRS', 'RURAL_REVITALIZATION'],
    settlements: [{ fixmedinsCode: 'H33030200001', setlId: 'S-1', settledAt: '2019-04-02', medfeeFen: 5_000_000, basicFen: 2_500_000, criticalIllnessFen: 600_000, assistanceFen: 800_000, selfPayFen: 1_100_000 }],
    warned: true, supersedes: null, changes: [],
  },
  deliveryReceipts: {
    ...envelope, eventId: 'r-1', source: 'hub:delivery', warningId: 'w-1', agency: 'CIVIL_AFFAIRS', channel: 'WEBHOOK', status: 'DELIVERED',
    attempt: 1, detail: null, outcome: null, assistanceKind: null, assistanceFen: null, certifiedCategory: null, reason: null,
    agencyRecordId: null, personKey: null, period: null,
  },
  deadLetters: {
    ...envelope, eventId: 'dl-1', source: 'hub:connector', origin: 'civil-affairs', sourceTopic: null, sourcePartition: null, sourceOffset: null,
    sourceRecordId: 'MZ-2019-0002', errorCode: 'INPUT_INVALID', errorMessage: 'validFrom: "2019-02-30" is not a real date', field: 'validFrom',
    rawFormat: 'json', raw: Buffer.from('{"validFrom":"2019-02-30"}'),
  },
};
