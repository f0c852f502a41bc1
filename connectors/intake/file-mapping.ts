import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { HubError, describeError } from '../../services/platform';
import type { AgencyDefinition } from './agency';
import { FieldReader } from './fields';

/**
 * The fields an agency's reader asks for, and which of them it requires. Found by letting the
 * reader read an empty record, so the agency definition stays the one place that names its fields.
 */
export interface FieldCatalogue {
  readonly required: ReadonlySet<string>;
  readonly all: ReadonlySet<string>;
}

class CataloguingReader extends FieldReader {
  readonly seen = new Map<string, boolean>();
  private note(field: string, required: boolean): void {
    this.seen.set(field, (this.seen.get(field) ?? false) || required);
  }
  override string(field: string, max?: number): string {
    this.note(field, true);
    return super.string(field, max);
  }
  override optionalString(field: string, max?: number): string | null {
    this.note(field, false);
    return super.optionalString(field, max);
  }
  override code(field: string, pattern: RegExp, what: string): string {
    this.note(field, true);
    return super.code(field, pattern, what);
  }
  override integer(field: string, min: number, max: number): number {
    this.note(field, true);
    return super.integer(field, min, max);
  }
  override oneOf<T extends string>(field: string, values: readonly T[]): T {
    this.note(field, true);
    return super.oneOf(field, values);
  }
  override boolean(field: string): boolean {
    this.note(field, false);
    return super.boolean(field);
  }
  override date(field: string): string {
    this.note(field, true);
    return super.date(field);
  }
  override optionalDate(field: string): string | null {
    this.note(field, false);
    return super.optionalDate(field);
  }
  override timestamp(field: string): number {
    this.note(field, true);
    return super.timestamp(field);
  }
  override yuanAsFen(field: string, options?: { allowNegative?: boolean }): number {
    this.note(field, true);
    return super.yuanAsFen(field, options);
  }
}

export function fieldCatalogue(agency: AgencyDefinition): FieldCatalogue {
  const reader = new CataloguingReader({});
  agency.read(reader, '2199-12-31');
  const required = new Set([...reader.seen].filter(([, isRequired]) => isRequired).map(([field]) => field));
  required.add(agency.idField);
  const all = new Set([...reader.seen.keys(), agency.idField, ...agency.nameFields]);
  return { required, all };
}

/** What an agency's mapping file says: header spellings, value labels and defaults, by canonical field. */
export interface FileMapping {
  readonly agencyId: string;
  readonly file: string;
  readonly catalogue: FieldCatalogue;
  /** Normalised header spelling -> canonical field. Canonical names are always accepted. */
  readonly headerToField: ReadonlyMap<string, string>;
  /** Per field: agency-native label -> code. */
  readonly values: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Per field: the value of a column a file may leave out. */
  readonly defaults: ReadonlyMap<string, string>;
  /** Per field: the header spellings accepted, as the mapping file writes them (for messages). */
  readonly spellings: ReadonlyMap<string, readonly string[]>;
}

/**
 * Header text as compared: full-width forms folded (NFKC), case, spaces, underscores, hyphens,
 * required-field stars and parenthesised notes such as units (医疗费总额(元)) ignored.
 */
export function normaliseHeader(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/\([^)]*\)/g, '')
    .replace(/[\s_\-*\uFEFF]/g, '');
}

