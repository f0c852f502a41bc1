import { HubError } from '../../services/platform';
import { startTypeScriptWorker } from '../../services/platform/runtime';
import type { IntakeItem, IntakeOffload, PreparedBatch, PreparedFact } from './pipeline';
import { encodeFailure } from './pipeline';
import type { PrepareRequest, PrepareResponse, PrepareWorkerData } from './prepare-worker';

/**
 * The main thread's end of the prepare worker: hands it batches of row cells and gets each back
 * prepared and encoded (see prepare-worker.ts), in the order sent.
 */
export interface PrepareWorker {
  prepare(rows: readonly (readonly string[])[]): Promise<PreparedBatch>;
  close(): Promise<void>;
}

/**
 * Starts a prepare worker for a file import, or answers undefined when the intake's latest schema
 * needs the registry's full serializer or cannot be had (the import then prepares on the main thread
 * through `ingest`).
 */
export async function startPrepareWorker(
  offload: IntakeOffload,
  fields: readonly (string | undefined)[],
  rawFormat: IntakeItem['rawFormat'],
  channel: string,
): Promise<PrepareWorker | undefined> {
  // A registry that cannot answer now is left to the main-thread path, whose codec reports it as before.
  const agencyModule = offload.agency.module;
  if (agencyModule === undefined) return undefined;
  const schema = await offload.writerSchema().catch(() => null);
  if (schema === null) return undefined;
  const workerData: PrepareWorkerData = {
    agencyId: offload.agency.id,
    agencyModule,
    personKeySecret: offload.secrets.personKeySecret,
    idEncryptionKey: offload.secrets.idEncryptionKey,
    schemaId: schema.id,
    schema: schema.schema,
    fields: Array.from(fields, (field) => field ?? null),
    rawFormat,
    channel,
  };
  const worker = startTypeScriptWorker(new URL('./prepare-worker.ts', import.meta.url), { workerData });
  const pending = new Map<number, { resolve: (batch: PreparedBatch) => void; reject: (error: unknown) => void }>();
  let nextId = 0;
  let broken: Error | undefined;
  const fail = (error: Error): void => {
    broken ??= new HubError('PROCESSING_FAILED', `the import's prepare worker failed: ${error.message}`, { cause: error });
    for (const waiter of pending.values()) waiter.reject(broken);
    pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`it exited (code ${code})`)));
  worker.on('message', (response: PrepareResponse) => {
    const waiter = pending.get(response.id);
    if (waiter === undefined) return;
    pending.delete(response.id);
    if (response.failure !== undefined) waiter.reject(new HubError('PROCESSING_FAILED', `cannot prepare a batch: ${response.failure}`));
    else waiter.resolve(toBatch(response, offload.topic));
  });

  return {
    prepare(rows) {
      if (broken !== undefined) return Promise.reject(broken);
      const id = nextId;
      nextId += 1;
      return new Promise<PreparedBatch>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        const request: PrepareRequest = { id, rows, recordedAt: offload.now() };
        worker.postMessage(request);
      });
    },
    async close() {
      worker.removeAllListeners('exit');
      broken ??= new HubError('PROCESSING_FAILED', "the import's prepare worker was closed");
      for (const waiter of pending.values()) waiter.reject(broken);
      pending.clear();
      await worker.terminate();
    },
  };
}

function toBatch(response: PrepareResponse, topic: string): PreparedBatch {
  const { indexes, eventIds, personKeys, contentHashes, values, ends } = response;
  const failed = new Map(response.encodeErrors);
  const facts: PreparedFact[] = new Array<PreparedFact>(indexes.length);
  let start = 0;
  for (let k = 0; k < indexes.length; k += 1) {
    const end = ends[k] ?? start;
    const problem = failed.get(k);
    const source = response.sources[k];
    facts[k] = {
      index: indexes[k] ?? 0,
      eventId: eventIds[k] ?? '',
      personKey: personKeys[k] ?? '',
      contentHash: contentHashes[k] ?? '',
      ...(source === undefined || source === null ? {} : { source }),
      ...(problem === undefined ? { value: Buffer.from(values, start, end - start) } : { encodeError: encodeFailure(topic, problem) }),
    };
    start = end;
  }
  // Buffers arrive as plain Uint8Arrays: the dead-letter writer wants Buffers.
  const letters = response.letters.map((letter) => ({
    ...letter,
    raw: Buffer.from(letter.raw.buffer, letter.raw.byteOffset, letter.raw.byteLength),
  }));
  return { rejected: response.rejected, facts, letters };
}
