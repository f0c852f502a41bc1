import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { civilAffairs } from '../../../connectors';
import { importFile, readFileRows } from '../../../connectors/intake/runtime';
import type { CivilAffairsStatusChange } from '../../../schemas';
import { isHubError } from '../../../services/platform';
import { xlsxWorkbook } from '../../../services/simulate';
import { memoryIntake } from './memory-intake';

const dibaoId = '330302194501258303';
const sheet = (rows: string): string =>
  `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet ` +
  `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${rows}</sheetData></worksheet>`;
const inline = (text: string, ref = ''): string => `<c${ref === '' ? '' : ` r="${ref}"`} t="inlineStr"><is><t>${text}</t></is></c>`;
const header = ['业务编号', '行政区划代码', '身份证号', '姓名', '人员类别', '业务类型', '生效日期', '终止日期', '审批时间'];
const record = ['MZ-1', '330302', dibaoId, '王秀英', '低保对象', '认定', '2019-03-01', '', '2019-02-20 10:00:00'];

async function rowsOf(sheetXml: string): Promise<{ rowNumber: number; cells: readonly string[] }[]> {
  const rows: { rowNumber: number; cells: readonly string[] }[] = [];
  for await (const row of readFileRows(Readable.from([xlsxWorkbook('数据', sheet(sheetXml))]), 'xlsx', 'auto'))
    rows.push({ rowNumber: row.rowNumber, cells: row.cells });
  return rows;
}

describe('reading XLSX sheets as other generators write them', () => {
  it('reads every run of an inline rich-text cell, not only the last, and leaves phonetic runs out', async () => {
    const rich =
      '<c r="A1" t="inlineStr"><is><r><rPr><b/></rPr><t>王</t></r><r><t xml:space="preserve">秀英 </t></r><r><t>&amp;lt;3</t></r>' +
      '<rPh sb="0" eb="1"><t>おう</t></rPh><phoneticPr fontId="1"/></is></c><c r="B1" t="inlineStr"><is><t>plain</t></is></c>';
    expect(await rowsOf(`<row r="1">${rich}</row>`)).toEqual([{ rowNumber: 1, cells: ['王秀英 &lt;3', 'plain'] }]);
  });

  it('reads rows and cells without references by position, as SpreadsheetML defines them', async () => {
    const rows =
      `<row>${inline('a')}${inline('b')}</row><row ` +
      `r="4">${inline('c')}${inline('d', 'D4')}${inline('e')}</row><row>${inline('f')}</row>`;
    expect(await rowsOf(rows)).toEqual([
      { rowNumber: 1, cells: ['a', 'b'] },
      { rowNumber: 4, cells: ['c', '', '', 'd', 'e'] },
      { rowNumber: 5, cells: ['f'] },
    ]);
  });

  it('imports a roster written without cell references', async () => {
    const cells = (values: readonly string[]): string =>
      `<row>${values.map((value) => (value === '' ? '<c/>' : inline(value))).join('')}</row>`;
    const memory = memoryIntake(civilAffairs);
    const summary = await importFile({
      agency: civilAffairs,
      input: Readable.from([xlsxWorkbook('低保', sheet(cells(header) + cells(record)))]),
      format: 'xlsx',
      intake: memory.intake,
    });
    expect(summary).toMatchObject({ rows: 1, accepted: 1, rejected: 0 });
    expect((memory.published as CivilAffairsStatusChange[]).map((r) => [r.sourceRecordId, r.validFrom])).toEqual([['MZ-1', '2019-03-01']]);
  });

  it('refuses a reference that is not one with a reason, never a TypeError', async () => {
    for (const [rows, reason] of [
      [`<row r="x1">${inline('a')}</row>`, /the row after row 0 has the reference "x1", which is not a row number/],
      [`<row r="1">${inline('a', '1A')}</row>`, /a cell of row 1 has the reference "1A", which is not a cell reference/],
      [`<row r="1">${inline('a', 'ZZZZ1')}</row>`, /which is not a cell reference/],
    ] as const) {
      const error = await rowsOf(rows).catch((e: unknown) => e);
      expect(isHubError(error, 'INPUT_INVALID'), String(error)).toBe(true);
      expect((error as Error).message).toMatch(reason);
    }
  });

  it("bounds a cell's text also when it comes in pieces between tags", async () => {
    const piece = 'x'.repeat(64 * 1024);
    const split = `<row r="1"><c r="A1" t="str"><v>${Array.from({ length: 20 }, () => `${piece}<b/>`).join('')}</v></c></row>`;
    const error = await rowsOf(split).catch((e: unknown) => e);
    expect(isHubError(error, 'INPUT_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(/cell A1 holds more than 1048576 characters/);
    const runs =
      `<row r="1"><c r="A1" t="inlineStr">` + `<is>${Array.from({ length: 20 }, () => `<r><t>${piece}</t></r>`).join('')}</is></c></row>`;
    expect(((await rowsOf(runs).catch((e: unknown) => e)) as Error).message).toMatch(/cell A1 holds more than 1048576 characters/);
  });
});

describe('XLSX parts on disk (issue 10, item 4)', () => {
  /** Files ExcelJS's temporary-file helper names tmp-<pid>-…, in the system's temporary directory. */
  const tempFiles = (): string[] => readdirSync(tmpdir()).filter((name) => name.startsWith(`tmp-${process.pid}-`));

  it("removes the sheet's temporary file after an import and after a refused one", async () => {
    const before = tempFiles();
    expect(await rowsOf(`<row r="1">${inline('a')}</row>`)).toEqual([{ rowNumber: 1, cells: ['a'] }]);
    const big = `<row r="1"><c r="A1" t="inlineStr"><is><t>${'x'.repeat(2 * 1024 * 1024)}</t></is></c></row>`;
    expect(isHubError(await rowsOf(big).catch((e: unknown) => e), 'INPUT_INVALID')).toBe(true);
    expect(tempFiles()).toEqual(before);
  });

  it('refuses a part that inflates like a zip bomb before it is written out, with a reason', async () => {
    // 64 MiB of one letter is stored in about 64 KiB: a ratio of about 1,000.
    const bomb = `<row r="1"><c r="A1" t="inlineStr"><is><t>${'x'.repeat(64 * 1024 * 1024)}</t></is></c></row>`;
    const before = tempFiles();
    const error = await rowsOf(bomb).catch((e: unknown) => e);
    expect(isHubError(error, 'INPUT_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(/its part xl\/worksheets\/sheet1.xml inflates to more than 200 times its stored size/);
    expect(tempFiles()).toEqual(before);
  });
});
