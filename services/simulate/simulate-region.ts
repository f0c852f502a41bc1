import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { agencyIds, type AgencyId } from '../../schemas';
import { HubError } from '../platform';
import { listPolicies } from '../policy';
import { shanghaiDate } from './calendar';
import { contributions } from './contributions';
import { CsvFileWriter, type CsvEncoding } from './csv-writer';
import { civilAffairsFeed, hospitalFeed, ruralRevitalizationFeed, taxFeed, type Feed } from './feeds';
import { generatePeople } from './people';
import { Random } from './random';
import { regionOf } from './regions';
import { settlementMonths } from './settlements';
import { planStatuses, statusRecords } from './statuses';
import { XlsxSheetWriter, type XlsxCell } from './xlsx-writer';

/** One feed per agency. */
export const feedAgencies: readonly AgencyId[] = agencyIds;
export type FeedAgency = AgencyId;

export interface SimulationOptions {
  readonly people: number;
  /** A policy id (wenzhou-2019) or a region name (wenzhou). */
  readonly region: string;
  /** The benefit year; by default the policy id's year. */
  readonly year?: number;
  readonly outDir: string;
  readonly seed?: string;
  /** Share of records damaged on purpose (default 0.005). */
  readonly badRate?: number;
  /** Which agencies' files to write (default all four). */
  readonly only?: readonly FeedAgency[];
  /** Today in Asia/Shanghai: a year not yet over is refused, since its future facts would be refused too. */
  readonly today?: string;
}

export interface FeedSummary {
  readonly agency: FeedAgency;
  readonly file: string;
  readonly format: 'csv' | 'xlsx';
  readonly encoding: CsvEncoding | 'xlsx';
  readonly records: number;
  /** Records the connector must accept: records − bad. */
  readonly good: number;
  readonly bad: number;
  readonly badKinds: Readonly<Record<string, number>>;
}

export interface SimulationSummary {
  readonly region: string;
  readonly division: string;
  readonly year: number;
  readonly seed: string;
  readonly badRate: number;
  readonly people: number;
  readonly peopleInPoverty: number;
  readonly backDatedCertifications: number;
  readonly reversals: number;
  readonly subsidiesWithheld: number;
  readonly feeds: readonly FeedSummary[];
}

