import { createHash } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Queue, Worker, type Job, type ConnectionOptions } from 'bullmq';
import type { AgencyCode, DeliveryReceipt, QuarterlyWarning } from '../../schemas';
import { HubError, describeError, type Logger } from '../../services/platform';
import { agencyView } from './agency-view';
import type { AgencyEndpoint } from './agencies';
import { deliveryIdHeader, sign, signatureHeader, timestampHeader } from './signature';

/**
 * Webhook delivery as BullMQ jobs. A job is one signed POST to one agency carrying up to
 * `batchSize` warnings (`{"deliveryId", "agency", "warnings": [...]}`): one job per warning held
 * delivery to BullMQ's and HTTP's per-request costs (a few hundred a second). A job is retried
 * with exponential backoff, and after the configured attempts left in BullMQ's failed set: dead,
 * listed and retried by hand with `hub warnings deliveries`. Job data holds the warnings as
 * published: person key and sealed ID number, never the clear one, which is opened in memory just
 * before the POST.
 *
 * Job ids: a lone warning's job is `<warning id>.<agency>`; a batch's is `batch.<agency>.<hash of
 * its warning ids>`, and a hash beside the queue maps each `<warning id>.<agency>` to the job that
 * carries it, so that a warning seen twice is not enqueued twice and a retry by warning (the desk's
 * button) finds its job.
 */
export interface DeliveryJobData {
  readonly agency: AgencyCode;
  readonly warnings: readonly QuarterlyWarning[];
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
  /** Most warnings per request (default 1). */
  readonly batchSize?: number;
  /** How long delivered jobs are kept, so that a warning seen again within it is not delivered again. */
  readonly keepDeliveredSeconds?: number;
}

export const deliveryJobId = (warningId: string, agency: AgencyCode): string => `${warningId}.${agency}`;

/** The hash (beside BullMQ's keys) of `<warning id>.<agency>` → the id of the job carrying it. */
const carriersKey = (queue: Queue): string => `${queue.opts.prefix ?? 'bull'}:${deliveryQueueName}:carriers`;

export function deliveryQueue(settings: DeliverySettings): Queue<DeliveryJobData> {
  return new Queue<DeliveryJobData>(deliveryQueueName, { connection: settings.connection, prefix: settings.prefix });
}

/** What became of a request to retry a dead delivery. */
export type RetryOutcome = 'QUEUED' | 'NOT_FOUND' | 'NOT_DEAD';

/**
 * Retries one dead delivery by its job id, or by `<warning id>.<agency>` of a warning it carries:
 * a fresh round of attempts with the same backoff. Only a dead (failed) job is retried: one still
 * waiting or retrying on its own would be delivered twice. The operator's `hub warnings deliveries
 * --retry` and the desk's retry button both come here.
 */
export async function retryDeadDelivery(
  queue: Queue<DeliveryJobData>,
  jobId: string,
): Promise<{ outcome: RetryOutcome; state: string | null }> {
  let job = await queue.getJob(jobId);
  if (job === undefined) {
    const carrier = await (await queue.client).hget(carriersKey(queue), jobId);
    if (carrier !== null) job = await queue.getJob(carrier);
  }
  if (job === undefined) return { outcome: 'NOT_FOUND', state: null };
  if (!(await job.isFailed())) return { outcome: 'NOT_DEAD', state: await job.getState() };
  await job.retry('failed', { resetAttemptsMade: true });
  return { outcome: 'QUEUED', state: 'waiting' };
}

/**
 * Enqueues warnings' deliveries to the agencies they are routed to that have a webhook, in jobs of
 * up to `batchSize` warnings per agency. A warning already carried by a job (seen again on a replay)
 * is left out. Returns how many warning deliveries were enqueued.
 */
