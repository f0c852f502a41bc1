import { Module, createRequire } from 'node:module';

/**
 * ExcelJS's streaming reader (4.4.0) decodes each inflated chunk of a sheet's XML on its own, so a
 * Chinese character whose three UTF-8 bytes straddle two chunks comes out as U+FFFD: 纳入 became
 * 纳�� in a real import. Its XML is fed through one small module, `lib/utils/parse-sax.js`; this
 * puts an equal module with a streaming decoder in Node's module cache before ExcelJS loads it.
 * Import this module before 'exceljs'. test/unit/import pins the fix with text across chunk ends.
 */
const requireHere = createRequire(import.meta.url);
const parseSaxPath = requireHere.resolve('exceljs/lib/utils/parse-sax.js');
const requireExcel = createRequire(parseSaxPath);

interface SaxEvent { eventType: 'opentag' | 'text' | 'closetag'; value: unknown }
interface SaxesParserLike {
  on(event: 'error', handler: (error: Error) => void): void;
  on(event: 'opentag' | 'text' | 'closetag', handler: (value: unknown) => void): void;
  write(text: string): void;
}

const { SaxesParser } = requireExcel('saxes') as { SaxesParser: new () => SaxesParserLike };
const { PassThrough } = requireExcel('readable-stream') as { PassThrough: new () => NodeJS.ReadWriteStream };

async function* parseSax(source: AsyncIterable<Buffer | string> | NodeJS.ReadableStream): AsyncGenerator<SaxEvent[]> {
  const iterable = (Symbol.asyncIterator in source ? source : (source as NodeJS.ReadableStream).pipe(new PassThrough()));
  const parser = new SaxesParser();
  const decoder = new TextDecoder('utf-8');
  let error: Error | undefined;
  let events: SaxEvent[] = [];
  parser.on('error', (e) => { error = e; });
  parser.on('opentag', (value) => events.push({ eventType: 'opentag', value }));
  parser.on('text', (value) => events.push({ eventType: 'text', value }));
  parser.on('closetag', (value) => events.push({ eventType: 'closetag', value }));
  for await (const chunk of iterable) {
    // stream: true keeps an incomplete multi-byte sequence for the next chunk instead of replacing it.
    parser.write(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    if (error !== undefined) throw error;
    yield events;
    events = [];
  }
  const rest = decoder.decode();
  if (rest !== '') parser.write(rest);
  if (error !== undefined) throw error;
  if (events.length > 0) yield events;
}

const cached = new Module(parseSaxPath);
cached.filename = parseSaxPath;
cached.loaded = true;
cached.exports = parseSax;
requireHere.cache[parseSaxPath] = cached;
