import { Module, createRequire } from 'node:module';
import { createSheetEventRewriter, type SaxEvent } from './xlsx-sheet-events';

/**
 * ExcelJS's streaming reader (4.4.0) decodes each inflated chunk of a sheet's XML on its own, so a
 * Chinese character whose three UTF-8 bytes straddle two chunks comes out as U+FFFD: 纳入 became
 * 纳�� in a real import. Its XML is fed through one small module, `lib/utils/parse-sax.js`; this
 * puts an equal module with a streaming decoder in Node's module cache before ExcelJS loads it.
 * Import this module before 'exceljs'. test/unit/import pins the fix with text across chunk ends.
 * The same module puts worksheet events right before ExcelJS reads them (xlsx-sheet-events.ts).
 */
const requireHere = createRequire(import.meta.url);
const parseSaxPath = requireHere.resolve('exceljs/lib/utils/parse-sax.js');
const requireExcel = createRequire(parseSaxPath);

interface SaxesParserLike {
  on(event: 'error', handler: (error: Error) => void): void;
  on(event: 'opentag' | 'text' | 'closetag', handler: (value: unknown) => void): void;
  write(text: string): void;
}

const { SaxesParser } = requireExcel('saxes') as { SaxesParser: new () => SaxesParserLike };
const { PassThrough } = requireExcel('readable-stream') as { PassThrough: new () => NodeJS.ReadWriteStream };

/**
 * Most characters of XML text between two tags (one cell's text, in practice). Excel holds at most
 * 32,767 characters in a cell; the parser keeps text until the next tag, so a 206 KB workbook whose
 * one cell inflates to 200 MB took a connector to 3.3 GB. With the chunk the parser is fed, the count
 * may run over by one chunk (16 KiB inflated): memory stays bounded all the same.
 */
export const maxXlsxTextChars = 1024 * 1024;
/**
 * Most characters of the shared-strings part, which ExcelJS keeps whole in memory while it reads the
 * sheet. A sheet's own XML streams and needs no bound; a workbook of many distinct long strings does.
 */
export const maxXlsxSharedStringsChars = 128 * 1024 * 1024;

/** The error that stops a workbook past one of the bounds above; file-formats.ts reports it as INPUT_INVALID. */
export class XlsxTooLarge extends Error {
  override readonly name = 'XlsxTooLarge';
}

async function* parseSax(source: AsyncIterable<Buffer | string> | NodeJS.ReadableStream): AsyncGenerator<SaxEvent[]> {
  const iterable = Symbol.asyncIterator in source ? source : (source as NodeJS.ReadableStream).pipe(new PassThrough());
  const parser = new SaxesParser();
  const decoder = new TextDecoder('utf-8');
  let error: Error | undefined;
  let events: SaxEvent[] = [];
  let sinceTag = 0;
  let total = 0;
  let sharedStrings: boolean | undefined;
  const rewrite = createSheetEventRewriter(maxXlsxTextChars);
  parser.on('error', (e) => {
    error = e;
  });
  parser.on('opentag', (value) => {
    sinceTag = 0;
    sharedStrings ??= (value as { name?: unknown }).name === 'sst';
    events.push({ eventType: 'opentag', value });
  });
  parser.on('text', (value) => events.push({ eventType: 'text', value }));
  parser.on('closetag', (value) => {
    sinceTag = 0;
    events.push({ eventType: 'closetag', value });
  });
  for await (const chunk of iterable) {
    // stream: true keeps an incomplete multi-byte sequence for the next chunk instead of replacing it.
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    parser.write(text);
    sinceTag += text.length;
    total += text.length;
    if (sinceTag > maxXlsxTextChars) throw new XlsxTooLarge(`a cell holds more than ${maxXlsxTextChars} characters (Excel allows 32,767)`);
    if (sharedStrings === true && total > maxXlsxSharedStringsChars) {
      throw new XlsxTooLarge(`its shared strings are longer than ${maxXlsxSharedStringsChars} characters`);
    }
    if (error !== undefined) throw error;
    yield rewrite(events);
    events = [];
  }
  const rest = decoder.decode();
  if (rest !== '') parser.write(rest);
  if (error !== undefined) throw error;
  if (events.length > 0) yield rewrite(events);
}

const cached = new Module(parseSaxPath);
cached.filename = parseSaxPath;
cached.loaded = true;
cached.exports = parseSax;
requireHere.cache[parseSaxPath] = cached;
