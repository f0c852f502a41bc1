import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { civilAffairs, hospitals, ruralRevitalization, tax } from '../../../connectors';
import type { CivilAffairsStatusChange } from '../../../schemas';
import { parseFileMapping, type TextEncoding } from '../../../connectors/intake';
import { detectEncoding, importedBefore, importFile, maskIdNumber } from '../../../connectors/intake/runtime';
import { isHubError } from '../../../services/platform';
import { XlsxSheetWriter } from '../../../services/simulate';
import { memoryIntake } from './memory-intake';

// Valid GB 11643 numbers (check characters computed), and one with a wrong check character.
const dibaoId = '330302194501258303';
const orphanId = '330303201203150029';
const wrongCheckId = '330302194501258304';

const stream = (bytes: Buffer | string): NodeJS.ReadableStream =>
  Readable.from([typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes]);
const tempDir = (): Promise<string> => mkdtemp(join(tmpdir(), 'hub-import-'));

const civilRoster = [
  '业务编号,行政区划代码,身份证号,姓名,人员类别,业务类型,生效日期,终止日期,审批时间',
  `MZ-1,330302,${dibaoId},王秀英,低保对象,认定,2019-03-01,,2019-02-20 10:00:00`,
  `MZ-2,330303,${orphanId},李娜,孤儿,认定,2019-04-01,,2019-05-06 09:30:00`,
].join('\r\n');

describe('encoding detection', () => {
  it('reads a BOM as UTF-8, valid UTF-8 as UTF-8 and anything else as GBK', () => {
    expect(detectEncoding(Buffer.from([0xef, 0xbb, 0xbf, 0x61]), true)).toBe('utf-8');
    expect(detectEncoding(Buffer.from('身份证号,姓名', 'utf8'), true)).toBe('utf-8');
    expect(detectEncoding(iconv.encode('身份证号,姓名', 'gbk'), true)).toBe('gbk');
  });

  it('does not hold a UTF-8 character cut at the end of the sniffed start against the file', () => {
    const cut = Buffer.from('姓名', 'utf8').subarray(0, 4);
    expect(detectEncoding(cut, false)).toBe('utf-8');
    expect(detectEncoding(cut, true)).toBe('gbk');
  });
});

