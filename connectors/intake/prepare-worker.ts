import { parentPort, workerData } from 'node:worker_threads';
import avro from 'avsc';
import { HubError } from '../../services/platform';
import { avroOptions } from '../../schemas';
import type { DeadLetterInput } from '../../services/kafka';
import type { AgencyDefinition, AgencyId } from './agency';
import { loadFileMapping, rowToRaw } from './file-mapping';
import { prepareItems, type IntakeItem, type PreparedRejection } from './prepare';

/**
 * The prepare stage of a file import, off the main thread: rows -> raw records (the agency's
 * mapping) -> validated, pseudonymised, hashed records -> Avro in the Confluent wire format. The main
 * thread keeps what is ordered and stateful (duplicate check, send, remembering, dead letters).
 * The wire bytes are written as services/registry/codec.ts's fast encoder writes them: 0x00, the
 * schema id (4 bytes big-endian), then the avsc type's encoding, the type built from the registered
 * schema text with the same options.
 */
export interface PrepareWorkerData {
  readonly agencyId: AgencyId;
  /** The module exporting the agency's definition (AgencyDefinition.module); agency modules stay lean. */
  readonly agencyModule: string;
  readonly personKeySecret: Uint8Array;
  readonly idEncryptionKey: Uint8Array;
  readonly schemaId: number;
  readonly schema: string;
  /** Per column: the canonical field, or null for a column not read. */
  readonly fields: readonly (string | null)[];
  readonly rawFormat: IntakeItem['rawFormat'];
  readonly channel: string;
}

export interface PrepareRequest {
  readonly id: number;
  readonly rows: readonly (readonly string[])[];
  readonly recordedAt: number;
}

export interface PrepareResponse {
  readonly id: number;
  readonly rejected: readonly PreparedRejection[];
  readonly letters: readonly DeadLetterInput[];
  /** Per valid record: its item index, ids and hash, and where its bytes end in `values`. */
  readonly indexes: Int32Array;
  readonly eventIds: readonly string[];
  readonly personKeys: readonly string[];
  readonly contentHashes: readonly string[];
  /** Per valid record of a versioned agency: its record id, version and sealed ID number; empty otherwise. */
  readonly sources: readonly ({ recordId: string; version: number; idCipher: string } | null)[];
  readonly values: ArrayBuffer;
  readonly ends: Uint32Array;
  /** [position among the valid records, message] for records that do not fit the schema. */
  readonly encodeErrors: readonly (readonly [number, string])[];
  /** Set instead of the above when the batch could not be prepared at all. */
  readonly failure?: string;
}

const data = workerData as PrepareWorkerData;
const port = parentPort;
if (port === null) throw new Error('prepare-worker.ts runs as a worker thread');
const agency = await loadAgency(data.agencyModule, data.agencyId);
const secrets = { personKeySecret: Buffer.from(data.personKeySecret), idEncryptionKey: Buffer.from(data.idEncryptionKey) };
const mapping = loadFileMapping(agency);
const fields = data.fields.map((field) => field ?? undefined);
const type = avro.Type.forSchema(JSON.parse(data.schema) as avro.Schema, avroOptions());

function prepare(request: PrepareRequest): { response: PrepareResponse; transfer: ArrayBuffer[] } {
  const items: IntakeItem[] = request.rows.map((cells) => ({
    raw: rowToRaw(mapping, fields, cells),
    rawFormat: data.rawFormat,
    position: '',
  }));
  const { rejected, facts, letters } = prepareItems(agency, secrets, items, data.channel, request.recordedAt);
  const count = facts.length;
  const indexes = new Int32Array(count);
  const ends = new Uint32Array(count);
  const eventIds: string[] = new Array<string>(count);
  const personKeys: string[] = new Array<string>(count);
  const contentHashes: string[] = new Array<string>(count);
  const sources: ({ recordId: string; version: number; idCipher: string } | null)[] = new Array<{
    recordId: string;
    version: number;
    idCipher: string;
  } | null>(count).fill(null);
  const encodeErrors: [number, string][] = [];
  let out = Buffer.allocUnsafeSlow(Math.max(64 * 1024, count * 512));
  let position = 0;
  for (let k = 0; k < count; k += 1) {
    const fact = facts[k];
    if (fact === undefined) continue;
    indexes[k] = fact.index;
    eventIds[k] = fact.eventId;
    personKeys[k] = fact.personKey;
    contentHashes[k] = fact.contentHash;
    if (fact.source !== undefined) sources[k] = fact.source;
    let problem: string | undefined;
    // As the codec does: a record that does not fit the schema is refused, not half-written.
    const valid = type.isValid(fact.record, {
      errorHook: (path, _value, wanted) => {
        problem ??= `invalid value at ${path.join('.') || '(record)'}, expected ${wanted.typeName}`;
      },
    });
    if (!valid) {
      encodeErrors.push([k, problem ?? 'the record does not match the schema']);
      ends[k] = position;
      continue;
    }
    for (;;) {
      if (out.length - position >= 5) {
        out[position] = 0;
        out.writeUInt32BE(data.schemaId, position + 1);
        const end = type.encode(fact.record, out, position + 5);
        if (end > 0) {
          position = end;
          break;
        }
      }
      const grown = Buffer.allocUnsafeSlow(out.length * 2);
      out.copy(grown, 0, 0, position);
      out = grown;
    }
    ends[k] = position;
  }
  const values = out.buffer;
  return {
    response: { id: request.id, rejected, letters, indexes, eventIds, personKeys, contentHashes, sources, values, ends, encodeErrors },
    transfer: [values],
  };
}

port.on('message', (request: PrepareRequest) => {
  try {
    const { response, transfer } = prepare(request);
    port.postMessage(response, transfer);
  } catch (error) {
    port.postMessage({ id: request.id, failure: error instanceof Error ? error.message : String(error) });
  }
});

async function loadAgency(module: string, id: AgencyId): Promise<AgencyDefinition> {
  const exports = (await import(module)) as Record<string, unknown>;
  const found = Object.values(exports).find(
    (value): value is AgencyDefinition => typeof value === 'object' && value !== null && (value as { id?: unknown }).id === id,
  );
  if (found === undefined) throw new HubError('PROCESSING_FAILED', `${module} exports no agency definition ${id}`);
  return found;
}
