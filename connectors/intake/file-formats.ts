import type { Stream } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import './exceljs-utf8';
import { removeXlsxTempFiles } from './exceljs-entries';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { HubError, describeError } from '../../services/platform';

/**
 * Readers for the batch files agencies send: CSV (UTF-8 with or without BOM, or GBK as many Windows
 * exports still are) and XLSX. Both stream: a row is handed on before the next bytes are read, so a
 * file of a million rows needs no more memory than one of a thousand.
 */
export type FileFormat = 'csv' | 'xlsx';
export type EncodingChoice = 'utf-8' | 'gbk' | 'auto';
export type TextEncoding = 'utf-8' | 'gbk';

/** One row as a spreadsheet user sees it: its number (the header is row 1) and its cells as text. */
export interface FileRow {
  readonly rowNumber: number;
  readonly cells: readonly string[];
  /**
   * XLSX only: the columns whose cells are numbers, not text. An ID number in such a cell has been
   * rounded by Excel to 15 significant digits, so the intake refuses it (see numericIdCell).
   */
  readonly numericColumns?: readonly number[];
}

/**
 * What an ID column's numeric XLSX cell becomes: the number as Excel shows it in a column not
 * formatted as text (1.10105E+17). The intake refuses this form with a reason telling the sender to
 * format the column as text; the digits a rounded number would show could pass the check character
 * and name another person.
 */
export function numericIdCell(text: string): string {
  const value = Number(text);
  return Number.isFinite(value) ? value.toExponential(5).toUpperCase() : text;
}

/** Most characters of one CSV row (all its cells): far above any agency's row, far below a memory problem. */
export const maxCsvRecordChars = 1024 * 1024;

/** How much of the start of a file decides its encoding when asked to detect it. */
const sniffBytes = 64 * 1024;

/**
 * BOM -> UTF-8; bytes that are valid UTF-8 -> UTF-8; anything else -> GBK. `complete` says whether
 * the sample is the whole file: if not, a multi-byte character cut at its end is not held against it.
 */
export function detectEncoding(sample: Uint8Array, complete: boolean): TextEncoding {
  if (sample.length >= 3 && sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf) return 'utf-8';
  return isValidUtf8(sample, complete) ? 'utf-8' : 'gbk';
}

function isValidUtf8(bytes: Uint8Array, complete: boolean): boolean {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i] ?? 0;
    if (lead < 0x80) {
      i += 1;
      continue;
    }
    let length: number;
    let min: number;
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
      min = 0x80;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      min = 0x800;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      min = 0x10000;
    } else return false;
    if (i + length > bytes.length) return !complete && checkContinuations(bytes, i + 1, bytes.length);
    if (!checkContinuations(bytes, i + 1, i + length)) return false;
    let codePoint = lead & (0xff >> (length + 1));
    for (let k = 1; k < length; k += 1) codePoint = (codePoint << 6) | ((bytes[i + k] ?? 0) & 0x3f);
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8 (and are typical of GBK text).
    if (codePoint < min || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) return false;
    i += length;
  }
  return true;
}

function checkContinuations(bytes: Uint8Array, from: number, to: number): boolean {
  for (let k = from; k < to; k += 1) if (((bytes[k] ?? 0) & 0xc0) !== 0x80) return false;
  return true;
}

interface Decoder {
  write(chunk: Buffer): string;
  end(): string;
}

function createDecoder(encoding: TextEncoding): Decoder {
  if (encoding === 'gbk') {
    const decoder = iconv.getDecoder('gbk');
    return { write: (chunk) => decoder.write(chunk), end: () => decoder.end() ?? '' };
  }
  // Fatal, so a file that stops being UTF-8 after the sniffed start fails loudly instead of filling
  // the topics with replacement characters. The BOM is consumed (ignoreBOM false).
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  return { write: (chunk) => decoder.decode(chunk, { stream: true }), end: () => decoder.decode() };
}

function asBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new HubError('INPUT_INVALID', 'the file stream gave something other than bytes');
}

