import { parentPort, workerData } from 'node:worker_threads';
import { Redis } from 'ioredis';
import { topicSpec } from '../../schemas';
import { HubError, isHubError, loadConfig, pack, type Environment, type ErrorCode } from '../platform';
import { listPolicies, loadPolicy } from '../policy';
import { createLeanRegistryClient, createTopicCodec } from '../registry';
import { filePolicyResolver } from '../rules';
import { toPersonYears } from './person-years';
import { lookupSealedIds } from './sealed-ids';
import { computePage, type PageCounts } from './warning-page';

/**
 * A worker thread of a warning run (see warning-workers.ts): reads a page of people from the rules
 * state, judges them and prepares the page's records, encoded, with what records them once sent.
 * The run's thread publishes the pages in order. Each worker has its own Redis connection, registry
 * client and the shipped policies; it writes nothing.
 */
export interface WarningWorkerData {
  readonly env: Environment;
  /** The warnings service's Redis namespace (the id directory's key). */
  readonly namespace: string;
}

/** What a page is about: one region-period of a run. */
export interface PageJob {
  readonly policyId: string;
  readonly period: string;
  readonly rerun: boolean;
  readonly now: number;
  readonly sentKey: string;
}

export type ToWarningWorker =
  { readonly kind: 'page'; readonly id: number; readonly job: PageJob; readonly stateKeys: readonly string[] } | { readonly kind: 'close' };

export type FromWarningWorker =
  | { readonly kind: 'ready' }
  | {
      readonly kind: 'done';
      readonly id: number;
      readonly keys: readonly string[];
      readonly values: Uint8Array;
      readonly ends: Int32Array;
      readonly sentPairs: readonly string[];
      readonly indexPairs: readonly string[];
      readonly counts: PageCounts;
    }
  | { readonly kind: 'failed'; readonly id: number; readonly message: string; readonly code?: ErrorCode };

function runWorker(): void {
  const port = parentPort;
  if (port === null) return;
  const data = workerData as WarningWorkerData;
  const config = loadConfig(data.env, ['topicPrefix', 'schemaRegistryUrl', 'redisUrl']);
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 5 });
  const codec = createTopicCodec(
    createLeanRegistryClient(config.schemaRegistryUrl),
    'quarterlyWarnings',
    topicSpec('quarterlyWarnings', config.topicPrefix).name,
  );
  const policies = listPolicies().map(loadPolicy);
  const resolver = filePolicyResolver(policies);
  const send = (message: FromWarningWorker, transfer: ArrayBuffer[] = []): void => {
    port.postMessage(message, transfer);
  };

  const computeJob = async (job: PageJob, stateKeys: readonly string[]) => {
    const policy = policies.find((p) => p.id === job.policyId);
    if (policy === undefined) throw new HubError('POLICY_NOT_FOUND', `no policy ${job.policyId} among the shipped ones`);
    const values = stateKeys.length === 0 ? [] : await redis.mgetBuffer(stateKeys as string[]);
    return computePage(
      {
        redis,
        sentKey: job.sentKey,
        encode: (record) => codec.encode(record),
        lookup: (personKeys) => lookupSealedIds(redis, data.namespace, personKeys),
      },
      { policy, period: job.period, rerun: job.rerun, dryRun: false, now: job.now },
      toPersonYears(stateKeys, values, policy, resolver),
    );
  };

  port.on('message', (message: ToWarningWorker) => {
    if (message.kind === 'close') {
      redis.disconnect();
      process.exit(0);
    }
    computeJob(message.job, message.stateKeys).then(
      (page) => {
        const packed = pack(page.messages.map((m) => m.value));
        send(
          {
            kind: 'done',
            id: message.id,
            keys: page.messages.map((m) => m.key),
            values: packed.values,
            ends: packed.ends,
            sentPairs: page.sentPairs,
            indexPairs: page.indexPairs,
            counts: page.counts,
          },
          [packed.values.buffer as ArrayBuffer],
        );
      },
      (error: unknown) => {
        send({
          kind: 'failed',
          id: message.id,
          message: error instanceof Error ? error.message : String(error),
          ...(isHubError(error) ? { code: error.code } : {}),
        });
      },
    );
  });
  redis.ping().then(
    () => {
      send({ kind: 'ready' });
    },
    (error: unknown) => {
      throw error;
    },
  );
}

runWorker();
