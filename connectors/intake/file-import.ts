import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { HubError, isHubError } from '../../services/platform';
import type { AgencyDefinition } from './agency';
import type { KeyScope } from './key-scope';
import {
  csvLine,
  numericIdCell,
  readFileRowBatches,
  type EncodingChoice,
  type FileFormat,
  type FileRow,
  type TextEncoding,
} from './file-formats';
import { loadFileMapping, resolveHeader, rowToRaw, type FileMapping, type ResolvedHeader } from './file-mapping';
import type { Intake, IntakeItem, IntakeOutcome } from './pipeline';
import { startPrepareWorker, type PrepareWorker } from './prepare-client';

export interface ImportSummary {
  /** Data rows read (title rows above the header and empty rows not counted). */
  readonly rows: number;
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: number;
  /** The rejection report written, or null when no path was known for it. */
  readonly reportPath: string | null;
}

export interface ImportFileOptions {
  readonly agency: AgencyDefinition;
  readonly input: NodeJS.ReadableStream;
  readonly format: FileFormat;
  /** CSV only; XLSX is always UTF-8 inside. Default 'auto'. */
  readonly encoding?: EncodingChoice;
  readonly intake: Intake;
  /** Where the rejection report goes; by default beside a file stream's path as `<name>.rejected.csv`. */
  readonly reportPath?: string;
  /** Called after each batch with the data rows handled so far. */
  readonly onProgress?: (rowsDone: number) => void;
  /** Called once the CSV encoding is known (detected or given). */
  readonly onEncoding?: (encoding: TextEncoding) => void;
  /** Rows per intake batch (default 2,000): large enough to fill Kafka batches, small enough to bound memory. */
  readonly batchSize?: number;
  /** The channel named in each record's source (`<agency>:<channel>`); default 'file'. */
  readonly channel?: string;
  /** The scope of the bound API key that sent the file: rows outside it are refused. */
  readonly scope?: KeyScope;
  /** Called with each batch's outcomes, in batch order (the push API answers a file's rejections from them). */
  readonly onOutcomes?: (outcomes: readonly IntakeOutcome[]) => void;
}

const defaultBatchSize = 2_000;
/** Title rows (a sheet's caption, an export date) may sit above the header; this many are looked through. */
const headerSearchRows = 10;

/** A national ID number shown to a person who must fix the row: first 3 and last 4 kept (110***********002X). */
export function maskIdNumber(text: string): string {
  const value = text.trim();
  if (value.length <= 7) return '*'.repeat(value.length);
  return `${value.slice(0, 3)}${'*'.repeat(value.length - 7)}${value.slice(-4)}`;
}

const idNumberInText = /(?<![0-9])(\d{17}[\dXx]|\d{15})(?![0-9Xx])/g;

/** Any ID-shaped number inside other cells (a remark, a wrong column), masked the same way. */
export function maskIdNumbersIn(text: string): string {
  return text.replace(idNumberInText, maskIdNumber);
}

/**
 * A report cell Excel will not run: one starting with =, +, -, @ (or a tab or carriage return before
 * them) is a formula to Excel, so a hostile row could put one in front of the agency's staff.
 */
export function inert(cell: string): string {
  return /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
}

/** The report path beside a file: `roster.csv` -> `roster.rejected.csv`. */
export function defaultReportPath(inputPath: string): string {
  const name = basename(inputPath, extname(inputPath));
  return join(dirname(inputPath), `${name}.rejected.csv`);
}

function streamPath(input: NodeJS.ReadableStream): string | undefined {
  const path = (input as { path?: unknown }).path;
  if (typeof path === 'string') return path;
  if (Buffer.isBuffer(path)) return path.toString('utf8');
  return undefined;
}

/**
 * Rejected rows for the sender, as CSV in UTF-8 with a BOM (so Excel shows the Chinese right):
 * the row number, the row as sent with names removed and the ID number masked, the field, the
 * reason. One line per problem, so a row with two problems appears twice.
 */
