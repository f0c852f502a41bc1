import { createHash, hash } from 'node:crypto';
import type { TopicRecords } from '../../schemas';
import {
  containsNationalId,
  encryptNationalId,
  maskIdShaped,
  pseudonymiseNormalized,
  validateNationalId,
  type IdentitySecrets,
} from '../../services/identity';
import type { DeadLetterInput } from '../../services/kafka';
import { shanghaiDate } from '../../services/platform';
import type { AgencyDefinition, InboundTopicId } from './agency';
import { fieldCatalogue } from './file-mapping';
import { outOfScope, type KeyScope } from './key-scope';
import { FieldReader, type FieldProblem, type RawRecord } from './fields';

/**
 * The intake's "prepare" stage: pure CPU, no I/O and no shared state. Validation, pseudonymisation,
 * event id and content hash. Run on the main thread by the push API and in a worker thread by file
 * imports (prepare-worker.ts); the "publish" stage (pipeline.ts) takes its result.
 */

/** One record handed to a connector, by the push API or by a file import. */
export interface IntakeItem {
  readonly raw: RawRecord;
  readonly rawFormat: 'json' | 'csv-row' | 'xlsx-row';
  /** Where it came from, for answers and reports: "records[3]", "row 17". */
  readonly position: string;
  /** The scope of the API key that sent it, when the key is bound (see keys.ts). */
  readonly scope?: KeyScope;
}

/** A valid record, pseudonymised, with what the duplicate check needs. */
export interface PreparedFact<K extends InboundTopicId = InboundTopicId> {
  readonly index: number;
  readonly eventId: string;
  readonly personKey: string;
  readonly contentHash: string;
  /** The record to encode (main-thread prepare), or … */
  readonly record?: TopicRecords[K];
  /** … its bytes in the wire format, already encoded (worker prepare). */
  readonly value?: Buffer;
  /** Why the worker could not encode it: fails the batch if the record is to be sent. */
  readonly encodeError?: unknown;
  /** The agency's record id and version, and the sealed ID number, of a versioned record (see source-versions.ts). */
  readonly source?: { readonly recordId: string; readonly version: number; readonly idCipher: string };
}

export interface PreparedRejection {
  readonly index: number;
  readonly problems: readonly FieldProblem[];
}

/** A batch after the prepare stage. */
export interface PreparedBatch<K extends InboundTopicId = InboundTopicId> {
  readonly rejected: readonly PreparedRejection[];
  readonly facts: readonly PreparedFact<K>[];
  /** Dead letters of the rejected items, in item order. */
  readonly letters: readonly DeadLetterInput[];
}

/** Identifies a record as received, for stable dead-letter ids; a one-way hash, so no ID number leaks. */
export function fingerprint(raw: RawRecord): string {
  return createHash('sha256')
    .update(JSON.stringify(shallow(raw, 0)) ?? 'undefined')
    .digest('hex');
}

/** Most levels of nesting a record may have: agencies send flat records; 10,000 levels overflowed the stack. */
export const maxRecordDepth = 16;

/** The value cut below maxRecordDepth, so that serialising it cannot overflow the stack. */
function shallow(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= maxRecordDepth) return '[deeper]';
  if (Array.isArray(value)) return value.map((item) => shallow(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = shallow((value as Record<string, unknown>)[key], depth + 1);
  return out;
}

/**
 * Why a record cannot be read at all, if it cannot: not a JSON object, nested too deep, or carrying
 * a key that names a prototype ("__proto__", "constructor" holding an object). Walked without
 * recursion, so any depth is answered, and refused for that record alone.
 */
export function recordShapeProblem(raw: unknown): FieldProblem | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { field: '(record)', reason: 'is not a JSON object' };
  const pending: { value: object; depth: number; path: string }[] = [{ value: raw, depth: 0, path: '' }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (next.depth >= maxRecordDepth) return { field: next.path, reason: `nests deeper than ${maxRecordDepth} levels` };
    for (const key of Object.keys(next.value)) {
      const child = (next.value as Record<string, unknown>)[key];
      const path = next.path === '' ? key : `${next.path}.${key}`;
      if (key === '__proto__' || (key === 'constructor' && typeof child === 'object' && child !== null)) {
        return { field: path, reason: 'a key naming an object prototype is not accepted' };
      }
      if (typeof child === 'object' && child !== null) pending.push({ value: child, depth: next.depth + 1, path });
    }
  }
  return undefined;
}

/** Masks anything shaped like a national ID number (spaced, dashed, full-width too) in a value. */
function scrubValue(value: unknown): unknown {
  if (typeof value === 'string') return maskIdShaped(value);
  if (typeof value === 'number') {
    const text = String(value);
    return maskIdShaped(text) === text ? value : maskIdShaped(text);
  }
  if (value === null || typeof value === 'boolean') return value;
  // Nested values are not fields of any agency: only their absence is worth keeping.
  return '[removed: not text]';
}

