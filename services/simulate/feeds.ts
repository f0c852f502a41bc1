import type { StatusAgencyId } from '../../schemas';
import { shanghaiDateTime } from './calendar';
import type { Contribution } from './contributions';
import type { Random } from './random';
import type { Settlement } from './settlements';
import type { StatusRecord } from './statuses';

/**
 * Each agency's file in its own words: column titles, labels and number formats as its exports write
 * them, and the ways its records go wrong. A bad record replaces the good one it was made from (it is
 * what the agency sent), and each kind of damage is one the connectors must refuse.
 */
export interface Feed<T> {
  readonly columns: readonly string[];
  /** Columns that hold dates or times (written as date cells in XLSX). */
  readonly dateColumns?: ReadonlySet<string>;
  readonly dateTimeColumns?: ReadonlySet<string>;
  row(record: T): string[];
  /** Damages a row in place; returns the kind of damage, for the summary. */
  corrupt(row: string[], random: Random, year: number): string;
}

const yuan = (fen: number): string =>
  `${fen < 0 ? '-' : ''}${Math.trunc(Math.abs(fen) / 100)}.${String(Math.abs(fen) % 100).padStart(2, '0')}`;

function column(columns: readonly string[], name: string): number {
  const index = columns.indexOf(name);
  if (index < 0) throw new Error(`no column ${name}`);
  return index;
}

/** The ID number with a check character that does not match (a typo the check digit exists to catch). */
function breakCheckDigit(id: string): string {
  const characters = '0123456789X';
  const current = id.charAt(17);
  const next = characters.charAt((characters.indexOf(current) + 1) % characters.length);
  return id.slice(0, 17) + next;
}

const civilLabels: Readonly<Record<string, readonly string[]>> = {
  TEKUN: ['特困人员', '特困供养人员'],
  DIBAO: ['低保对象', '最低生活保障'],
  DIBAO_EDGE: ['低保边缘家庭成员', '低保边缘'],
  ORPHAN: ['孤儿'],
  ILLNESS_POVERTY: ['因病致贫重病患者'],
};
const ruralLabels: Readonly<Record<string, readonly string[]>> = {
  RELAPSED_POVERTY: ['返贫致贫人口'],
  MONITORED: ['防止返贫监测对象', '监测对象'],
  LIFTED: ['脱贫人口'],
  POOR_REGISTERED: ['建档立卡贫困人口'],
};
const actionLabels = {
  'civil-affairs': { CERTIFY: '认定', REVOKE: '取消', RISK_ELIMINATED: '风险消除' },
  'rural-revitalization': { CERTIFY: '纳入', REVOKE: '退出', RISK_ELIMINATED: '风险消除' },
} as const;

/** Picks a label variant from the record id, so that the choice is stable without a random draw. */
function labelOf(labels: Readonly<Record<string, readonly string[]>>, category: string, recordId: string): string {
  const variants = labels[category] ?? [category];
  const last = recordId.charCodeAt(recordId.length - 1);
  return variants[last % variants.length] ?? category;
}

function statusFeed(agency: StatusAgencyId): Feed<StatusRecord> {
  const columns = ['业务编号', '版本号', '行政区划代码', '身份证号', '姓名', '人员类别', '业务类型', '生效日期', '终止日期', '审批时间'];
  const labels = agency === 'civil-affairs' ? civilLabels : ruralLabels;
  const at = (name: string): number => column(columns, name);
  return {
    columns,
    dateColumns: new Set(['生效日期', '终止日期']),
    dateTimeColumns: new Set(['审批时间']),
    row: (record) => [
      record.recordId,
      String(record.version),
      record.person.county,
      record.person.idNumber,
      record.person.name,
      labelOf(labels, record.category, record.recordId),
      actionLabels[agency][record.action],
      record.validFrom,
      record.validTo ?? '',
      shanghaiDateTime(record.decidedAt),
    ],
    corrupt(row, random, year) {
      const kind = random.pick([
        'wrong check digit',
        'impossible date',
        'unknown category',
        'missing ID number',
        'valid from before birth',
      ] as const);
      if (kind === 'wrong check digit') row[at('身份证号')] = breakCheckDigit(row[at('身份证号')] ?? '');
      if (kind === 'impossible date') row[at('生效日期')] = `${year}-02-30`;
      // The birth date is in the ID number (digits 7-14); a status cannot begin the year before it.
      if (kind === 'valid from before birth') row[at('生效日期')] = `${Number((row[at('身份证号')] ?? '').slice(6, 10)) - 1}-01-01`;
      if (kind === 'unknown category') row[at('人员类别')] = agency === 'civil-affairs' ? '困难群众' : '一般农户';
      if (kind === 'missing ID number') row[at('身份证号')] = '';
      return kind;
    },
  };
}

