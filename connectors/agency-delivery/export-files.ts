import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import type { AgencyCode, QuarterlyWarning } from '../../schemas';
import { HubError } from '../../services/platform';
import { agencyView, type AgencyWarning } from './agency-view';
import { agencyConnector } from './agencies';

/**
 * Export files for agencies that collect files instead of receiving a webhook: one file per
 * agency and period with the latest word on every person routed to it (a correction replaces the
 * warning it supersedes; a withdrawal stays, marked 撤销, so the agency closes its case). XLSX with
 * Chinese headers, or CSV in UTF-8 with a byte-order mark (Excel opens it as UTF-8) or GBK for
 * older office software. Amounts are shown in yuan with two decimals, converted from integer fen
 * exactly (no floating point).
 */
export type ExportFormat = 'xlsx' | 'csv';
export type ExportEncoding = 'utf-8' | 'gbk';

const reasonText: Readonly<Record<string, string>> = {
  ALWAYS_REPORTED_CATEGORY: '特困/低保人员',
  SELF_PAY_OVER_THRESHOLD: '个人自付超过1万元',
};
const categoryText: Readonly<Record<string, string>> = {
  TEKUN: '特困',
  DIBAO: '低保',
  DIBAO_EDGE: '低保边缘',
  ORPHAN: '孤儿',
  ILLNESS_POVERTY: '因病致贫重病患者',
  RELAPSED_POVERTY: '返贫致贫人口',
  MONITORED: '防止返贫监测对象',
  LIFTED: '脱贫人口',
  POOR_REGISTERED: '建档立卡贫困人口',
};

/** Integer fen as yuan text with two decimals: 1000001 → "10000.01". */
export function fenToYuan(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

export const exportHeaders = [
  '预警编号',
  '状态',
  '更正的预警编号',
  '更正内容',
  '统计期',
  '统计起始日',
  '统计截止日',
  '公民身份号码',
  '人员类别',
  '预警原因',
  '自付口径',
  '医疗总费用(元)',
  '基本医保支付(元)',
  '大病保险支付(元)',
  '医疗救助支付(元)',
  '个人自付(元)',
  '预警线(元)',
  '结算笔数',
  '结算编号',
] as const;

export function exportRow(w: AgencyWarning): string[] {
  return [
    w.warningId,
    w.warned ? (w.supersedes === null ? '预警' : '更正') : '撤销',
    w.supersedes ?? '',
    w.changes.join('; '),
    w.period,
    w.windowFrom,
    w.windowTo,
    w.idNumber,
    w.categories.map((c) => categoryText[c] ?? c).join('、'),
    w.reasons.map((r) => reasonText[r] ?? r).join('、'),
    w.basis === 'TOTAL' ? '全部自付' : '政策范围内自付',
    fenToYuan(w.medfeeFen),
    fenToYuan(w.basicFen),
    fenToYuan(w.criticalIllnessFen),
    fenToYuan(w.assistanceFen),
    fenToYuan(w.selfPayFen),
    fenToYuan(w.thresholdFen),
    String(w.settlements.length),
    w.settlements.map((s) => `${s.fixmedinsCode}/${s.setlId}`).join(' '),
  ];
}

/**
 * The latest record per person of one region-period routed to an agency, from the topic's records
 * in order: a record is replaced by one that supersedes it. Only the agency's own records count: when
 * routing narrows, the dropped agency's latest word is the withdrawal addressed to it, not the
 * correction the others received.
 */
export function latestForAgency(
  records: readonly QuarterlyWarning[],
  agency: AgencyCode,
  policyId: string,
  period: string,
): QuarterlyWarning[] {
  const latest = new Map<string, QuarterlyWarning>();
  for (const record of records) {
    if (record.policyId !== policyId || record.period !== period || !record.routedTo.includes(agency)) continue;
    const current = latest.get(record.personKey);
    // A replayed copy (same event id) or a record older than the one kept changes nothing.
    if (current !== undefined && (current.eventId === record.eventId || record.supersedes === null)) continue;
    latest.set(record.personKey, record);
  }
  return [...latest.values()].sort((a, b) => a.personKey.localeCompare(b.personKey));
}

const csvCell = (value: string): string => (/[",\r\n]/.test(value) || /^[=+\-@]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

/** Writes the agency's file of one period; returns its path. The clear ID numbers exist only in this file. */
export async function writeExportFile(options: {
  records: readonly QuarterlyWarning[];
  agency: AgencyCode;
  policyId: string;
  period: string;
  format: ExportFormat;
  encoding: ExportEncoding;
  dir: string;
  idEncryptionKey: Buffer;
}): Promise<{ path: string; rows: number }> {
  const { agency, policyId, period, format, encoding, dir } = options;
  if (format === 'xlsx' && encoding !== 'utf-8')
    throw new HubError('USAGE', 'an XLSX file has no encoding to choose: --encoding applies to CSV');
  const rows = latestForAgency(options.records, agency, policyId, period).map((r) => exportRow(agencyView(r, options.idEncryptionKey)));
  const base = `warnings-${agencyConnector[agency]}-${policyId}-${period}`;
  if (format === 'xlsx') {
    const path = join(dir, `${base}.xlsx`);
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet(`预警 ${period}`);
    sheet.addRow([...exportHeaders]).font = { bold: true };
    // Text cells: an ID number or amount must not become a number Excel rounds.
    for (const row of rows) sheet.addRow(row);
    sheet.columns.forEach((column) => {
      column.numFmt = '@';
      column.width = 18;
    });
    await workbook.xlsx.writeFile(path);
    chmodSync(path, 0o600);
    return { path, rows: rows.length };
  }
  const text = [[...exportHeaders], ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
  const path = join(dir, `${base}${encoding === 'gbk' ? '.gbk' : ''}.csv`);
  writeFileSync(
    path,
    encoding === 'gbk' ? iconv.encode(text, 'gbk') : Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]),
    { mode: 0o600 },
  );
  return { path, rows: rows.length };
}