class RejectionReport {
  private readonly stream: WriteStream;
  private failure: Error | undefined;
  private readonly kept: number[];

  constructor(
    readonly path: string,
    headerCells: readonly string[],
    private readonly header: ResolvedHeader,
    private readonly agency: AgencyDefinition,
  ) {
    this.stream = createWriteStream(path, { encoding: 'utf8' });
    this.stream.on('error', (error) => {
      this.failure = error;
    });
    const names = new Set(agency.nameFields);
    this.kept = headerCells.map((_, column) => column).filter((column) => !names.has(header.fields[column] ?? ''));
    this.stream.write(
      `\uFEFF${csvLine(['行号 row', ...this.kept.map((column) => headerCells[column] ?? ''), '问题字段 field', '原因 reason'])}`,
    );
  }

  async add(row: FileRow, problems: readonly { field: string; reason: string }[]): Promise<void> {
    const cells = this.kept.map((column) => {
      const cell = row.cells[column] ?? '';
      return this.header.fields[column] === this.agency.idField ? maskIdNumber(cell) : maskIdNumbersIn(cell);
    });
    let text = '';
    for (const problem of problems) {
      const field = this.header.headerOfField.get(problem.field) ?? problem.field;
      text += csvLine([String(row.rowNumber), ...cells, field, maskIdNumbersIn(problem.reason)].map(inert));
    }
    if (!this.stream.write(text)) await once(this.stream, 'drain');
    if (this.failure !== undefined) throw this.reportError(this.failure);
  }

  async close(): Promise<void> {
    if (!this.stream.writableEnded) {
      this.stream.end();
      if (this.failure === undefined)
        await once(this.stream, 'finish').catch((error: unknown) => {
          this.failure = error as Error;
        });
    }
    if (this.failure !== undefined) throw this.reportError(this.failure);
  }

  private reportError(error: Error): HubError {
    return new HubError('PROCESSING_FAILED', `cannot write the rejection report ${this.path}: ${error.message}`, { cause: error });
  }
}

function countMapped(mapping: FileMapping, cells: readonly string[]): number {
  let mapped = 0;
  for (const cell of cells) if (resolveHeader(mapping, [cell]).header.fields[0] !== undefined) mapped += 1;
  return mapped;
}

function missingColumnsError(mapping: FileMapping, missing: readonly string[], rowNumber: number): HubError {
  const wanted = missing.map((field) => {
    const spellings = (mapping.spellings.get(field) ?? []).filter((spelling) => spelling !== field).slice(0, 3);
    return spellings.length === 0 ? field : `${field} (${spellings.join(' / ')})`;
  });
  return new HubError(
    'INPUT_INVALID',
    `the header (row ${rowNumber}) lacks required column${missing.length > 1 ? 's' : ''} ${wanted.join(', ')}; ` +
      `nothing was imported (accepted spellings: ${mapping.file})`,
    { detail: { missing } },
  );
}

/**
 * Imports an agency's batch file: maps its header to the agency's canonical fields, hands rows to
 * the intake in batches (each awaited, so a slow Kafka slows the reading instead of filling memory),
 * counts outcomes and writes rejected rows to a report. A file whose header lacks a required column
 * is refused before any row is imported.
 */