export const civilAffairsFeed = statusFeed('civil-affairs');
export const ruralRevitalizationFeed = statusFeed('rural-revitalization');

/** The national settlement interface's own field names, as a platform export writes them. */
export function hospitalFeed(insuranceDivision: string): Feed<Settlement> {
  const columns = [
    'fixmedins_code',
    'fixmedins_name',
    'setl_id',
    'mdtrt_id',
    'psn_no',
    'certno',
    'psn_name',
    'insutype',
    'insu_admdvs',
    'med_type',
    'setl_time',
    'medfee_sumamt',
    'fulamt_ownpay_amt',
    'overlmt_selfpay',
    'preselfpay_amt',
    'inscp_scp_amt',
    'hifp_pay',
    'hifmi_pay',
    'maf_pay',
    'psn_part_amt',
    'is_reversal',
    'orig_setl_id',
  ];
  const at = (name: string): number => column(columns, name);
  return {
    columns,
    row: (s) => [
      s.institution.code,
      s.institution.name,
      s.setlId,
      s.mdtrtId,
      s.person.psnNo,
      s.person.idNumber,
      s.person.name,
      s.person.insutype,
      insuranceDivision,
      s.medType,
      shanghaiDateTime(s.setlTime),
      yuan(s.medfeeFen),
      yuan(s.fulamtFen),
      yuan(s.overlmtFen),
      yuan(s.preselfpayFen),
      yuan(s.inscpFen),
      yuan(s.hifpFen),
      yuan(s.hifmiFen),
      yuan(s.mafFen),
      yuan(s.psnPartFen),
      s.isReversal ? '1' : '0',
      s.origSetlId ?? '',
    ],
    corrupt(row, random, year) {
      const kind = random.pick([
        'wrong check digit',
        'impossible date',
        'total not equal to its parts',
        'reversal without original',
      ] as const);
      if (kind === 'wrong check digit') row[at('certno')] = breakCheckDigit(row[at('certno')] ?? '');
      if (kind === 'impossible date') row[at('setl_time')] = `${year}-02-30 10:00:00`;
      if (kind === 'total not equal to its parts') {
        const total = row[at('medfee_sumamt')] ?? '0';
        row[at('medfee_sumamt')] = yuan(Math.round(Number(total) * 100) + 1_000);
      }
      if (kind === 'reversal without original') {
        row[at('is_reversal')] = '1';
        row[at('orig_setl_id')] = '';
      }
      return kind;
    },
  };
}

/** The tax bureau's contribution detail list (社保费缴费明细) for residents' insurance of one year. */
export function taxFeed(insuranceYear: number): Feed<Contribution> {
  const columns = [
    '电子税票号码',
    '参保地行政区划',
    '身份证号',
    '姓名',
    '险种',
    '缴费年度',
    '应缴金额',
    '个人缴纳金额',
    '资助金额',
    '缴费时间',
    '缴费类型',
  ];
  const at = (name: string): number => column(columns, name);
  return {
    columns,
    row: (c) => [
      c.recordId,
      c.person.county,
      c.person.idNumber,
      c.person.name,
      '城乡居民基本医疗保险',
      String(insuranceYear),
      yuan(c.dueFen),
      yuan(c.paidFen),
      yuan(c.subsidisedFen),
      shanghaiDateTime(c.paidAt),
      c.kind === 'PAYMENT' ? '缴费' : '退费',
    ],
    corrupt(row, random, year) {
      const kind = random.pick([
        'wrong check digit',
        'impossible date',
        'paid more than due',
        'unknown payment type',
        'refund more than due',
      ] as const);
      if (kind === 'wrong check digit') row[at('身份证号')] = breakCheckDigit(row[at('身份证号')] ?? '');
      if (kind === 'impossible date') row[at('缴费时间')] = `${year - 1}-02-30 09:30:00`;
      if (kind === 'paid more than due') {
        row[at('缴费类型')] = '缴费';
        row[at('个人缴纳金额')] = yuan(Math.round(Number(row[at('应缴金额')] ?? '0') * 100) + 10_000);
      }
      if (kind === 'unknown payment type') row[at('缴费类型')] = '滞纳金';
      if (kind === 'refund more than due') {
        row[at('缴费类型')] = '退费';
        row[at('个人缴纳金额')] = yuan(Math.round(Number(row[at('应缴金额')] ?? '0') * 100) * 10);
      }
      return kind;
    },
  };
}