export async function enqueueDeliveries(
  queue: Queue<DeliveryJobData>,
  settings: DeliverySettings,
  endpoints: ReadonlyMap<AgencyCode, AgencyEndpoint>,
  warnings: readonly QuarterlyWarning[],
): Promise<number> {
  const wanted: { agency: AgencyCode; warning: QuarterlyWarning }[] = [];
  for (const warning of warnings) {
    for (const agency of warning.routedTo) if (endpoints.get(agency)?.webhook !== undefined) wanted.push({ agency, warning });
  }
  if (wanted.length === 0) return 0;
  const redis = await queue.client;
  const ids = wanted.map((w) => deliveryJobId(w.warning.eventId, w.agency)) as [string, ...string[]];
  const carried = await redis.hmget(carriersKey(queue), ...ids);
  const byAgency = new Map<AgencyCode, QuarterlyWarning[]>();
  const seen = new Set<string>();
  wanted.forEach(({ agency, warning }, i) => {
    const id = deliveryJobId(warning.eventId, agency);
    if (carried[i] !== null || seen.has(id)) return;
    seen.add(id);
    byAgency.set(agency, [...(byAgency.get(agency) ?? []), warning]);
  });
  const size = Math.max(1, settings.batchSize ?? 1);
  const jobs: { name: string; data: DeliveryJobData; opts: Record<string, unknown> & { jobId: string } }[] = [];
  for (const [agency, list] of byAgency) {
    for (let from = 0; from < list.length; from += size) {
      const batch = list.slice(from, from + size);
      const [only] = batch;
      const jobId =
        batch.length === 1 && only !== undefined
          ? deliveryJobId(only.eventId, agency)
          : `batch.${agency}.${createHash('sha256')
              .update(batch.map((w) => w.eventId).join('\u0000'))
              .digest('hex')
              .slice(0, 32)}`;
      jobs.push({
        name: 'deliver',
        data: { agency, warnings: batch },
        opts: {
          jobId,
          attempts: settings.attempts,
          backoff: { type: 'exponential', delay: settings.backoffMs },
          removeOnComplete: { age: settings.keepDeliveredSeconds ?? 90 * 86_400 },
          // Dead deliveries stay until an operator retries them.
          removeOnFail: false,
        },
      });
    }
  }
  if (jobs.length === 0) return 0;
  await queue.addBulk(jobs);
  // Recorded after the jobs exist: a crash in between enqueues the same batches again on the replay
  // (same ids, so BullMQ keeps one of each) rather than losing them.
  const carriers: Record<string, string> = {};
  for (const job of jobs)
    for (const warning of job.data.warnings) carriers[deliveryJobId(warning.eventId, job.data.agency)] = job.opts.jobId;
  await redis.hset(carriersKey(queue), carriers);
  return Object.keys(carriers).length;
}

/** Keep-alive agents: one connection per request in flight, reused, instead of a handshake per request. */
const agents = { http: new HttpAgent({ keepAlive: true, maxSockets: 256 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 256 }) };

