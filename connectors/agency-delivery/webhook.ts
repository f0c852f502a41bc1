import { Queue, Worker, type Job, type ConnectionOptions } from 'bullmq';
import type { AgencyCode, DeliveryReceipt, QuarterlyWarning } from '../../schemas';
import { HubError, describeError, type Logger } from '../../services/platform';
import { agencyView } from './agency-view';
import type { AgencyEndpoint } from './agencies';
import { deliveryIdHeader, sign, signatureHeader, timestampHeader } from './signature';

/**
 * Webhook delivery as BullMQ jobs: one job per warning and agency (job id `<warning id>.<agency>`,
 * so a warning seen twice is delivered once), retried with exponential backoff, and after the
 * configured attempts left in BullMQ's failed set: dead, listed and retried by hand with
 * `hub warnings deliveries`. Job data holds the warning as published: person key and sealed ID
 * number, never the clear one, which is opened in memory just before the POST.
 */
export interface DeliveryJobData {
  readonly agency: AgencyCode;
  readonly warning: QuarterlyWarning;
}

export const deliveryQueueName = 'warnings-deliveries';

export interface DeliverySettings {
  readonly connection: ConnectionOptions;
  /** BullMQ key prefix: keeps each hub's (and each test's) queues apart in a shared Redis. */
  readonly prefix: string;
  readonly attempts: number;
  readonly backoffMs: number;
  readonly timeoutMs: number;
  readonly concurrency: number;
  /** How long delivered jobs are kept, so that a warning seen again within it is not delivered again. */
  readonly keepDeliveredSeconds?: number;
}

export const deliveryJobId = (warningId: string, agency: AgencyCode): string => `${warningId}.${agency}`;

export function deliveryQueue(settings: DeliverySettings): Queue<DeliveryJobData> {
  return new Queue<DeliveryJobData>(deliveryQueueName, { connection: settings.connection, prefix: settings.prefix });
}

/** What became of a request to retry a dead delivery. */
export type RetryOutcome = 'QUEUED' | 'NOT_FOUND' | 'NOT_DEAD';

/**
 * Retries one dead delivery by its job id: a fresh round of attempts with the same backoff. Only a
 * dead (failed) job is retried: one still waiting or retrying on its own would be delivered twice.
 * The operator's `hub warnings deliveries --retry` and the desk's retry button both come here.
 */
export async function retryDeadDelivery(queue: Queue<DeliveryJobData>, jobId: string): Promise<{ outcome: RetryOutcome; state: string | null }> {
  const job = await queue.getJob(jobId);
  if (job === undefined) return { outcome: 'NOT_FOUND', state: null };
  if (!(await job.isFailed())) return { outcome: 'NOT_DEAD', state: await job.getState() };
  await job.retry('failed', { resetAttemptsMade: true });
  return { outcome: 'QUEUED', state: 'waiting' };
}

/** Enqueues a warning's deliveries to the agencies it is routed to that have a webhook. Returns how many. */
export async function enqueueDeliveries(
  queue: Queue<DeliveryJobData>, settings: DeliverySettings, endpoints: ReadonlyMap<AgencyCode, AgencyEndpoint>, warnings: readonly QuarterlyWarning[],
): Promise<number> {
  const jobs = warnings.flatMap((warning) => warning.routedTo
    .filter((agency) => endpoints.get(agency)?.webhook !== undefined)
    .map((agency) => ({
      name: 'deliver',
      data: { agency, warning },
      opts: {
        jobId: deliveryJobId(warning.eventId, agency),
        attempts: settings.attempts,
        backoff: { type: 'exponential', delay: settings.backoffMs },
        removeOnComplete: { age: settings.keepDeliveredSeconds ?? 90 * 86_400 },
        // Dead deliveries stay until an operator retries them.
        removeOnFail: false,
      },
    })));
  if (jobs.length > 0) await queue.addBulk(jobs);
  return jobs.length;
}

