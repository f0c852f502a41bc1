import { mkdirSync } from 'node:fs';
import { agencyOfConnector } from '../../connectors/agency-delivery';
import {
  fenToYuan,
  retryDeadDelivery,
  writeExportFile,
  type ExportEncoding,
  type ExportFormat,
} from '../../connectors/agency-delivery/runtime';
import { HubError, createLifecycle, loadConfig, type CliIo, type RoleMain } from '../platform';
import { createLogger, createMetrics, startOpsServer } from '../platform/runtime';
import { openDeliveryQueue, openWarnings, type WarningsRuntime } from './runtime';
import { startWarningsService } from './service';
import type { RunSummary } from './warning-run';

const usage = `usage:
  hub warnings                                         the service: run schedulers, delivery (health on :9402)
  hub warnings run --region POLICY --period 2022-Q2 [--dry-run]
                                                       run (or rerun) one region-period now; --dry-run prints a table
  hub warnings deliveries [--dead] [--retry JOB_ID|--retry all]
                                                       webhook deliveries by state; dead ones listed, retried by hand
  hub warnings export --agency civil-affairs|rural-revitalization --region POLICY --period P
                      [--format xlsx|csv] [--encoding utf-8|gbk] [--out DIR]
                                                       one agency's file of one period`;

/** `--name value` options and bare flags, refusing anything not named. */
function parseArgs(args: readonly string[], valued: readonly string[], flags: readonly string[]): Map<string, string> {
  const found = new Map<string, string>();
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    if (flags.includes(arg)) found.set(arg, 'true');
    else if (valued.includes(arg) && args[i + 1] !== undefined) {
      found.set(arg, args[i + 1] ?? '');
      i += 1;
    } else throw new HubError('USAGE', `unexpected argument '${arg}'\n${usage}`);
  }
  return found;
}

function required(options: Map<string, string>, name: string): string {
  const value = options.get(name);
  if (value === undefined) throw new HubError('USAGE', `${name} is required\n${usage}`);
  return value;
}

/** `hub warnings …` */
export const runWarningsCommand: RoleMain = async (args, io) => {
  const [sub, ...rest] = args;
  const config = loadConfig(io.env, ['logLevel', 'shutdownGraceMs', 'warningsOpsPort', 'opsHost']);
  const logger = createLogger({ level: config.logLevel, role: 'warnings' });
  if (sub === undefined) return serve(io, logger, config.shutdownGraceMs, { port: config.warningsOpsPort, host: config.opsHost });
  if (!['run', 'deliveries', 'export'].includes(sub)) throw new HubError('USAGE', usage);
  const runtime = await openWarnings(io.env, logger);
  try {
    if (sub === 'run') return await runCommand(runtime, rest, io);
    if (sub === 'deliveries') return await deliveriesCommand(runtime, rest, io);
    return await exportCommand(runtime, rest, io);
  } finally {
    await runtime.close();
  }
};

async function serve(
  io: CliIo,
  logger: ReturnType<typeof createLogger>,
  graceMs: number,
  opsAddress: { port: number; host: string },
): Promise<number> {
  const lifecycle = createLifecycle(logger, graceMs);
  const runtime = await openWarnings(io.env, logger);
  lifecycle.onShutdown('kafka and redis', () => runtime.close());
  const service = await startWarningsService(runtime, logger);
  lifecycle.onShutdown('workers', () => service.stop());
  const ops = await startOpsServer({
    port: opsAddress.port,
    host: opsAddress.host,
    metrics: createMetrics('warnings'),
    readiness: async () => {
      const redis = await runtime.redis.ping().then(
        () => 'ok',
        (e: unknown) => String(e),
      );
      return { ok: redis === 'ok', checks: { redis } };
    },
  });
  lifecycle.onShutdown('ops server', () => ops.close());
  const schedules = service.schedulers.map((s) => `${s.policyId} "${s.pattern}"`).join(', ');
  io.stdout.write(`warnings service running (health on :${ops.port}); schedules: ${schedules}\n`);
  const reason = await lifecycle.stopped;
  await lifecycle.shutdown(reason);
  return 0;
}

async function runCommand(runtime: WarningsRuntime, args: readonly string[], io: CliIo): Promise<number> {
  const options = parseArgs(args, ['--region', '--period'], ['--dry-run']);
  const dryRun = options.has('--dry-run');
  const summary = await runtime.run(required(options, '--region'), required(options, '--period'), { dryRun });
  if (dryRun) io.stdout.write(table(summary));
  io.stdout.write(`${describe(summary)}\n`);
  return 0;
}