const catalogues = new WeakMap<AgencyDefinition, ReadonlySet<string>>();
function knownFields(agency: AgencyDefinition): ReadonlySet<string> {
  let fields = catalogues.get(agency);
  if (fields === undefined) {
    fields = fieldCatalogue(agency).all;
    catalogues.set(agency, fields);
  }
  return fields;
}

/**
 * A raw record fit for the dead-letter topic: the ID number sealed, names removed, other ID-shaped
 * text masked. Only the agency's own fields are kept: a name may sit under any other key (姓名,
 * psnName, a remark), and nothing tells a name from other text, so other keys are only counted.
 */
export function sealRaw(agency: AgencyDefinition, secrets: IdentitySecrets, raw: RawRecord, personKey: string | undefined): Buffer {
  const known = knownFields(agency);
  const copy: Record<string, unknown> = {};
  let otherFields = 0;
  for (const field of Object.keys(raw)) {
    if (!known.has(field)) {
      otherFields += 1;
      continue;
    }
    // Every field is scrubbed: a record often fails because the ID number sits in the wrong field.
    copy[field] = scrubValue(raw[field]);
  }
  for (const field of agency.nameFields) if (field in copy) copy[field] = '[removed]';
  const id = raw[agency.idField];
  if (typeof id === 'string' || typeof id === 'number') {
    copy[agency.idField] = encryptNationalId(String(id), secrets.idEncryptionKey, personKey ?? 'dead-letter');
  } else if (id !== undefined && id !== null) {
    copy[agency.idField] = '[removed]';
  }
  if (otherFields > 0) copy['[other fields removed]'] = otherFields;
  return Buffer.from(JSON.stringify(copy), 'utf8');
}

/** An ID number as Excel shows a number it holds: 1.10105E+17, 1.10105194912310E+17. */
const exponentForm = /^\s*[+-]?\d+(?:\.\d*)?[eE][+-]?\d+\s*$/;

/**
 * The ID number of a raw record, validated. It must be text: a JSON number or a spreadsheet number
 * has been rounded to 15 or 17 significant digits, and about 1 in 11 roundings still passes the check
 * character, naming another, plausible person.
 */
export function readIdNumber(value: unknown, today: string): ReturnType<typeof validateNationalId> {
  if (typeof value === 'number') {
    return {
      ok: false,
      rejection: 'CHARACTERS',
      reason: 'must be text (a JSON string in quotes): a number loses the last digits of an ID number',
    };
  }
  if (value !== undefined && value !== null && typeof value !== 'string') {
    return { ok: false, rejection: 'CHARACTERS', reason: 'must be text' };
  }
  const text = value ?? '';
  if (exponentForm.test(text)) {
    return {
      ok: false,
      rejection: 'CHARACTERS',
      reason:
        'is a number in E+ notation, as Excel shows an ID column not formatted as text: its last digits are lost; ' +
        'format the column as text (文本) and enter the numbers again',
    };
  }
  return validateNationalId(text, today);
}

/**
 * Identifiers (recordId, setl_id, mdtrt_id, psn_no, …) travel in clear on the topics and in the
 * rules state, so one that is or holds a national ID number (agencies that use the 身份证号 as 业务编号
 * or 人员编号 do this) is refused.
 */
function refuseIdNumbersIn(fact: object, idField: string, reader: FieldReader, today: string): void {
  for (const [field, value] of Object.entries(fact)) {
    if (field === idField || typeof value !== 'string') continue;
    if (containsNationalId(value, today)) {
      reader.problem(
        field,
        "holds a national ID number: identifiers are passed on in clear, so they must not carry one; send the agency's own number",
      );
    }
  }
}

/** SHA-256 in hex, first 32 digits. The one-shot crypto.hash: no Hash stream object per call. */
const hex32 = (text: string): string => hash('sha256', text, 'hex').slice(0, 32);

/** The source named in each record: `<agency>:<channel>`. */
export const recordSource = (agency: AgencyDefinition, channel: string): string => `${agency.id}:${channel}`;