describe('importFile', () => {
  it('reads a GBK civil-affairs roster with Chinese headers and labels, detecting the encoding', async () => {
    const memory = memoryIntake(civilAffairs);
    let detected: TextEncoding | undefined;
    const summary = await importFile({
      agency: civilAffairs,
      input: stream(iconv.encode(civilRoster, 'gbk')),
      format: 'csv',
      intake: memory.intake,
      onEncoding: (encoding) => {
        detected = encoding;
      },
    });
    expect(detected).toBe('gbk');
    expect(summary).toEqual({ rows: 2, accepted: 2, duplicates: 0, rejected: 0, reportPath: null });
    expect(
      (memory.published as CivilAffairsStatusChange[]).map((r) => [
        r.sourceRecordId,
        r.sourceVersion,
        r.admdvs,
        r.category,
        r.action,
        r.validFrom,
      ]),
    ).toEqual([
      ['MZ-1', 1, '330302', 'DIBAO', 'CERTIFY', '2019-03-01'],
      ['MZ-2', 1, '330303', 'ORPHAN', 'CERTIFY', '2019-04-01'],
    ]);
    expect(memory.batches[0]?.map((item) => [item.rawFormat, item.position])).toEqual([
      ['csv-row', 'row 2'],
      ['csv-row', 'row 3'],
    ]);
  });

  it('maps English headers and a UTF-8 BOM file of the tax bureau to the canonical fields', async () => {
    const memory = memoryIntake(tax);
    const file = [
      'Record ID,Division Code,ID Number,Full Name,Insurance Type,Insurance Year,Contribution Due,Paid,Subsidised,Paid At,Kind',
      `SW-1,330302,${dibaoId},王秀英,城乡居民基本医疗保险,2019,250.00,50.00,200.00,2018-10-08 09:12:00,缴费`,
    ].join('\n');
    const summary = await importFile({ agency: tax, input: stream(`\uFEFF${file}`), format: 'csv', intake: memory.intake });
    expect(summary).toMatchObject({ rows: 1, accepted: 1, rejected: 0 });
    expect(memory.published[0]).toMatchObject({
      sourceRecordId: 'SW-1',
      sourceVersion: 1,
      insuranceYear: 2019,
      insutype: '390',
      kind: 'PAYMENT',
      contributionDueFen: 25_000,
      paidFen: 5_000,
      subsidisedFen: 20_000,
      paidAt: Date.parse('2018-10-08T09:12:00+08:00'),
    });
  });

  it('refuses a file whose header lacks a required column before any row reaches the intake', async () => {
    const memory = memoryIntake(civilAffairs);
    const withoutCategory = civilRoster.replace('人员类别,', '').replace(/,低保对象|,孤儿/g, '');
    const error = await importFile({ agency: civilAffairs, input: stream(withoutCategory), format: 'csv', intake: memory.intake }).catch(
      (e: unknown) => e,
    );
    expect(isHubError(error, 'INPUT_INVALID')).toBe(true);
    expect((error as Error).message).toContain('lacks required column category (人员类别 / 救助类别 / 对象类别)');
    expect(memory.batches).toEqual([]);
  });

  it('writes rejected rows to a UTF-8 BOM report beside the file, ID number masked and name removed', async () => {
    const dir = await tempDir();
    const path = join(dir, 'roster.csv');
    const badRoster = `${civilRoster}\r\nMZ-3,330302,${wrongCheckId},张伟,低保对象,认定,2019-02-30,,2019-02-20 10:00:00`;
    await writeFile(path, badRoster);
    const { createReadStream } = await import('node:fs');
    const memory = memoryIntake(civilAffairs);
    const summary = await importFile({ agency: civilAffairs, input: createReadStream(path), format: 'csv', intake: memory.intake });
    expect(summary).toEqual({ rows: 3, accepted: 2, duplicates: 0, rejected: 1, reportPath: join(dir, 'roster.rejected.csv') });
    const report = await readFile(join(dir, 'roster.rejected.csv'), 'utf8');
    expect(report.split('\r\n')).toEqual([
      '\uFEFF行号 row,业务编号,行政区划代码,身份证号,人员类别,业务类型,生效日期,终止日期,审批时间,问题字段 field,原因 reason',
      '4,MZ-3,330302,330***********8304,低保对象,认定,2019-02-30,,2019-02-20 10:00:00,身份证号,the check character does ' +
        'not match (GB 11643 MOD 11-2)',
      '4,MZ-3,330302,330***********8304,低保对象,认定,2019-02-30,,2019-02-20 10:00:00,生效日期,"""2019-02-30"" is not a real date (YYYY-MM-DD)"',
      '',
    ]);
    expect(report).not.toContain('张伟');
    expect(report).not.toContain(wrongCheckId);
  });

  it('reads an XLSX roster with date cells, skipping a title row above the header', async () => {
    const sheet = new XlsxSheetWriter('监测对象');
    sheet.addRow(['2021年防止返贫监测对象名单']);
    sheet.addRow(['业务编号', '版本号', '行政区划代码', '身份证号', '姓名', '人员类别', '业务类型', '生效日期', '终止日期', '审批时间']);
    sheet.addRow([
      'XC-1',
      '2',
      '330302',
      dibaoId,
      '王秀英',
      '监测对象',
      '风险消除',
      { date: '2021-03-01' },
      { date: '2021-09-15' },
      { dateTime: '2021-09-20 15:04:05' },
    ]);
    const memory = memoryIntake(ruralRevitalization);
    const summary = await importFile({
      agency: ruralRevitalization,
      input: stream(sheet.toBuffer()),
      format: 'xlsx',
      intake: memory.intake,
    });
    expect(summary).toMatchObject({ rows: 1, accepted: 1, rejected: 0 });
    expect(memory.published[0]).toMatchObject({
      sourceRecordId: 'XC-1',
      sourceVersion: 2,
      category: 'MONITORED',
      action: 'RISK_ELIMINATED',
      validFrom: '2021-03-01',
      validTo: '2021-09-15',
      occurredAt: Date.parse('2021-09-20T15:04:05+08:00'),
    });
    expect(memory.batches[0]?.map((item) => [item.rawFormat, item.position])).toEqual([['xlsx-row', 'row 3']]);
  });

  it('refuses an ID number in a numeric XLSX cell (Excel rounds it), telling the sender to format the column as text', async () => {
    // 330302194501251363 as a number is 330302194501251400 in the cell, and those digits pass the
    // check character: they would have named another person.
    const sheet = new XlsxSheetWriter('低保');
    sheet.addRow(['业务编号', '行政区划代码', '身份证号', '姓名', '人员类别', '业务类型', '生效日期', '终止日期', '审批时间']);
    sheet.addRow([
      'MZ-N1',
      '330302',
      { number: '330302194501251363' },
      '王秀英',
      '低保对象',
      '认定',
      '2019-03-01',
      '',
      '2019-02-20 10:00:00',
    ]);
    sheet.addRow(['MZ-N2', '330302', dibaoId, '王秀英', '低保对象', '认定', '2019-03-01', '', '2019-02-20 10:00:00']);
    const memory = memoryIntake(civilAffairs);
    const bytes = sheet.toBuffer();
    const summary = await importFile({ agency: civilAffairs, input: stream(bytes), format: 'xlsx', intake: memory.intake });
    expect(summary).toMatchObject({ rows: 2, accepted: 1, rejected: 1 });
    expect((memory.published as CivilAffairsStatusChange[]).map((r) => r.sourceRecordId)).toEqual(['MZ-N2']);
    expect(memory.deadLetters[0]?.errorMessage).toMatch(/^idNumber: is a number in E\+ notation.*format the column as text/);
  });

  it('refuses an XLSX cell that inflates past the bound, with a reason, after importing the rows before it', async () => {
    // 8 MiB of one letter deflates to a few KiB: the shape of a 206 KB workbook holding a 200 MB cell.
    const sheet = new XlsxSheetWriter('低保');
    sheet.addRow(['业务编号', '行政区划代码', '身份证号', '姓名', '人员类别', '业务类型', '生效日期', '终止日期', '审批时间']);
    sheet.addRow(['MZ-B1', '330302', dibaoId, '王秀英', '低保对象', '认定', '2019-03-01', '', '2019-02-20 10:00:00']);
    sheet.addRow(['MZ-B2', '330302', dibaoId, 'x'.repeat(8 * 1024 * 1024), '低保对象', '认定', '2019-03-01', '', '2019-02-20 10:00:00']);
    const bytes = sheet.toBuffer();
    expect(bytes.length).toBeLessThan(100 * 1024);
    const memory = memoryIntake(civilAffairs);
    const error = await importFile({ agency: civilAffairs, input: stream(bytes), format: 'xlsx', intake: memory.intake }).catch(
      (e: unknown) => e,
    );
    expect(isHubError(error, 'INPUT_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(/a cell holds more than 1048576 characters/);
    expect((memory.published as CivilAffairsStatusChange[]).map((r) => r.sourceRecordId)).toEqual(['MZ-B1']);
  });

  it('refuses a CSV row past the record-size bound with a reason, after importing the rows before it', async () => {
    const rows = civilRoster.split('\r\n');
    const file = [...rows, `MZ-3,330302,${dibaoId},${'y'.repeat(2 * 1024 * 1024)},低保对象,认定,2019-03-01,,2019-02-20 10:00:00`].join(
      '\r\n',
    );
    const memory = memoryIntake(civilAffairs);
    const error = await importFile({ agency: civilAffairs, input: stream(file), format: 'csv', intake: memory.intake }).catch(
      (e: unknown) => e,
    );
    expect(isHubError(error, 'INPUT_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(/max_record_size|record size/i);
    expect(importedBefore(error)).toMatchObject({ rows: 2, accepted: 2 });
  });

  it('writes report cells Excel would run as formulas as inert text', async () => {
    const dir = await tempDir();
    const reportPath = join(dir, 'report.csv');
    const rows = civilRoster.split('\r\n');
    const file = [...rows, `=HYPERLINK("http://x"),330302,${dibaoId},+王秀英,低保对象,认定,2019-02-30,,2019-02-20 10:00:00`].join('\r\n');
    const memory = memoryIntake(civilAffairs);
    await importFile({ agency: civilAffairs, input: stream(file), format: 'csv', intake: memory.intake, reportPath });
    const report = await readFile(reportPath, 'utf8');
    expect(report).toContain(`"'=HYPERLINK(""http://x"")"`);
    expect(report).not.toMatch(/(^|,)[=+@-]/m);
  });

  it('hands rows to the intake in batches of the batch size and counts a second import as duplicates', async () => {
    const header =
      'fixmedins_code,setl_id,mdtrt_id,psn_no,certno,psn_name,insutype,insu_admdvs,med_type,setl_time,' +
      'medfee_sumamt,fulamt_ownpay_amt,overlmt_selfpay,preselfpay_amt,inscp_scp_amt,hifp_pay,hifmi_pay,maf_pay,psn_part_amt';
    const rows = [1, 2, 3, 4, 5].map(
      (n) =>
        `H33030200001,S${n},M${n},P1,${dibaoId},王秀英,390,330300,11,2019-04-0${n} 10:00:00,100.00,5.00,0.00,5.00,90.00,45.00,0.00,0.00,55.00`,
    );
    const file = [header, ...rows].join('\n');
    const memory = memoryIntake(hospitals);
    const first = await importFile({ agency: hospitals, input: stream(file), format: 'csv', intake: memory.intake, batchSize: 2 });
    expect(first).toMatchObject({ rows: 5, accepted: 5, duplicates: 0, rejected: 0 });
    expect(memory.batches.map((batch) => batch.map((item) => item.position))).toEqual([['row 2', 'row 3'], ['row 4', 'row 5'], ['row 6']]);
    const second = await importFile({ agency: hospitals, input: stream(file), format: 'csv', intake: memory.intake, batchSize: 2 });
    expect(second).toMatchObject({ rows: 5, accepted: 0, duplicates: 5, rejected: 0 });
  });

  it('stops with a clear error when a file said to be UTF-8 is not', async () => {
    const memory = memoryIntake(civilAffairs);
    const error = await importFile({
      agency: civilAffairs,
      input: stream(iconv.encode(civilRoster, 'gbk')),
      format: 'csv',
      encoding: 'utf-8',
      intake: memory.intake,
    }).catch((e: unknown) => e);
    expect(isHubError(error, 'INPUT_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(/not valid UTF-8 .*--encoding gbk/);
  });

  // A file that breaks off part-way: every row read before the break is published or reported, and
  // the error says how far the import got (exit 2's "nothing imported" would be false).
  const civilRows = (count: number): string[] =>
    Array.from({ length: count }, (_, i) => `MZ-${i + 1},330302,${dibaoId},王秀英,低保对象,认定,2019-03-01,,2019-02-20 10:00:00`);
  const civilHeader = civilRoster.split('\r\n')[0] ?? '';

  it('imports the rows before an unclosed quote and says how many', async () => {
    const memory = memoryIntake(civilAffairs);
    const file = [civilHeader, ...civilRows(10), `MZ-99,330302,"${dibaoId},王秀英,低保对象,认定,2019-03-01,,2019-02-20 10:00:00`].join(
      '\r\n',
    );
    const error = await importFile({ agency: civilAffairs, input: stream(file), format: 'csv', intake: memory.intake }).catch(
      (e: unknown) => e,
    );
    expect(isHubError(error, 'INPUT_INVALID')).toBe(true);
    expect(memory.published).toHaveLength(10);
    expect((error as Error).message).toMatch(
      /the rows before it were imported \(10 rows: 10 accepted, 0 duplicates, 0 rejected\), the rest of the file was not$/,
    );
    expect(importedBefore(error)).toMatchObject({ rows: 10, accepted: 10 });
  });

  it('imports the rows before an invalid byte past the sniffed start and says how many', async () => {
    const memory = memoryIntake(civilAffairs);
    const good = Buffer.from([civilHeader, ...civilRows(2_000)].join('\r\n') + '\r\n', 'utf8');
    const bytes = Buffer.concat([good, Buffer.from([0xff, 0x0d, 0x0a])]);
    // Read as a file is, in chunks: the rows of the chunks before the bad byte are read.
    const chunks = Array.from({ length: Math.ceil(bytes.length / 16_384) }, (_, i) => bytes.subarray(i * 16_384, (i + 1) * 16_384));
    const error = await importFile({ agency: civilAffairs, input: Readable.from(chunks), format: 'csv', intake: memory.intake }).catch(
      (e: unknown) => e,
    );
    expect(isHubError(error, 'INPUT_INVALID')).toBe(true);
    const imported = importedBefore(error);
    expect(imported?.rows).toBeGreaterThan(1_500);
    expect(memory.published).toHaveLength(imported?.accepted ?? -1);
    expect((error as Error).message).toMatch(/not valid UTF-8 near byte \d+.*the rows before it were imported \(\d+ rows/);
  });
});

describe('mapping files', () => {
  it('names the file and the key of a field the agency does not have', () => {
    expect(() => parseFileMapping(civilAffairs, 'headers:\n  categry: [类别]\n', 'connectors/civil-affairs/mapping.yaml')).toThrow(
      /^connectors\/civil-affairs\/mapping\.yaml: headers\.categry is not a field of civil-affairs \(its fields: recordId, version/,
    );
  });

  it('refuses one header spelling for two fields', () => {
    expect(() => parseFileMapping(tax, 'headers:\n  paid: [金额]\n  subsidised: [金额]\n', 'm.yaml')).toThrow(
      'm.yaml: headers.subsidised[0] spells "金额", already a spelling of paid',
    );
  });
});

describe('maskIdNumber', () => {
  it('keeps the first three and last four characters', () => {
    expect(maskIdNumber('11010519491231002X')).toBe('110***********002X');
    expect(maskIdNumber('123')).toBe('***');
  });
});