export function describe(s: RunSummary): string {
  const problems = Object.entries(s.problems)
    .map(([code, n]) => `${n} ${code}`)
    .join(', ');
  const mode = `${s.dryRun ? ' (dry run: nothing sent)' : ''}${s.rerun ? ' (rerun)' : ''}`;
  const sent = s.dryRun ? s.rows.filter((r) => r.action !== 'UNCHANGED').length : s.published;
  return (
    `${s.policyId} ${s.period}${mode}: ${s.personYears} person-years, ${s.warned} warned; ` +
    `${s.dryRun ? 'would publish' : 'published'} ${sent} ` +
    `(${s.corrections} corrections, ${s.withdrawals} withdrawals), ${s.unchanged} unchanged` +
    (problems === '' ? '' : `; not computed: ${problems}`)
  );
}

/** The dry run's table: one line per warning it would send (or that stands unchanged). */
export function table(s: RunSummary): string {
  const header = ['action', 'person key', 'categories', 'reasons', 'self-pay (yuan)', 'settlements', 'routed to'];
  const rows = s.rows.map((r) => [
    r.action,
    r.personKey.slice(0, 16),
    r.record.categories.join(',') || '-',
    r.record.reasons.join(',') || '-',
    fenToYuan(r.record.selfPayFen),
    String(r.record.settlements.length),
    r.record.routedTo.join(','),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  return (
    [header, ...rows]
      .map((row) =>
        row
          .map((cell, i) => cell.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

async function deliveriesCommand(runtime: WarningsRuntime, args: readonly string[], io: CliIo): Promise<number> {
  const options = parseArgs(args, ['--retry'], ['--dead']);
  const queue = openDeliveryQueue(runtime);
  try {
    const retry = options.get('--retry');
    if (retry !== undefined) {
      const ids = retry === 'all' ? (await queue.getFailed()).map((job) => job.id ?? '') : [retry];
      if (ids.length === 0) io.stdout.write('no dead deliveries to retry\n');
      for (const id of ids) {
        // The same retry as the desk's button (retryDeadDelivery): a fresh round of attempts, with the same backoff.
        const { outcome, state } = await retryDeadDelivery(queue, id);
        if (outcome === 'NOT_FOUND') throw new HubError('USAGE', `no delivery ${id}`);
        if (outcome === 'NOT_DEAD')
          throw new HubError('USAGE', `delivery ${id} is not dead (${state ?? ''}): only dead deliveries are retried by hand`);
        io.stdout.write(`${id} queued again\n`);
      }
      return 0;
    }
    if (options.has('--dead')) {
      const dead = await queue.getFailed();
      for (const job of dead) {
        const periods = [...new Set(job.data.warnings.map((w) => `${w.policyId} ${w.period}`))].join(', ');
        const finished = new Date(job.finishedOn ?? 0).toISOString();
        io.stdout.write(
          `${job.id ?? ''}  ${job.data.agency}  ${job.data.warnings.length} warnings  ${periods}  ` +
            `attempts ${job.attemptsMade}  ${finished}  ${job.failedReason}\n`,
        );
      }
      const warnings = dead.reduce((n, job) => n + job.data.warnings.length, 0);
      io.stdout.write(
        `${dead.length} dead deliveries (${warnings} warnings)${dead.length > 0 ? '; retry with --retry JOB_ID or --retry all' : ''}\n`,
      );
      return 0;
    }
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
    io.stdout.write(
      `waiting ${counts.waiting ?? 0}  active ${counts.active ?? 0}  retrying ${counts.delayed ?? 0}  ` +
        `delivered ${counts.completed ?? 0}  dead ${counts.failed ?? 0}\n`,
    );
    return 0;
  } finally {
    await queue.close();
  }
}

async function exportCommand(runtime: WarningsRuntime, args: readonly string[], io: CliIo): Promise<number> {
  const options = parseArgs(args, ['--agency', '--region', '--period', '--format', '--encoding', '--out'], []);
  const agency = agencyOfConnector(required(options, '--agency'));
  if (agency === undefined) throw new HubError('USAGE', '--agency is civil-affairs or rural-revitalization');
  const format = (options.get('--format') ?? 'xlsx') as ExportFormat;
  const encoding = (options.get('--encoding') ?? 'utf-8') as ExportEncoding;
  if (!['xlsx', 'csv'].includes(format) || !['utf-8', 'gbk'].includes(encoding)) throw new HubError('USAGE', usage);
  const policy = runtime.policy(required(options, '--region'));
  const period = required(options, '--period');
  const dir = options.get('--out') ?? '.';
  mkdirSync(dir, { recursive: true });
  const records = await Promise.all(
    (await runtime.kafka.readAll(runtime.warningsCodec.topic)).map((m) => runtime.warningsCodec.decode(m.value ?? Buffer.alloc(0))),
  );
  const file = await writeExportFile({
    records,
    agency,
    policyId: policy.id,
    period,
    format,
    encoding,
    dir,
    idEncryptionKey: runtime.config.idEncryptionKey,
  });
  io.stdout.write(`${file.path}: ${file.rows} rows\n`);
  return 0;
}