export async function importFile(options: ImportFileOptions): Promise<ImportSummary> {
  const { agency, intake } = options;
  const mapping = loadFileMapping(agency);
  const batchSize = options.batchSize ?? defaultBatchSize;
  const channel = options.channel ?? 'file';
  const rawFormat: IntakeItem['rawFormat'] = options.format === 'csv' ? 'csv-row' : 'xlsx-row';
  const inputPath = streamPath(options.input);
  const reportPath = options.reportPath ?? (inputPath === undefined ? undefined : defaultReportPath(inputPath));

  const rowBatches = readFileRowBatches(options.input, options.format, options.encoding ?? 'auto', options.onEncoding);
  let header: ResolvedHeader | undefined;
  let report: RejectionReport | undefined;
  const preamble: FileRow[] = [];
  const counts = { rows: 0, accepted: 0, duplicates: 0, rejected: 0 };

  const startWith = (headerRow: FileRow): void => {
    const resolved = resolveHeader(mapping, headerRow.cells);
    if (resolved.missing.length > 0) throw missingColumnsError(mapping, resolved.missing, headerRow.rowNumber);
    header = resolved.header;
    if (reportPath !== undefined) report = new RejectionReport(reportPath, headerRow.cells, resolved.header, agency);
  };

  const { scope } = options;
  const toItem = (row: FileRow, resolved: ResolvedHeader): IntakeItem => ({
    raw: rowToRaw(mapping, resolved.fields, row.cells),
    rawFormat,
    position: `row ${row.rowNumber}`,
    ...(scope === undefined ? {} : { scope }),
  });

  // With an intake that can publish batches prepared elsewhere, rows are mapped, validated,
  // pseudonymised and encoded in a worker thread; the intake's publish stage stays on this thread.
  // A bound key's file is prepared here: the worker knows nothing of keys.
  const offload = scope === undefined ? intake.offload : undefined;
  let preparer: Promise<PrepareWorker | undefined> | undefined;
  /** Hands a batch to the intake, which takes its place in the intake's order at once. */
  const ingest = async (rows: readonly FileRow[], resolved: ResolvedHeader): Promise<{ outcomes: Promise<IntakeOutcome[]> }> => {
    if (offload !== undefined) preparer ??= startPrepareWorker(offload, resolved.fields, rawFormat, channel);
    const worker = preparer === undefined ? undefined : await preparer;
    if (offload === undefined || worker === undefined)
      return {
        outcomes: intake.ingest(
          rows.map((row) => toItem(row, resolved)),
          channel,
        ),
      };
    return {
      outcomes: offload.publish({
        prepared: worker.prepare(rows.map((row) => row.cells)),
        size: rows.length,
        positionOf: (index) => `row ${rows[index]?.rowNumber ?? ''}`,
        itemOf: (index) => {
          const row = rows[index];
          return row === undefined ? undefined : toItem(row, resolved);
        },
      }),
    };
  };

  /** Counts one batch's outcomes and reports its rejected rows; called in batch order. */
  const tally = async (batch: readonly FileRow[], outcomes: readonly IntakeOutcome[]): Promise<void> => {
    options.onOutcomes?.(outcomes);
    for (let i = 0; i < outcomes.length; i += 1) {
      const outcome = outcomes[i];
      if (outcome === undefined) continue;
      if (outcome.status === 'accepted') counts.accepted += 1;
      else if (outcome.status === 'duplicate') counts.duplicates += 1;
      else {
        counts.rejected += 1;
        const row = batch[i];
        if (report !== undefined && row !== undefined) await report.add(row, outcome.problems);
      }
    }
    counts.rows += batch.length;
    options.onProgress?.(counts.rows);
  };

  // Up to `overlap` batches are in the intake at once while the next is read: the intake validates and
  // encodes one batch while Kafka acknowledges the one before. The intake keeps what must stay in
  // order so (duplicate check, sends; see createIntake); outcomes are tallied here in batch order.
  // Memory stays bounded: the reader waits once `overlap` batches are in flight.
  const overlap = 3;
  const inFlight: Promise<void>[] = [];
  let tallied: Promise<void> = Promise.resolve();
  let batch: FileRow[] = [];
  const send = async (): Promise<void> => {
    if (header === undefined || batch.length === 0) return;
    const rows = batch;
    const resolved = header;
    batch = [];
    const { outcomes } = await ingest(rows, resolved);
    const before = tallied;
    const done = (async () => {
      const answered = await outcomes;
      await before;
      await tally(rows, answered);
    })();
    // Marked handled now: each is awaited in turn below or at the end, where its error surfaces.
    outcomes.catch(() => undefined);
    done.catch(() => undefined);
    tallied = done;
    inFlight.push(done);
    while (inFlight.length >= overlap) await inFlight.shift();
  };
  /** The column of the ID number, once the header is known. */
  let idColumn = -1;
  /** A data row as the intake gets it: a numeric ID cell in the form the intake refuses (see numericIdCell). */
  const dataRow = (row: FileRow): FileRow => {
    if (idColumn < 0 || row.numericColumns?.includes(idColumn) !== true) return row;
    const cells = [...row.cells];
    cells[idColumn] = numericIdCell(cells[idColumn] ?? '');
    return { rowNumber: row.rowNumber, cells };
  };
  /** The header is preamble[index]; rows above it were titles, rows below it are data. */
  const adopt = (index: number): void => {
    startWith(preamble[index] as FileRow);
    idColumn = header?.fields.indexOf(agency.idField) ?? -1;
    batch.push(...preamble.slice(index + 1).map(dataRow));
  };
  let failed = false;
  /** Why the file could not be read to its end, once rows were read before that point. */
  let brokeOff: HubError | undefined;
  try {
    for (;;) {
      let next: IteratorResult<FileRow[]>;
      try {
        next = await rowBatches.next();
      } catch (error) {
        if (header === undefined || !isHubError(error, 'INPUT_INVALID')) throw error;
        brokeOff = error;
        break;
      }
      if (next.done === true) break;
      for (const row of next.value) {
        if (header === undefined) {
          preamble.push(row);
          if (countMapped(mapping, row.cells) >= 2) adopt(preamble.length - 1);
          else if (preamble.length >= headerSearchRows) adopt(0);
          continue;
        }
        batch.push(dataRow(row));
        if (batch.length >= batchSize) await send();
      }
    }
    if (header === undefined) {
      if (preamble.length === 0) throw new HubError('INPUT_INVALID', 'the file is empty: no header row');
      adopt(0);
    }
    // Every row read, up to where a broken file stops, is published or reported.
    await send();
    while (inFlight.length > 0) await inFlight.shift();
  } catch (error) {
    failed = true;
    throw counts.rows > 0 ? partlyImported(error, counts, report?.path ?? null) : error;
  } finally {
    // A failure mid-file leaves no batch running behind the caller's back, and the first error wins.
    await Promise.allSettled(inFlight.splice(0));
    await (await preparer?.catch(() => undefined))?.close();
    if (failed) await report?.close().catch(() => undefined);
    else await report?.close();
  }
  if (brokeOff !== undefined) throw counts.rows > 0 ? partlyImported(brokeOff, counts, report?.path ?? null) : brokeOff;
  return { ...counts, reportPath: report?.path ?? null };
}