/** Every item validated; the accepted ones pseudonymised, hashed and enveloped. */
export function prepareItems<K extends InboundTopicId>(
  agency: AgencyDefinition<K>,
  secrets: IdentitySecrets,
  items: readonly IntakeItem[],
  channel: string,
  recordedAt: number,
): { rejected: PreparedRejection[]; facts: (PreparedFact<K> & { record: TopicRecords[K] })[]; letters: DeadLetterInput[] } {
  const today = shanghaiDate(recordedAt);
  const rejected: PreparedRejection[] = [];
  const facts: (PreparedFact<K> & { record: TopicRecords[K] })[] = [];
  const letters: DeadLetterInput[] = [];
  const source = recordSource(agency, channel);

  for (let index = 0; index < items.length; index += 1) {
    const item = items[index] as IntakeItem;
    const shape = recordShapeProblem(item.raw);
    if (shape !== undefined) {
      rejected.push({ index, problems: [shape] });
      const isObject = typeof item.raw === 'object' && item.raw !== null && !Array.isArray(item.raw);
      letters.push({
        origin: agency.id,
        errorCode: 'INPUT_INVALID',
        errorMessage: maskIdShaped(`${shape.field}: ${shape.reason}`),
        field: shape.field,
        rawFormat: item.rawFormat,
        // Not an object: only its kind is kept (a bare string or number may be an ID number or a name).
        raw: isObject
          ? sealRaw(agency, secrets, item.raw, undefined)
          : Buffer.from(JSON.stringify({ '[record removed]': Array.isArray(item.raw) ? 'array' : typeof item.raw })),
        fingerprint: fingerprint(item.raw),
      });
      continue;
    }
    const reader = new FieldReader(item.raw);
    const idCheck = readIdNumber(item.raw[agency.idField], today);
    if (!idCheck.ok) reader.problem(agency.idField, idCheck.reason);
    const { fact, occurredAt } = agency.read(reader, today);
    refuseIdNumbersIn(fact, agency.idField, reader, today);
    const outside = outOfScope(item.scope, fact);
    if (outside !== undefined) reader.problem(outside.field, outside.reason);
    // The birth date is in the ID number: nobody holds a status from before birth. The date itself
    // is not quoted, as the reason goes to the dead-letter topic.
    const validFrom = (fact as { validFrom?: unknown }).validFrom;
    if (idCheck.ok && typeof validFrom === 'string' && validFrom !== '' && validFrom < idCheck.birthDate) {
      reader.problem('validFrom', 'is before the birth date in the ID number');
    }
    if (!idCheck.ok || reader.problems.length > 0) {
      rejected.push({ index, problems: reader.problems });
      const first = reader.problems[0];
      const sourceRecordId =
        (fact as { sourceRecordId?: string; setl_id?: string }).sourceRecordId ?? (fact as { setl_id?: string }).setl_id;
      letters.push({
        origin: agency.id,
        errorCode: 'INPUT_INVALID',
        // Reasons quote the offending value, which may be an ID number typed into the wrong field.
        errorMessage: maskIdShaped(reader.problems.map((p) => `${p.field}: ${p.reason}`).join('; ')),
        rawFormat: item.rawFormat,
        raw: sealRaw(agency, secrets, item.raw, undefined),
        fingerprint: fingerprint(item.raw),
        ...(first === undefined ? {} : { field: first.field }),
        ...(sourceRecordId === undefined || sourceRecordId === '' ? {} : { sourceRecordId }),
      });
      continue;
    }
    // Validated above: the normalised number is at hand, so it is not validated a second time.
    const person = pseudonymiseNormalized(idCheck.normalized, secrets);
    const eventId = `${agency.id}:${hex32(agency.factKey(fact))}`;
    // The content hash covers the fact and the person, not the envelope, so a resend is recognised.
    // Its value is what Redis holds for every published fact, so it must not change: SHA-256 over
    // the fact's JSON followed by the person key (one string, the same bytes as two updates).
    const contentHash = hex32(JSON.stringify(fact) + person.personKey);
    // Object.assign, not `{ ...fact, eventId, … }`: V8 turns a spread followed by more properties into
    // a slow dictionary-mode object here (measured ~12 µs a record, and slower to encode after).
    // Same result: the envelope fields are written last and win, as they did in the spread.
    const record = Object.assign({}, fact, {
      eventId,
      source,
      occurredAt,
      recordedAt,
      personKey: person.personKey,
      idCipher: person.idCipher,
    }) as unknown as TopicRecords[K];
    const versioned = agency.withdrawal === undefined ? undefined : (fact as { sourceRecordId?: unknown; sourceVersion?: unknown });
    const sourceRef =
      versioned !== undefined && typeof versioned.sourceRecordId === 'string' && typeof versioned.sourceVersion === 'number'
        ? { recordId: versioned.sourceRecordId, version: versioned.sourceVersion, idCipher: person.idCipher }
        : undefined;
    facts.push({
      index,
      eventId,
      personKey: person.personKey,
      contentHash,
      record,
      ...(sourceRef === undefined ? {} : { source: sourceRef }),
    });
  }
  return { rejected, facts, letters };
}