interface RowSink {
  write(cells: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

function csvSink(path: string, encoding: CsvEncoding): RowSink {
  const writer = new CsvFileWriter(path, encoding);
  return { write: (cells) => writer.writeRow(cells), close: () => writer.close() };
}

function xlsxSink<T>(path: string, sheetName: string, feed: Feed<T>): RowSink {
  const sheet = new XlsxSheetWriter(sheetName);
  let header = true;
  return {
    write(cells) {
      const typed: XlsxCell[] = cells.map((cell, i) => {
        const name = feed.columns[i] ?? '';
        if (header || cell === '') return cell;
        if (feed.dateColumns?.has(name) === true) return { date: cell };
        if (feed.dateTimeColumns?.has(name) === true) return { dateTime: cell };
        return cell;
      });
      header = false;
      sheet.addRow(typed);
      return Promise.resolve();
    },
    close: () => sheet.save(path),
  };
}

/** Writes a feed's header and records, damaging about `badRate` of them; counts what it wrote. */
async function writeFeed<T>(
  feed: Feed<T>,
  records: Iterable<T>,
  sink: RowSink,
  random: Random,
  badRate: number,
  year: number,
): Promise<{ records: number; bad: number; badKinds: Record<string, number> }> {
  const badKinds: Record<string, number> = {};
  let count = 0;
  let bad = 0;
  try {
    await sink.write(feed.columns);
    for (const record of records) {
      const row = feed.row(record);
      if (random.chance(badRate)) {
        const kind = feed.corrupt(row, random, year);
        badKinds[kind] = (badKinds[kind] ?? 0) + 1;
        bad += 1;
      }
      await sink.write(row);
      count += 1;
    }
  } finally {
    await sink.close();
  }
  return { records: count, bad, badKinds };
}

/**
 * Generates a region's year of agency feeds in each agency's native form: civil affairs as GBK CSV,
 * rural revitalization as XLSX (both with Chinese headers), hospital settlements as UTF-8 CSV with
 * the national interface's field names, tax contributions as UTF-8 CSV with a BOM. The same options
 * give byte-identical files. Clear ID numbers are written to the agency files only; the summary
 * (`simulation.json`) holds counts.
 */
export async function simulateRegion(options: SimulationOptions): Promise<SimulationSummary> {
  const { region, policyYear } = regionOf(options.region);
  // A policy id must name a shipped policy: a renamed or made-up one (xianyang-2019) would simulate
  // a year no policy covers, and every fact would end up without a policy downstream.
  if (policyYear !== undefined && !listPolicies().includes(options.region.trim())) {
    throw new HubError(
      'POLICY_NOT_FOUND',
      `no policy "${options.region}" (known: ${listPolicies().join(', ')}); a region name with --year simulates any finished year`,
    );
  }
  const chosenYear = options.year ?? policyYear;
  if (chosenYear === undefined) throw new HubError('USAGE', `--year is needed: region '${options.region}' names no policy year`);
  const year: number = chosenYear;
  const today = options.today ?? shanghaiDate(Date.now());
  if (year < 2000 || `${year}-12-31` >= today)
    throw new HubError('USAGE', `year ${year} is not a finished year (today is ${today}): a feed covers a whole past year`);
  if (!Number.isInteger(options.people) || options.people < 1 || options.people > 5_000_000)
    throw new HubError('USAGE', '--people is a whole number from 1 to 5000000');
  const badRate = options.badRate ?? 0.005;
  if (!(badRate >= 0 && badRate <= 0.5)) throw new HubError('USAGE', '--bad-rate is a share from 0 to 0.5');
  const seed = options.seed ?? '1';
  const only = new Set<FeedAgency>(options.only ?? feedAgencies);

  await mkdir(options.outDir, { recursive: true });
  const people = generatePeople(options.people, region, year, seed);
  const statuses = planStatuses(people, region, year, seed);
  const feeds: FeedSummary[] = [];
  let reversals = 0;
  let subsidiesWithheld = 0;
  const add = (
    agency: FeedAgency,
    file: string,
    format: 'csv' | 'xlsx',
    encoding: FeedSummary['encoding'],
    counts: { records: number; bad: number; badKinds: Record<string, number> },
  ): void => {
    feeds.push({
      agency,
      file,
      format,
      encoding,
      records: counts.records,
      good: counts.records - counts.bad,
      bad: counts.bad,
      badKinds: counts.badKinds,
    });
  };

  if (only.has('civil-affairs')) {
    const file = 'civil-affairs.csv';
    const records = statusRecords(people, statuses, 'civil-affairs', year);
    add(
      'civil-affairs',
      file,
      'csv',
      'gbk',
      await writeFeed(
        civilAffairsFeed,
        records,
        csvSink(join(options.outDir, file), 'gbk'),
        new Random(seed, 'bad', 'civil-affairs'),
        badRate,
        year,
      ),
    );
  }
  if (only.has('rural-revitalization')) {
    const file = 'rural-revitalization.xlsx';
    const records = statusRecords(people, statuses, 'rural-revitalization', year);
    const sink = xlsxSink(join(options.outDir, file), `${region.name}${year}年监测帮扶对象`, ruralRevitalizationFeed);
    add(
      'rural-revitalization',
      file,
      'xlsx',
      'xlsx',
      await writeFeed(ruralRevitalizationFeed, records, sink, new Random(seed, 'bad', 'rural-revitalization'), badRate, year),
    );
  }
  if (only.has('hospitals')) {
    const file = 'hospitals.csv';
    function* settlements() {
      for (const month of settlementMonths(people, statuses, region, year, seed)) {
        for (const settlement of month) {
          if (settlement.isReversal) reversals += 1;
          yield settlement;
        }
      }
    }
    add(
      'hospitals',
      file,
      'csv',
      'utf-8',
      await writeFeed(
        hospitalFeed(region.division),
        settlements(),
        csvSink(join(options.outDir, file), 'utf-8'),
        new Random(seed, 'bad', 'hospitals'),
        badRate,
        year,
      ),
    );
  }
  if (only.has('tax')) {
    const file = 'tax.csv';
    const records = contributions(people, statuses, year, seed);
    subsidiesWithheld = records.filter((record) => record.subsidyWithheld).length;
    add(
      'tax',
      file,
      'csv',
      'utf-8-bom',
      await writeFeed(
        taxFeed(year),
        records,
        csvSink(join(options.outDir, file), 'utf-8-bom'),
        new Random(seed, 'bad', 'tax'),
        badRate,
        year,
      ),
    );
  }

  const yearStart = Date.parse(`${year}-01-01T00:00:00+08:00`);
  let backDated = 0;
  for (const held of statuses.values()) {
    for (const status of held) if (status.decidedAt > yearStart && shanghaiDate(status.decidedAt) > status.validFrom) backDated += 1;
  }
  const summary: SimulationSummary = {
    region: region.id,
    division: region.division,
    year,
    seed,
    badRate,
    people: people.length,
    peopleInPoverty: statuses.size,
    backDatedCertifications: backDated,
    reversals,
    subsidiesWithheld,
    feeds,
  };
  await writeFile(join(options.outDir, 'simulation.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

export function describeSimulation(summary: SimulationSummary): string {
  const lines = [
    `simulated ${summary.region} (${summary.division}) ${summary.year}, seed ${summary.seed}: ${summary.people} people, ` +
      `${summary.peopleInPoverty} in poverty categories, ${summary.backDatedCertifications} back-dated certifications`,
    ...summary.feeds.map((feed) => {
      const kinds = Object.entries(feed.badKinds)
        .map(([kind, n]) => `${kind} ${n}`)
        .join(', ');
      return (
        `  ${feed.file.padEnd(28)} ${feed.encoding.padEnd(9)} ${String(feed.records).padStart(9)} records  ` +
        `${String(feed.bad).padStart(6)} bad${kinds === '' ? '' : ` (${kinds})`}`
      );
    }),
    `  reversals (冲销) ${summary.reversals}, subsidies deliberately withheld ${summary.subsidiesWithheld}`,
  ];
  return `${lines.join('\n')}\n`;
}