/** Decodes a byte stream to text, detecting the encoding when asked; reports what it chose. */
export async function* decodeText(
  input: AsyncIterable<unknown>,
  choice: EncodingChoice,
  onEncoding: (encoding: TextEncoding) => void = () => undefined,
): AsyncGenerator<string> {
  let decoder: Decoder | undefined;
  let encoding: TextEncoding | undefined;
  let offset = 0;
  const pending: Buffer[] = [];
  let pendingBytes = 0;

  const decode = (chunk: Buffer): string => {
    try {
      return (decoder as Decoder).write(chunk);
    } catch (error) {
      throw new HubError(
        'INPUT_INVALID',
        `the file is not valid UTF-8 near byte ${offset}${choice === 'auto' ? ' (its start looked like UTF-8)' : ''}: ` +
          'pass --encoding gbk if it is a GBK export',
        { cause: error },
      );
    }
  };
  const choose = (complete: boolean): string => {
    const head = Buffer.concat(pending);
    encoding = choice === 'auto' ? detectEncoding(head, complete) : choice;
    onEncoding(encoding);
    decoder = createDecoder(encoding);
    pending.length = 0;
    return decode(head);
  };

  for await (const raw of input) {
    const chunk = asBuffer(raw);
    if (decoder === undefined) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes < sniffBytes) continue;
      const text = choose(false);
      offset += pendingBytes;
      if (text !== '') yield text;
      continue;
    }
    const text = decode(chunk);
    offset += chunk.length;
    if (text !== '') yield text;
  }
  if (decoder === undefined) {
    const text = choose(true);
    offset += pendingBytes;
    if (text !== '') yield text;
  }
  let tail: string;
  try {
    tail = (decoder as Decoder).end();
  } catch (error) {
    throw new HubError('INPUT_INVALID', `the file ends inside a ${encoding ?? 'text'} character`, { cause: error });
  }
  if (tail !== '') yield tail;
}

/**
 * CSV rows with their spreadsheet numbers, a decoded chunk's worth at a time. Empty lines are counted
 * (a spreadsheet shows them as rows) but not returned; a quoted cell spanning lines is one row, as in
 * a spreadsheet.
 *
 * Why batches: the parser is fed text directly and its records collected as it emits them
 * (synchronously, within write), instead of iterating the parser stream record by record. Three
 * promise hops per row (stream iterator, this generator, the caller's loop) cost about a third of
 * the parsing time on large imports.
 */
export async function* readCsvRowBatches(
  input: NodeJS.ReadableStream,
  choice: EncodingChoice,
  onEncoding?: (encoding: TextEncoding) => void,
): AsyncGenerator<FileRow[]> {
  // max_record_size bounds what the parser holds for one row: a 200 MB cell (or a quote never closed)
  // took a connector to 1.24 GB; past the bound the file is refused from that row on.
  const parser = parseCsv({
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: false,
    trim: false,
    max_record_size: maxCsvRecordChars,
  });
  let records: string[][] = [];
  let failure: Error | undefined;
  parser.on('data', (record: string[]) => {
    records.push(record);
  });
  parser.on('error', (error) => {
    failure ??= error;
  });
  const ended = new Promise<void>((resolve) => {
    parser.once('end', resolve);
    parser.once('error', () => resolve());
  });
  let rowNumber = 0;
  // Rows parsed before a failure are handed on first, and the failure raised after them: what was
  // read of a file that breaks off is imported, and the import can say how far it got.
  const take = (): FileRow[] => {
    const rows: FileRow[] = [];
    for (const record of records) {
      rowNumber += 1;
      if (record.every((cell) => cell.trim() === '')) continue;
      rows.push({ rowNumber, cells: record });
    }
    records = [];
    return rows;
  };
  try {
    for await (const text of decodeText(input as AsyncIterable<unknown>, choice, onEncoding)) {
      parser.write(text);
      const rows = take();
      if (rows.length > 0) yield rows;
      if (failure !== undefined) throw failure;
    }
    parser.end();
    await ended;
    const rows = take();
    if (rows.length > 0) yield rows;
    if (failure !== undefined) throw failure;
  } catch (error) {
    if (error instanceof HubError) throw error;
    throw new HubError('INPUT_INVALID', `the CSV cannot be read after row ${rowNumber}: ${describeError(error)}`, { cause: error });
  } finally {
    parser.destroy();
  }
}

/** CSV rows one by one (see readCsvRowBatches). */
export async function* readCsvRows(
  input: NodeJS.ReadableStream,
  choice: EncodingChoice,
  onEncoding?: (encoding: TextEncoding) => void,
): AsyncGenerator<FileRow> {
  for await (const rows of readCsvRowBatches(input, choice, onEncoding)) yield* rows;
}