/** A value label as compared: full-width forms folded and spaces ignored. */
export function normaliseLabel(text: string): string {
  return text.normalize('NFKC').replace(/\s/g, '');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates a mapping document; every problem names the file and the key. */
export function parseFileMapping(agency: AgencyDefinition, text: string, file: string): FileMapping {
  const fail = (key: string, problem: string): never => {
    throw new HubError('CONFIG_INVALID', `${file}: ${key} ${problem}`, { catastrophic: true, detail: { file, key } });
  };
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    return fail('(document)', `is not valid YAML: ${describeError(error)}`);
  }
  if (!isRecord(document)) return fail('(document)', 'must be a mapping with headers, values and defaults');
  for (const key of Object.keys(document)) {
    if (!['headers', 'values', 'defaults'].includes(key)) fail(key, 'is not a section of a mapping file (headers, values, defaults)');
  }
  const catalogue = fieldCatalogue(agency);
  const known = [...catalogue.all].join(', ');
  const checkField = (section: string, field: string): void => {
    if (!catalogue.all.has(field)) fail(`${section}.${field}`, `is not a field of ${agency.id} (its fields: ${known})`);
  };

  const headerToField = new Map<string, string>();
  const spellings = new Map<string, string[]>();
  const claim = (spelling: string, field: string, key: string): void => {
    const normalised = normaliseHeader(spelling);
    if (normalised === '') fail(key, 'has an empty header spelling');
    const owner = headerToField.get(normalised);
    if (owner !== undefined && owner !== field) fail(key, `spells "${spelling}", already a spelling of ${owner}`);
    headerToField.set(normalised, field);
    const list = spellings.get(field) ?? [];
    if (!list.includes(spelling)) list.push(spelling);
    spellings.set(field, list);
  };
  for (const field of catalogue.all) claim(field, field, `(canonical) ${field}`);

  const headers = document.headers ?? {};
  if (!isRecord(headers)) fail('headers', 'must map each field to its header spellings');
  for (const [field, listed] of Object.entries(headers as Record<string, unknown>)) {
    checkField('headers', field);
    if (!Array.isArray(listed) || listed.length === 0) fail(`headers.${field}`, 'must be a non-empty list of header spellings');
    (listed as unknown[]).forEach((spelling, i) => {
      if (typeof spelling !== 'string') fail(`headers.${field}[${i}]`, 'must be text');
      claim(spelling as string, field, `headers.${field}[${i}]`);
    });
  }

  const values = new Map<string, Map<string, string>>();
  const valueSection = document.values ?? {};
  if (!isRecord(valueSection)) fail('values', 'must map fields to label -> code tables');
  for (const [field, table] of Object.entries(valueSection as Record<string, unknown>)) {
    checkField('values', field);
    if (!isRecord(table)) fail(`values.${field}`, 'must map agency labels to codes');
    const labels = new Map<string, string>();
    for (const [label, code] of Object.entries(table as Record<string, unknown>)) {
      if (typeof code !== 'string' && typeof code !== 'number') fail(`values.${field}.${label}`, 'must be a code (text)');
      labels.set(normaliseLabel(label), String(code));
    }
    values.set(field, labels);
  }

  const defaults = new Map<string, string>();
  const defaultSection = document.defaults ?? {};
  if (!isRecord(defaultSection)) fail('defaults', 'must map fields to the value of a missing column');
  for (const [field, value] of Object.entries(defaultSection as Record<string, unknown>)) {
    checkField('defaults', field);
    if (field === agency.idField) fail(`defaults.${field}`, 'cannot have a default: every record names its person');
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')
      fail(`defaults.${field}`, 'must be text or a number');
    defaults.set(field, String(value));
  }
  return { agencyId: agency.id, file, catalogue, headerToField, values, defaults, spellings };
}

const mappingCache = new Map<string, FileMapping>();

/** The mapping file of an agency: `connectors/<agency>/mapping.yaml`, read and validated once. */
export function loadFileMapping(agency: AgencyDefinition): FileMapping {
  const cached = mappingCache.get(agency.id);
  if (cached !== undefined) return cached;
  const path = fileURLToPath(new URL(`../${agency.id}/mapping.yaml`, import.meta.url));
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new HubError('CONFIG_INVALID', `${path}: cannot read the mapping file of ${agency.id}: ${describeError(error)}`, {
      catastrophic: true,
      cause: error,
    });
  }
  const mapping = parseFileMapping(agency, text, `connectors/${agency.id}/mapping.yaml`);
  mappingCache.set(agency.id, mapping);
  return mapping;
}

/** Which column feeds which field, once a file's header row is known. */
export interface ResolvedHeader {
  /** Per column: the canonical field it feeds, or undefined for a column the hub does not read. */
  readonly fields: readonly (string | undefined)[];
  /** The header as the file spells it, per canonical field (for messages the sender understands). */
  readonly headerOfField: ReadonlyMap<string, string>;
}

/** Maps a header row; a column claimed twice is an error, unknown columns are ignored. */
export function resolveHeader(mapping: FileMapping, headerCells: readonly string[]): { header: ResolvedHeader; missing: string[] } {
  const fields: (string | undefined)[] = [];
  const headerOfField = new Map<string, string>();
  headerCells.forEach((cell) => {
    const field = mapping.headerToField.get(normaliseHeader(cell));
    if (field !== undefined && headerOfField.has(field)) {
      throw new HubError('INPUT_INVALID', `columns "${headerOfField.get(field) ?? ''}" and "${cell.trim()}" both give ${field}: keep one`, {
        detail: { field },
      });
    }
    fields.push(field);
    if (field !== undefined) headerOfField.set(field, cell.trim());
  });
  const missing = [...mapping.catalogue.required].filter((field) => !headerOfField.has(field) && !mapping.defaults.has(field));
  return { header: { fields, headerOfField }, missing };
}

/** A data row as a raw record with canonical field names: defaults first, then the mapped, non-empty cells with labels translated. */
export function rowToRaw(mapping: FileMapping, fields: readonly (string | undefined)[], cells: readonly string[]): Record<string, string> {
  const raw: Record<string, string> = {};
  for (const [field, value] of mapping.defaults) raw[field] = value;
  fields.forEach((field, column) => {
    if (field === undefined) return;
    const cell = cells[column] ?? '';
    if (cell.trim() === '') return;
    const labels = mapping.values.get(field);
    raw[field] = labels === undefined ? cell : (labels.get(cell.trim()) ?? labels.get(normaliseLabel(cell)) ?? cell);
  });
  return raw;
}
