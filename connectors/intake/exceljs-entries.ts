import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Transform, TransformCallback, Writable } from 'node:stream';
import { XlsxTooLarge } from './exceljs-utf8';

/**
 * The parts (zip entries) of a workbook as ExcelJS's streaming reader (4.4.0) inflates them, bounded,
 * and its temporary files removed. That reader writes a worksheet that comes before the shared
 * strings (as Excel orders its parts), or any worksheet of a workbook without shared strings, to a
 * temporary file, inflated, and reads it from there. Nothing bounded that write: a 67 KB upload left
 * 64 MB on disk, and a 256 MB one could write hundreds of gigabytes. Nor was the file removed when
 * the import stopped early (a refused cell) or after the first sheet, which is all the hub reads: it
 * stayed until the process exited.
 *
 * ExcelJS calls `unzipper.Parse` through the module's shared exports, so wrapping that function here
 * takes effect whenever ExcelJS was loaded.
 */

/** Most bytes one part may inflate to: far above a sheet of a million rows, far below a full disk. */
export const maxXlsxPartBytes = 2 * 1024 * 1024 * 1024;
/**
 * Most a part may inflate per byte stored, past its first 16 MiB: sheet XML of real data stores at
 * 5 to 20 times; a zip bomb at about 1,000.
 */
export const maxXlsxInflateRatio = 200;
const ratioFloorBytes = 16 * 1024 * 1024;

interface ZipEntry extends Transform {
  readonly path: string;
  readonly vars?: { readonly compressedSize?: number; readonly flags?: number };
}

/** Temporary files ExcelJS wrote for a workbook, by the input stream it read. */
const tempFilesByInput = new WeakMap<object, Set<string>>();

/** Removes the temporary files ExcelJS wrote while reading `input` (call when done with it, however it ended). */
export function removeXlsxTempFiles(input: object): void {
  const files = tempFilesByInput.get(input);
  if (files === undefined) return;
  for (const path of files) rmSync(path, { force: true });
  tempFilesByInput.delete(input);
}

function bound(entry: ZipEntry, files: () => Set<string> | undefined): void {
  const stored = entry.vars?.compressedSize ?? 0;
  let inflated = 0;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with the entry as `this` below
  const transform = entry._transform;
  entry._transform = function boundedTransform(this: ZipEntry, chunk: Buffer, encoding: BufferEncoding, callback: TransformCallback): void {
    inflated += chunk.length;
    if (inflated > maxXlsxPartBytes) {
      callback(new XlsxTooLarge(`its part ${entry.path} inflates to more than ${maxXlsxPartBytes} bytes`));
      return;
    }
    if (stored > 0 && inflated > ratioFloorBytes && inflated > stored * maxXlsxInflateRatio) {
      callback(
        new XlsxTooLarge(
          `its part ${entry.path} inflates to more than ${maxXlsxInflateRatio} times its stored size (a zip bomb, not a spreadsheet)`,
        ),
      );
      return;
    }
    transform.call(this, chunk, encoding, callback);
  };
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with the entry as `this` below
  const pipe = entry.pipe;
  entry.pipe = function boundedPipe<T extends NodeJS.WritableStream>(this: ZipEntry, destination: T, options?: { end?: boolean }): T {
    const path = (destination as unknown as { path?: unknown }).path;
    if (typeof path === 'string') files()?.add(path);
    // A pipe does not pass an error on: the temporary file's writer would wait for the end for ever.
    entry.once('error', (error) => {
      (destination as unknown as Writable).destroy(error);
    });
    return pipe.call(this, destination, options) as T;
  };
}

const requireExcel = createRequire(createRequire(import.meta.url).resolve('exceljs/lib/stream/xlsx/workbook-reader.js'));
const unzipper = requireExcel('unzipper') as {
  Parse: (options?: object) => NodeJS.ReadWriteStream & { push(chunk: unknown, encoding?: BufferEncoding): boolean };
};
const marker = Symbol.for('medsec-hub.bounded-unzipper');
const unzipperMarked = unzipper as unknown as Record<symbol, boolean>;
if (unzipperMarked[marker] !== true) {
  const parse = unzipper.Parse;
  unzipper.Parse = function boundedParse(options?: object) {
    const zip = parse(options);
    let files: Set<string> | undefined;
    zip.once('pipe', (source: object) => {
      files = new Set();
      tempFilesByInput.set(source, files);
    });
    const push = zip.push.bind(zip);
    zip.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
      if (typeof chunk === 'object' && chunk !== null && !Buffer.isBuffer(chunk) && typeof (chunk as Partial<ZipEntry>).path === 'string') {
        bound(chunk as ZipEntry, () => files);
      }
      return push(chunk, encoding);
    };
    return zip;
  };
  unzipperMarked[marker] = true;
}
