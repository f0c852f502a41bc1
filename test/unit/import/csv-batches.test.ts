import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { readCsvRowBatches, readCsvRows } from '../../../connectors/intake/file-formats';

const text = [
  'certno,name,remark',
  '110105194912310021,张三,"two',
  'lines"',
  '',
  '  ,  ,  ',
  '330302198001011234,李四,"a ""quoted"" word"',
  'x,y',
  '1,2,3,4',
  'last,row,"ends',
  'here"',
].join('\r\n');

/** The text cut into chunks of `size` bytes (cutting CRLFs, quoted cells and UTF-8 characters). */
function chunked(size: number): Readable {
  const bytes = Buffer.from(text, 'utf8');
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return Readable.from(chunks);
}

describe('CSV rows read a chunk at a time', () => {
  const whole: string[][] = parse(text, { relax_column_count: true, relax_quotes: true, skip_empty_lines: false, trim: false });
  const expected = whole.map((cells, i) => ({ rowNumber: i + 1, cells })).filter((row) => !row.cells.every((cell) => cell.trim() === ''));

  it.each([1, 2, 3, 7, 64, 100_000])('gives the rows and row numbers a whole-file parse gives, in chunks of %i bytes', async (size) => {
    const rows = [];
    for await (const batch of readCsvRowBatches(chunked(size), 'utf-8')) rows.push(...batch);
    expect(rows).toEqual(expected);
    const single = [];
    for await (const row of readCsvRows(chunked(size), 'auto')) single.push(row);
    expect(single).toEqual(expected);
  });

  it('names the row after which a malformed file stops', async () => {
    const bad = Readable.from([Buffer.from('a,b\r\n1,2\r\n"open,3\r\n', 'utf8')]);
    const error = await (async () => {
      for await (const _ of readCsvRowBatches(bad, 'utf-8')) {
        /* reading */
      }
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INPUT_INVALID' });
    expect(String((error as Error).message)).toMatch(/the CSV cannot be read after row \d/);
  });
});
