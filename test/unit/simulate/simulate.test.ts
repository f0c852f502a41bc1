import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { beforeAll, describe, expect, it } from 'vitest';
import { agencies } from '../../../connectors';
import { yuanToFen } from '../../../connectors/intake';
import { importFile, readFileRows } from '../../../connectors/intake/runtime';
import { validateNationalId } from '../../../services/identity';
import { isHubError } from '../../../services/platform';
import { regions, simulateRegion, type SimulationSummary } from '../../../services/simulate';
import { memoryIntake } from '../import/memory-intake';

const tempDir = (): Promise<string> => mkdtemp(join(tmpdir(), 'hub-simulate-'));

async function csvRows(path: string): Promise<{ header: readonly string[]; rows: (readonly string[])[] }> {
  const rows: (readonly string[])[] = [];
  let header: readonly string[] = [];
  for await (const row of readFileRows(createReadStream(path), 'csv', 'auto')) {
    if (row.rowNumber === 1) header = row.cells;
    else rows.push(row.cells);
  }
  return { header, rows };
}

describe('hub simulate', () => {
  let clean: { dir: string; summary: SimulationSummary };

  beforeAll(async () => {
    const dir = await tempDir();
    clean = {
      dir,
      summary: await simulateRegion({ people: 3_000, region: 'wenzhou-2019', outDir: dir, seed: 'clean', badRate: 0, today: '2026-06-01' }),
    };
  });

  it('writes byte-identical files for the same seed', async () => {
    const [a, b] = [await tempDir(), await tempDir()];
    const options = { people: 400, region: 'xianyang-2020', seed: 'same', badRate: 0.02, today: '2026-06-01' };
    await simulateRegion({ ...options, outDir: a });
    await simulateRegion({ ...options, outDir: b });
    const files = (await readdir(a)).sort();
    expect(files).toEqual(['civil-affairs.csv', 'hospitals.csv', 'rural-revitalization.xlsx', 'simulation.json', 'tax.csv']);
    for (const file of files) expect((await readFile(join(b, file))).equals(await readFile(join(a, file))), file).toBe(true);
    const other = await tempDir();
    await simulateRegion({ ...options, seed: 'other', outDir: other });
    expect((await readFile(join(other, 'hospitals.csv'))).equals(await readFile(join(a, 'hospitals.csv')))).toBe(false);
  });

  it('gives every person a valid GB 11643 number from the region, in GBK for civil affairs', async () => {
    const counties = new Set(regions.wenzhou?.counties.map((county) => county.code));
    const civil = iconv.decode(await readFile(join(clean.dir, 'civil-affairs.csv')), 'gbk').split('\r\n');
    expect(civil[0]).toBe('业务编号,版本号,行政区划代码,身份证号,姓名,人员类别,业务类型,生效日期,终止日期,审批时间');
    const hospital = await csvRows(join(clean.dir, 'hospitals.csv'));
    const tax = await csvRows(join(clean.dir, 'tax.csv'));
    const ids = [
      ...civil
        .slice(1)
        .filter((line) => line !== '')
        .map((line) => line.split(',')[3] ?? ''),
      ...hospital.rows.map((row) => row[hospital.header.indexOf('certno')] ?? ''),
      ...tax.rows.map((row) => row[tax.header.indexOf('身份证号')] ?? ''),
    ];
    expect(ids.length).toBeGreaterThan(10_000);
    for (const id of ids) {
      expect(validateNationalId(id, '2019-01-01'), id.slice(0, 6)).toMatchObject({ ok: true });
      expect(counties.has(id.slice(0, 6))).toBe(true);
    }
  });

  it('keeps every good settlement internally consistent, in yuan with two decimals', async () => {
    const { header, rows } = await csvRows(join(clean.dir, 'hospitals.csv'));
    const at = (row: readonly string[], name: string): string => row[header.indexOf(name)] ?? '';
    const fen = (row: readonly string[], name: string): number => {
      expect(at(row, name)).toMatch(/^\d+\.\d{2}$/);
      return yuanToFen(at(row, name)) ?? Number.NaN;
    };
    const setlIds = new Set<string>();
    const totals: number[] = [];
    for (const row of rows) {
      const medfee = fen(row, 'medfee_sumamt');
      const inscp = fen(row, 'inscp_scp_amt');
      const hifp = fen(row, 'hifp_pay');
      const funds = hifp + fen(row, 'hifmi_pay') + fen(row, 'maf_pay');
      expect(fen(row, 'fulamt_ownpay_amt') + fen(row, 'overlmt_selfpay') + fen(row, 'preselfpay_amt') + inscp).toBe(medfee);
      expect(hifp).toBeLessThanOrEqual(inscp);
      expect(funds).toBeLessThanOrEqual(inscp);
      expect(fen(row, 'psn_part_amt')).toBe(medfee - funds);
      if (at(row, 'is_reversal') === '1') expect(setlIds.has(at(row, 'orig_setl_id'))).toBe(true);
      setlIds.add(at(row, 'setl_id'));
      totals.push(medfee);
    }
    expect(setlIds.size).toBe(rows.length);
    expect(clean.summary.reversals).toBeGreaterThan(50);
    // Most settlements are small outpatient visits; a few percent are stays of thousands of yuan.
    totals.sort((a, b) => a - b);
    expect(totals[Math.floor(totals.length / 2)]).toBeLessThan(50_000);
    expect(totals.filter((total) => total >= 500_000).length / totals.length).toBeGreaterThan(0.005);
  });

  it('certifies nobody from before the birth date in their ID number, children included', async () => {
    const starts: { id: string; validFrom: string }[] = [];
    for (const [file, format] of [
      ['civil-affairs.csv', 'csv'],
      ['rural-revitalization.xlsx', 'xlsx'],
    ] as const) {
      let header: readonly string[] = [];
      for await (const row of readFileRows(createReadStream(join(clean.dir, file)), format, 'auto')) {
        if (row.rowNumber === 1) {
          header = row.cells;
          continue;
        }
        starts.push({
          id: row.cells[header.indexOf('身份证号')] ?? '',
          validFrom: (row.cells[header.indexOf('生效日期')] ?? '').slice(0, 10),
        });
      }
    }
    expect(starts.length).toBeGreaterThan(100);
    const birthOf = (id: string): string => `${id.slice(6, 10)}-${id.slice(10, 12)}-${id.slice(12, 14)}`;
    expect(starts.filter((start) => start.validFrom < birthOf(start.id))).toEqual([]);
    // Children born after the usual start of a status are there, certified from birth on.
    expect(starts.filter((start) => start.validFrom === birthOf(start.id)).length).toBeGreaterThan(0);
  }, 60_000);

  it('puts 3–8 % of people in poverty categories, with back-dated certifications and withheld subsidies', () => {
    expect(clean.summary.peopleInPoverty / clean.summary.people).toBeGreaterThanOrEqual(0.03);
    expect(clean.summary.peopleInPoverty / clean.summary.people).toBeLessThanOrEqual(0.08);
    expect(clean.summary.backDatedCertifications).toBeGreaterThan(0);
    expect(clean.summary.subsidiesWithheld).toBeGreaterThan(0);
  });

  it('plants bad records at the bad rate, and the connectors refuse exactly those', async () => {
    const dir = await tempDir();
    const summary = await simulateRegion({
      people: 2_000,
      region: 'anhui-huangshan-2022',
      outDir: dir,
      seed: 'bad',
      badRate: 0.05,
      today: '2026-06-01',
    });
    for (const feed of summary.feeds) {
      const expected = feed.records * 0.05;
      // Within four standard deviations of a binomial draw.
      expect(Math.abs(feed.bad - expected), feed.file).toBeLessThanOrEqual(4 * Math.sqrt(expected * 0.95) + 1);
      const memory = memoryIntake(agencies[feed.agency]);
      const imported = await importFile({
        agency: agencies[feed.agency],
        input: createReadStream(join(dir, feed.file)),
        format: feed.format,
        intake: memory.intake,
        reportPath: join(dir, `${feed.agency}.rejected.csv`),
      });
      expect({
        file: feed.file,
        rows: imported.rows,
        accepted: imported.accepted,
        rejected: imported.rejected,
        duplicates: imported.duplicates,
      }).toEqual({ file: feed.file, rows: feed.records, accepted: feed.good, rejected: feed.bad, duplicates: 0 });
    }
  });

  it('refuses a policy id that names no shipped policy, listing the known ones', async () => {
    // xianyang-2019 was renamed xianyang-2020 (seed 003's unified scheme starts 2020年起).
    const error = await simulateRegion({ people: 10, region: 'xianyang-2019', outDir: await tempDir(), today: '2026-06-01' }).catch(
      (e: unknown) => e,
    );
    expect(isHubError(error, 'POLICY_NOT_FOUND')).toBe(true);
    expect((error as Error).message).toBe(
      'no policy "xianyang-2019" (known: anhui-huangshan-2022, jiangxi-2025, tibet-2017, wenzhou-2019, ' +
        'xianyang-2020); a region name with --year simulates any finished year',
    );
  });

  it('refuses a year that is not over yet', async () => {
    const error = await simulateRegion({ people: 10, region: 'jiangxi', year: 2026, outDir: await tempDir(), today: '2026-06-01' }).catch(
      (e: unknown) => e,
    );
    expect(isHubError(error, 'USAGE')).toBe(true);
  });
});
