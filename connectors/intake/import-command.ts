import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { HubError, describeError, isHubError, loadConfig, type CliIo, type RoleMain } from '../../services/platform';
import { createLogger } from '../../services/platform/runtime';
import type { AgencyDefinition, AgencyId } from './agency';
import { formatOfFileName, type EncodingChoice, type FileFormat } from './file-formats';
import { defaultReportPath, describeSummary, importedBefore, importFile } from './file-import';
import { loadFileMapping } from './file-mapping';
import { heapCapped } from './heap-cap';
import { openIntake } from './runtime';

const usage =
  'usage: hub import <agency> FILE [--format csv|xlsx] [--encoding auto|utf-8|gbk] [--report PATH] [--batch-size N]\n' +
  '  exit 0: imported, nothing rejected; 3: imported, some rows rejected (see the report);\n' +
  '  2: the file or the command line cannot be used (nothing imported); 1: a service failed (the message says how far the import got);\n' +
  '  4: the file breaks off part-way (an invalid byte, an unclosed quote): the rows before were imported, the rest was not';

/** Exit code of an import that ran but refused some rows: scripts can tell it from a clean run and from a failure. */
export const exitRowsRejected = 3;
/** Exit code of an import of a file that could not be read to its end: the rows before that point were imported. */
export const exitPartlyImported = 4;

interface ImportArgs {
  agency: AgencyDefinition;
  file: string;
  format: FileFormat;
  encoding: EncodingChoice;
  reportPath: string;
  batchSize: number | undefined;
}

function parseArgs(args: readonly string[], agencies: Readonly<Record<AgencyId, AgencyDefinition>>): ImportArgs {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    if (arg.startsWith('--')) {
      const [name, inline] = arg.split('=', 2) as [string, string | undefined];
      const value = inline ?? args[i + 1];
      if (!['--format', '--encoding', '--report', '--batch-size'].includes(name))
        throw new HubError('USAGE', `unknown option ${name}\n${usage}`);
      if (value === undefined) throw new HubError('USAGE', `${name} needs a value\n${usage}`);
      flags.set(name, value);
      if (inline === undefined) i += 1;
    } else positional.push(arg);
  }
  const [agencyId, file, ...extra] = positional;
  if (agencyId === undefined || file === undefined || extra.length > 0) throw new HubError('USAGE', usage);
  const agency = (agencies as Readonly<Record<string, AgencyDefinition>>)[agencyId];
  if (agency === undefined)
    throw new HubError('USAGE', `unknown agency '${agencyId}' (one of ${Object.keys(agencies).join(', ')})\n${usage}`);
  const formatFlag = flags.get('--format');
  if (formatFlag !== undefined && formatFlag !== 'csv' && formatFlag !== 'xlsx')
    throw new HubError('USAGE', `--format is csv or xlsx, not '${formatFlag}'`);
  const format = formatFlag ?? formatOfFileName(file);
  if (format === undefined)
    throw new HubError('USAGE', `cannot tell the format of ${basename(file)} from its name: pass --format csv or --format xlsx`);
  const encoding = flags.get('--encoding') ?? 'auto';
  if (encoding !== 'auto' && encoding !== 'utf-8' && encoding !== 'gbk')
    throw new HubError('USAGE', `--encoding is auto, utf-8 or gbk, not '${encoding}'`);
  const batchFlag = flags.get('--batch-size');
  const batchSize = batchFlag === undefined ? undefined : Number(batchFlag);
  if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000))
    throw new HubError('USAGE', '--batch-size is a whole number from 1 to 100000');
  return { agency, file, format, encoding, reportPath: flags.get('--report') ?? defaultReportPath(file), batchSize };
}

/**
 * Progress on stderr: a line redrawn in place on a terminal, plain lines every few seconds when
 * stderr is a log file or a pipe. Throttled by time, so it costs nothing per row.
 */
function progressReporter(io: CliIo, totalBytes: number, bytesRead: () => number) {
  const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
  const started = Date.now();
  let lastShown = 0;
  const line = (rows: number): string => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    const share = totalBytes > 0 ? Math.min(bytesRead() / totalBytes, 1) : 0;
    const width = 24;
    const filled = Math.round(share * width);
    const bar = tty ? `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ` : '';
    const rate = Math.round(rows / seconds).toLocaleString('en-US');
    return `${bar}${(share * 100).toFixed(0).padStart(3)}%  ${rows.toLocaleString('en-US')} rows  ${rate} rows/s`;
  };
  return {
    update(rows: number): void {
      const now = Date.now();
      if (now - lastShown < (tty ? 200 : 5_000)) return;
      lastShown = now;
      io.stderr.write(tty ? `\r${line(rows)}\u001b[K` : `import: ${line(rows)}\n`);
    },
    finish(): void {
      if (tty && lastShown > 0) io.stderr.write('\r\u001b[K');
    },
    elapsedSeconds: (): number => (Date.now() - started) / 1000,
  };
}

/** `hub import <agency> FILE`: a batch file into the agency's topic, rejected rows into a report. */
export function importCommand(agencies: Readonly<Record<AgencyId, AgencyDefinition>>): RoleMain {
  return heapCapped(async (args, io) => {
    const options = parseArgs(args, agencies);
    loadFileMapping(options.agency);
    // Opened before any service is reached, so an unreadable file is reported as such (exit 2).
    let size: number;
    try {
      const handle = await open(options.file, 'r');
      size = (await handle.stat()).size;
      await handle.close();
    } catch (error) {
      throw new HubError('INPUT_INVALID', `cannot read ${options.file}: ${describeError(error)}`, { cause: error });
    }
    const config = loadConfig(io.env, ['logLevel']);
    const logger = createLogger({ level: config.logLevel, role: 'import', destination: io.stderr });
    const runtime = await openIntake(options.agency, io.env, logger);
    const input = createReadStream(options.file);
    const progress = progressReporter(io, size, () => input.bytesRead);
    let encodingUsed = '';
    try {
      const summary = await importFile({
        agency: options.agency,
        input,
        format: options.format,
        encoding: options.encoding,
        intake: runtime.intake,
        reportPath: options.reportPath,
        channel: `file:${basename(options.file)}`,
        onProgress: (rows) => progress.update(rows),
        onEncoding: (encoding) => {
          encodingUsed = encoding;
        },
        ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
      });
      progress.finish();
      const seconds = progress.elapsedSeconds();
      const rate = Math.round(summary.rows / Math.max(seconds, 0.001));
      const encoding = options.format === 'csv' ? `, ${encodingUsed || options.encoding}` : '';
      io.stdout.write(
        `${options.agency.id} ${basename(options.file)} (${options.format}${encoding}): ${describeSummary(summary)} ` +
          `in ${seconds.toFixed(1)} s (${rate} rows/s)\n`,
      );
      logger.debug({ agency: options.agency.id, file: basename(options.file), ...summary, seconds }, 'import finished');
      return summary.rejected > 0 ? exitRowsRejected : 0;
    } catch (error) {
      progress.finish();
      // Exit 2 says "nothing imported": a file that broke off after some rows were imported is not that.
      if (importedBefore(error) !== undefined && isHubError(error, 'INPUT_INVALID')) {
        io.stderr.write(`hub: ${error.code}: ${error.message}\n`);
        return exitPartlyImported;
      }
      throw error;
    } finally {
      progress.finish();
      input.destroy();
      await runtime.close();
    }
  });
}