/**
 * An import that stopped after some rows were handled: the error keeps its code (the file's fault or
 * a service's) and says how far the import got; `detail.imported` holds the counts.
 */
function partlyImported(error: unknown, counts: Omit<ImportSummary, 'reportPath'>, reportPath: string | null): unknown {
  if (!isHubError(error)) return error;
  const summary: ImportSummary = { ...counts, reportPath };
  return new HubError(
    error.code,
    `${error.message}; the rows before it were imported (${describeSummary(summary)}), the rest of the file was not`,
    {
      cause: error,
      detail: { ...error.detail, imported: summary },
    },
  );
}

/** The counts of an import that stopped part-way, when the error says so. */
export function importedBefore(error: unknown): ImportSummary | undefined {
  if (!isHubError(error)) return undefined;
  const imported = error.detail.imported;
  return typeof imported === 'object' && imported !== null ? (imported as ImportSummary) : undefined;
}

/** The one-line summary printed after an import. */
export function describeSummary(summary: ImportSummary): string {
  const report = summary.rejected > 0 && summary.reportPath !== null ? `; rejected rows in ${summary.reportPath}` : '';
  return `${summary.rows} rows: ${summary.accepted} accepted, ${summary.duplicates} duplicates, ${summary.rejected} rejected${report}`;
}
