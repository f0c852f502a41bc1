import { createReadStream } from 'node:fs';
import type { AgencyDefinition, FileFormat } from '../../connectors/intake';
import { loadFileMapping, resolveHeader, rowToRaw } from '../../connectors/intake';
import { readFileRows } from '../../connectors/intake/runtime';
import { HubError, describeError } from '../platform';

/**
 * An agency's system pushing its records to its connector (`POST /v1/records` with its API key),
 * as JSON objects with the connector's field names, a request per `batchSize` records. The demo's
 * agencies keep their year in the file the simulator wrote; this reads it and pushes the rows, each
 * mapped to the field names the connector takes (the same spellings a file import accepts).
 */
export interface PushSummary {
  readonly records: number;
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: number;
  readonly requests: number;
}

export interface PushOptions {
  readonly agency: AgencyDefinition;
  readonly file: string;
  readonly format: FileFormat;
  readonly connectorUrl: string;
  readonly apiKey: string;
  readonly batchSize?: number;
}

interface RecordsAnswer {
  accepted: number;
  duplicates: number;
  rejected: number;
}

/** The header is the first row that names every field the agency requires (title rows may sit above it). */
const headerSearchRows = 10;

export async function pushFile(options: PushOptions): Promise<PushSummary> {
  const mapping = loadFileMapping(options.agency);
  const batchSize = options.batchSize ?? 1_000;
  const totals = { records: 0, accepted: 0, duplicates: 0, rejected: 0, requests: 0 };
  let fields: readonly (string | undefined)[] | undefined;
  let batch: Record<string, string>[] = [];
  let rowsSeen = 0;

  const send = async (): Promise<void> => {
    if (batch.length === 0) return;
    const records = batch;
    batch = [];
    let response: Response;
    try {
      response = await fetch(new URL('/v1/records', options.connectorUrl), {
        method: 'POST',
        body: JSON.stringify({ records }),
        headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': 'application/json' },
        signal: AbortSignal.timeout(120_000),
      });
    } catch (error) {
      throw new HubError('UNAVAILABLE', `${options.agency.id} connector did not answer: ${describeError(error)}`, { cause: error });
    }
    const answer = (await response.json().catch(() => ({}))) as Partial<RecordsAnswer> & { error?: { message?: string }; message?: string };
    // 422: every record of the request was refused (each by position); still an answer with counts.
    if (!response.ok && response.status !== 422) {
      throw new HubError(
        'UNAVAILABLE',
        `${options.agency.id} connector answered ${response.status}: ${answer.error?.message ?? answer.message ?? ''}`,
      );
    }
    totals.records += records.length;
    totals.accepted += answer.accepted ?? 0;
    totals.duplicates += answer.duplicates ?? 0;
    totals.rejected += answer.rejected ?? (response.status === 422 ? records.length : 0);
    totals.requests += 1;
  };

  for await (const row of readFileRows(createReadStream(options.file), options.format, 'auto')) {
    rowsSeen += 1;
    if (fields === undefined) {
      const resolved = resolveHeader(mapping, row.cells);
      if (resolved.missing.length === 0) {
        fields = resolved.header.fields;
        continue;
      }
      if (rowsSeen >= headerSearchRows)
        throw new HubError('INPUT_INVALID', `${options.file}: no header row naming the fields ${options.agency.id} requires`);
      continue;
    }
    if (row.cells.every((cell) => cell.trim() === '')) continue;
    batch.push(rowToRaw(mapping, fields, row.cells));
    if (batch.length >= batchSize) await send();
  }
  await send();
  return totals;
}