/** Posts one delivery; a non-2xx answer or a timeout throws, and BullMQ retries. */
export async function postWarning(endpoint: AgencyEndpoint, job: { id: string; data: DeliveryJobData }, idEncryptionKey: Buffer, timeoutMs: number, now = Date.now()): Promise<number> {
  const webhook = endpoint.webhook;
  if (webhook === undefined) throw new HubError('CONFIG_INVALID', `${endpoint.connector} has no webhook configured`);
  const body = JSON.stringify({ deliveryId: job.id, agency: job.data.agency, warning: agencyView(job.data.warning, idEncryptionKey) });
  const timestamp = Math.floor(now / 1000);
  let response: Response;
  try {
    response = await fetch(webhook.url, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        [timestampHeader]: String(timestamp),
        [signatureHeader]: sign(webhook.secret, timestamp, body),
        [deliveryIdHeader]: job.id,
      },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new HubError('UNAVAILABLE', `${endpoint.connector} webhook did not answer: ${describeError(error)}`);
  }
  await response.arrayBuffer().catch(() => undefined);
  if (response.status < 200 || response.status > 299) throw new HubError('UNAVAILABLE', `${endpoint.connector} webhook answered ${response.status}`);
  return response.status;
}

/** A delivery receipt the hub writes itself: delivered, or dead after its attempts. */
export function deliveryReceipt(job: Job<DeliveryJobData>, status: 'DELIVERED' | 'FAILED', detail: string | null, now: number): DeliveryReceipt {
  const attempt = status === 'DELIVERED' ? job.attemptsMade + 1 : job.attemptsMade;
  return {
    eventId: `rcpt-${job.id ?? ''}-${status}-${attempt}`, source: 'hub:agency-delivery', occurredAt: now, recordedAt: now,
    warningId: job.data.warning.eventId, agency: job.data.agency, channel: 'WEBHOOK', status, attempt, detail,
    outcome: null, assistanceKind: null, assistanceFen: null, certifiedCategory: null, reason: null, agencyRecordId: null,
    personKey: job.data.warning.personKey, period: job.data.warning.period,
  };
}

/** The worker that posts deliveries; `onReceipt` publishes what happened. */
export function deliveryWorker(options: {
  settings: DeliverySettings; endpoints: ReadonlyMap<AgencyCode, AgencyEndpoint>; idEncryptionKey: Buffer; logger: Logger;
  onReceipt: (receipt: DeliveryReceipt) => Promise<void>;
}): Worker<DeliveryJobData> {
  const { settings, endpoints, logger } = options;
  const worker = new Worker<DeliveryJobData>(deliveryQueueName, async (job) => {
    const endpoint = endpoints.get(job.data.agency);
    if (endpoint === undefined) throw new HubError('CONFIG_INVALID', `no endpoint for ${job.data.agency}`);
    const status = await postWarning(endpoint, { id: job.id ?? '', data: job.data }, options.idEncryptionKey, settings.timeoutMs);
    await options.onReceipt(deliveryReceipt(job, 'DELIVERED', `HTTP ${status}`, Date.now()));
    return status;
  }, { connection: settings.connection, prefix: settings.prefix, concurrency: settings.concurrency });
  worker.on('failed', (job, error) => {
    if (job === undefined) return;
    const dead = job.attemptsMade >= (job.opts.attempts ?? 1);
    logger.warn({ job: job.id, agency: job.data.agency, attempt: job.attemptsMade, dead, reason: error.message }, dead ? 'delivery dead' : 'delivery failed; will retry');
    if (dead) void options.onReceipt(deliveryReceipt(job, 'FAILED', error.message, Date.now())).catch((e: unknown) => { logger.error({ err: e }, 'cannot publish a dead delivery receipt'); });
  });
  worker.on('error', (error) => { logger.error({ err: error }, 'delivery worker error'); });
  return worker;
}