/** One POST; resolves with the status once the answer is read, rejects on no answer within the timeout. */
function post(url: URL, headers: Record<string, string>, body: Buffer, timeoutMs: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const secure = url.protocol === 'https:';
    const request = (secure ? httpsRequest : httpRequest)(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(body.length) },
        agent: secure ? agents.https : agents.http,
        timeout: timeoutMs,
      },
      (response: IncomingMessage) => {
        response.resume();
        response.on('end', () => {
          resolve(response.statusCode ?? 0);
        });
        response.on('error', reject);
      },
    );
    request.on('timeout', () => {
      request.destroy(new Error(`no answer within ${timeoutMs} ms`));
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** Posts one delivery (its warnings in one request); a non-2xx answer or a timeout throws, and BullMQ retries. */
export async function postWarnings(
  endpoint: AgencyEndpoint,
  job: { id: string; data: DeliveryJobData },
  idEncryptionKey: Buffer,
  timeoutMs: number,
  now = Date.now(),
): Promise<number> {
  const webhook = endpoint.webhook;
  if (webhook === undefined) throw new HubError('CONFIG_INVALID', `${endpoint.connector} has no webhook configured`);
  const body = Buffer.from(
    JSON.stringify({ deliveryId: job.id, agency: job.data.agency, warnings: job.data.warnings.map((w) => agencyView(w, idEncryptionKey)) }),
    'utf8',
  );
  const timestamp = Math.floor(now / 1000);
  let status: number;
  try {
    status = await post(
      new URL(webhook.url),
      {
        'content-type': 'application/json; charset=utf-8',
        [timestampHeader]: String(timestamp),
        [signatureHeader]: sign(webhook.secret, timestamp, body),
        [deliveryIdHeader]: job.id,
      },
      body,
      timeoutMs,
    );
  } catch (error) {
    throw new HubError('UNAVAILABLE', `${endpoint.connector} webhook did not answer: ${describeError(error)}`);
  }
  if (status < 200 || status > 299) throw new HubError('UNAVAILABLE', `${endpoint.connector} webhook answered ${status}`);
  return status;
}

/** The delivery receipts the hub writes itself, one per warning of a job: delivered, or dead after its attempts. */
export function deliveryReceipts(
  job: Job<DeliveryJobData>,
  status: 'DELIVERED' | 'FAILED',
  detail: string | null,
  now: number,
): DeliveryReceipt[] {
  const attempt = status === 'DELIVERED' ? job.attemptsMade + 1 : job.attemptsMade;
  return job.data.warnings.map((warning) => ({
    eventId: `rcpt-${deliveryJobId(warning.eventId, job.data.agency)}-${status}-${attempt}`,
    source: 'hub:agency-delivery',
    occurredAt: now,
    recordedAt: now,
    warningId: warning.eventId,
    agency: job.data.agency,
    channel: 'WEBHOOK',
    status,
    attempt,
    detail,
    outcome: null,
    assistanceKind: null,
    assistanceFen: null,
    certifiedCategory: null,
    reason: null,
    agencyRecordId: null,
    personKey: warning.personKey,
    period: warning.period,
  }));
}

/** The worker that posts deliveries; `onReceipt` publishes what happened to each warning. */
export function deliveryWorker(options: {
  settings: DeliverySettings;
  endpoints: ReadonlyMap<AgencyCode, AgencyEndpoint>;
  idEncryptionKey: Buffer;
  logger: Logger;
  onReceipt: (receipt: DeliveryReceipt) => Promise<void>;
}): Worker<DeliveryJobData> {
  const { settings, endpoints, logger } = options;
  const worker = new Worker<DeliveryJobData>(
    deliveryQueueName,
    async (job) => {
      const endpoint = endpoints.get(job.data.agency);
      if (endpoint === undefined) throw new HubError('CONFIG_INVALID', `no endpoint for ${job.data.agency}`);
      const status = await postWarnings(endpoint, { id: job.id ?? '', data: job.data }, options.idEncryptionKey, settings.timeoutMs);
      await Promise.all(deliveryReceipts(job, 'DELIVERED', `HTTP ${status}`, Date.now()).map((receipt) => options.onReceipt(receipt)));
      return status;
    },
    { connection: settings.connection, prefix: settings.prefix, concurrency: settings.concurrency },
  );
  worker.on('failed', (job, error) => {
    if (job === undefined) return;
    const dead = job.attemptsMade >= (job.opts.attempts ?? 1);
    logger.warn(
      { job: job.id, agency: job.data.agency, warnings: job.data.warnings.length, attempt: job.attemptsMade, dead, reason: error.message },
      dead ? 'delivery dead' : 'delivery failed; will retry',
    );
    if (dead) {
      void Promise.all(deliveryReceipts(job, 'FAILED', error.message, Date.now()).map((receipt) => options.onReceipt(receipt))).catch(
        (e: unknown) => {
          logger.error({ err: e }, 'cannot publish a dead delivery receipt');
        },
      );
    }
  });
  worker.on('error', (error) => {
    logger.error({ err: error }, 'delivery worker error');
  });
  return worker;
}
