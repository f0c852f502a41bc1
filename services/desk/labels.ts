/**
 * Chinese labels of the codes the topics carry. The page and the XLSX exports take them from here
 * (the page through GET /api/meta), so a label is written once.
 */
export const categoryLabels: Readonly<Record<string, string>> = {
  TEKUN: '特困人员',
  DIBAO: '低保对象',
  DIBAO_EDGE: '低保边缘家庭成员',
  ORPHAN: '孤儿',
  ILLNESS_POVERTY: '因病致贫重病患者',
  RELAPSED_POVERTY: '返贫致贫人口',
  MONITORED: '防止返贫监测对象',
  LIFTED: '脱贫人口',
  POOR_REGISTERED: '建档立卡贫困人口',
  NONE: '无身份类别',
};
export const reasonLabels: Readonly<Record<string, string>> = {
  ALWAYS_REPORTED_CATEGORY: '身份类别必报',
  SELF_PAY_OVER_THRESHOLD: '个人自付超过阈值',
};
export const agencyLabels: Readonly<Record<string, string>> = { CIVIL_AFFAIRS: '民政部门', RURAL_REVITALIZATION: '乡村振兴部门' };
export const deliveryLabels: Readonly<Record<string, string>> = {
  PENDING: '待送达',
  DELIVERED: '已送达',
  FAILED: '送达失败',
  ACKNOWLEDGED: '已签收',
  DEAD: '已放弃（多次失败）',
};
export const followUpLabels: Readonly<Record<string, string>> = {
  NONE: '未跟进',
  STARTED: '跟进中',
  CLOSED: '已办结',
  RECEIVED: '已接收',
  ASSISTANCE_GIVEN: '已救助',
  CERTIFIED: '已认定',
  NO_ACTION: '无需处理',
};
/** An agency's answer to a warning (a receipt's outcome): its follow-up status in the desk. */
export const outcomeLabels: Readonly<Record<string, string>> = {
  RECEIVED: '已接收',
  ASSISTANCE_GIVEN: '已救助',
  CERTIFIED: '已认定',
  NO_ACTION: '无需处理',
};
export const warningStateLabels: Readonly<Record<string, string>> = { CURRENT: '有效', CORRECTED: '已更正', WITHDRAWN: '已撤销' };
export const retryOutcomeLabels: Readonly<Record<string, string>> = {
  REQUESTED: '已请求',
  QUEUED: '已重新排队',
  NOT_DEAD: '仍在自动重试',
  NOT_FOUND: '队列中无此送达',
};

/** One agency's answer in words: 已救助（临时救助 1,234.00 元）, 已认定（因病致贫重病患者）, 无需处理（原因）. */
export function describeOutcome(o: {
  outcome: string;
  assistanceKind: string | null;
  assistanceFen: number | null;
  certifiedCategory: string | null;
  reason: string | null;
}): string {
  const name = label(outcomeLabels, o.outcome);
  if (o.outcome === 'ASSISTANCE_GIVEN') {
    const what = [o.assistanceKind, o.assistanceFen === null ? null : `${formatFen(o.assistanceFen)} 元`]
      .filter((x) => x !== null)
      .join(' ');
    return what === '' ? name : `${name}（${what}）`;
  }
  if (o.outcome === 'CERTIFIED' && o.certifiedCategory !== null) return `${name}（${label(categoryLabels, o.certifiedCategory)}）`;
  if (o.outcome === 'NO_ACTION' && o.reason !== null) return `${name}（${o.reason}）`;
  return name;
}
/** A policy is a region's rules from a year on; the desk's "region" is the policy. */
export const regionLabels: Readonly<Record<string, string>> = {
  'wenzhou-2019': '温州市',
  'jiangxi-2025': '江西省',
  'tibet-2017': '西藏自治区',
  'xianyang-2020': '咸阳市',
  'anhui-huangshan-2022': '黄山市',
};
export const fundLabels: Readonly<Record<string, string>> = {
  CRITICAL_ILLNESS: '大病保险承办机构',
  MEDICAL_ASSISTANCE: '医疗救助基金',
  TAX_BUREAU: '税务部门（参保资助）',
};
export const statusActionLabels: Readonly<Record<string, string>> = { CERTIFY: '认定', REVOKE: '撤销', RISK_ELIMINATED: '风险消除' };

export const label = (table: Readonly<Record<string, string>>, code: string): string => table[code] ?? code;

/** Fen as yuan with two decimals and thousands separators: 1234567 -> "12,345.67". Integer arithmetic, no float rounding. */
export function formatFen(fen: number | bigint): string {
  const value = BigInt(fen);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const yuan = (abs / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const cents = (abs % 100n).toString().padStart(2, '0');
  return `${negative ? '-' : ''}${yuan}.${cents}`;
}