type CellValue = ExcelJS.CellValue;

const pad2 = (n: number): string => String(n).padStart(2, '0');

/**
 * A cell as the text an agency meant. Excel keeps dates as zone-less serial numbers, which ExcelJS
 * hands over as UTC instants: their UTC fields are the wall-clock date and time typed in.
 */
export function cellText(value: CellValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return '';
    const date = `${value.getUTCFullYear()}-${pad2(value.getUTCMonth() + 1)}-${pad2(value.getUTCDate())}`;
    const [h, m, s] = [value.getUTCHours(), value.getUTCMinutes(), value.getUTCSeconds()];
    return h === 0 && m === 0 && s === 0 ? date : `${date} ${pad2(h)}:${pad2(m)}:${pad2(s)}`;
  }
  if ('richText' in value) return value.richText.map((part) => part.text).join('');
  if ('hyperlink' in value) return value.text;
  if ('error' in value) return value.error;
  if ('formula' in value || 'sharedFormula' in value) return cellText(value.result);
  return '';
}

/** Rows of the first worksheet of an XLSX workbook, with their own row numbers. */
export async function* readXlsxRows(input: NodeJS.ReadableStream): AsyncGenerator<FileRow> {
  // ExcelJS's reader takes a classic stream; the cast names the only thing it uses (pipe).
  const workbook = new ExcelJS.stream.xlsx.WorkbookReader(input as unknown as Stream, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    styles: 'cache',
    hyperlinks: 'ignore',
    entries: 'ignore',
  });
  let lastRow = 0;
  try {
    for await (const worksheet of workbook) {
      for await (const row of worksheet) {
        lastRow = row.number;
        const values = row.values;
        if (!Array.isArray(values)) continue;
        const cells: string[] = [];
        const numericColumns: number[] = [];
        // ExcelJS rows are 1-based and sparse: index 0 is unused, gaps are empty cells.
        for (let column = 1; column < values.length; column += 1) {
          const value = values[column];
          if (
            typeof value === 'number' ||
            (typeof value === 'object' && value !== null && 'result' in value && typeof value.result === 'number')
          )
            numericColumns.push(column - 1);
          cells.push(cellText(value));
        }
        if (cells.every((cell) => cell.trim() === '')) continue;
        yield numericColumns.length === 0 ? { rowNumber: row.number, cells } : { rowNumber: row.number, cells, numericColumns };
      }
      // The first worksheet is the data; later sheets (notes, dictionaries) are not read.
      break;
    }
  } catch (error) {
    if (error instanceof HubError) throw error;
    throw new HubError(
      'INPUT_INVALID',
      `the XLSX workbook cannot be read${lastRow > 0 ? ` after row ${lastRow}` : ''}: ${describeError(error)}`,
      { cause: error },
    );
  } finally {
    removeXlsxTempFiles(input);
  }
}

/** Rows of a file in either format. */
export function readFileRows(
  input: NodeJS.ReadableStream,
  format: FileFormat,
  encoding: EncodingChoice,
  onEncoding?: (encoding: TextEncoding) => void,
): AsyncGenerator<FileRow> {
  return format === 'csv' ? readCsvRows(input, encoding, onEncoding) : readXlsxRows(input);
}

/** Rows of a file in either format, in batches (CSV: a decoded chunk's worth; XLSX: one row each). */
export async function* readFileRowBatches(
  input: NodeJS.ReadableStream,
  format: FileFormat,
  encoding: EncodingChoice,
  onEncoding?: (encoding: TextEncoding) => void,
): AsyncGenerator<FileRow[]> {
  if (format === 'csv') {
    yield* readCsvRowBatches(input, encoding, onEncoding);
    return;
  }
  for await (const row of readXlsxRows(input)) yield [row];
}

/** The format a file name implies, if any. */
export function formatOfFileName(fileName: string): FileFormat | undefined {
  const lower = fileName.toLowerCase();
  if (lower.endsWith('.csv') || lower.endsWith('.txt')) return 'csv';
  if (lower.endsWith('.xlsx')) return 'xlsx';
  return undefined;
}

/** A CSV cell, quoted when it must be (RFC 4180). */
export function csvCell(text: string): string {
  return /[",\r\n]/.test(text) || /^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(cells: readonly string[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}
