import { Queue, Worker, type Job } from 'bullmq';
import type { Logger } from '../platform';
import { duePeriods, schedulePattern } from './periods';
import type { WarningsRuntime } from './runtime';
import { runKeys, type RunSummary } from './warning-run';

/**
 * The schedule of warning runs: one BullMQ job scheduler per region (policy), upserted at every
 * start-up (so several instances and restarts converge on one schedule per region), firing in
 * Asia/Shanghai time after each period closed plus the grace. A firing runs every period of the
 * region's year that is due and has not run yet: each region-period runs once, ever, whichever
 * instance takes the job; `hub warnings run` reruns one on purpose.
 */
export const runQueueName = 'warnings-runs';

export interface RunJobData {
  readonly policyId: string;
}

export const schedulerId = (policyId: string): string => `region.${policyId}`;

export function runQueue(runtime: WarningsRuntime): Queue<RunJobData> {
  return new Queue<RunJobData>(runQueueName, { connection: runtime.bullConnection, prefix: runtime.delivery.prefix });
}

/** The regions to schedule: HUB_WARNINGS_REGIONS, or every policy. */
export function scheduledPolicies(runtime: WarningsRuntime): string[] {
  const wanted = runtime.config.warningsRegions;
  if (wanted === '*') return runtime.policies.map((p) => p.id);
  return wanted.split(',').map((id) => runtime.policy(id.trim()).id);
}

/** Registers (or updates) one job scheduler per region; idempotent. */
export async function registerSchedulers(
  runtime: WarningsRuntime,
  queue: Queue<RunJobData>,
): Promise<{ policyId: string; pattern: string }[]> {
  const registered: { policyId: string; pattern: string }[] = [];
  for (const policyId of scheduledPolicies(runtime)) {
    const pattern = schedulePattern(runtime.policy(policyId).warning.cadence, runtime.config.warningsGraceDays);
    await queue.upsertJobScheduler(
      schedulerId(policyId),
      { pattern, tz: 'Asia/Shanghai' },
      {
        name: 'run',
        data: { policyId },
        opts: { attempts: 5, backoff: { type: 'exponential', delay: 60_000 }, removeOnComplete: 100, removeOnFail: 100 },
      },
    );
    registered.push({ policyId, pattern });
  }
  return registered;
}

/**
 * What a firing does: every due period of the region that has no done marker yet, oldest first.
 * A run interrupted by a crash left no marker; the job is retried (BullMQ moves a stalled job back)
 * and resumes: what it published before is recorded and not published again.
 */
export async function runDue(runtime: WarningsRuntime, policyId: string, now: number, logger: Logger): Promise<RunSummary[]> {
  const policy = runtime.policy(policyId);
  const keys = runKeys(runtime.namespace);
  const done: RunSummary[] = [];
  for (const bounds of duePeriods(policy, now, runtime.config.warningsGraceDays)) {
    if ((await runtime.redis.exists(keys.done(policy.id, bounds.period))) === 1) continue;
    logger.info({ policyId, period: bounds.period }, 'warning run due');
    done.push(await runtime.run(policy.id, bounds.period, { dryRun: false }));
  }
  return done;
}

export function runWorker(runtime: WarningsRuntime, logger: Logger, now: () => number = Date.now): Worker<RunJobData> {
  const worker = new Worker<RunJobData>(
    runQueueName,
    async (job: Job<RunJobData>) => {
      const summaries = await runDue(runtime, job.data.policyId, now(), logger);
      return summaries.map((s) => ({ period: s.period, warned: s.warned, published: s.published }));
    },
    {
      connection: runtime.bullConnection,
      prefix: runtime.delivery.prefix,
      concurrency: 1,
      // A run of a large region takes minutes: the lock is renewed while it runs; a worker that died
      // is noticed within a minute and its job taken over.
      lockDuration: 60_000,
      stalledInterval: 30_000,
    },
  );
  worker.on('error', (error) => {
    logger.error({ err: error }, 'warning run worker error');
  });
  worker.on('failed', (job, error) => {
    logger.error({ job: job?.id, policyId: job?.data.policyId, reason: error.message }, 'warning run failed; BullMQ retries it');
  });
  return worker;
}
