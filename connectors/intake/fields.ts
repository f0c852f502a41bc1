/**
 * Field readers for agency records. Each reads one field of a raw record (a JSON object or a file
 * row mapped to canonical names), converts it, and on failure records `{ field, reason }` instead of
 * throwing, so that one answer can name every problem of a record.
 */
import { divisionProvinceCodes } from '../../services/identity';

export interface FieldProblem {
  readonly field: string;
  readonly reason: string;
}

export type RawRecord = Readonly<Record<string, unknown>>;

export class FieldReader {
  readonly problems: FieldProblem[] = [];
  constructor(private readonly raw: RawRecord) {}

  problem(field: string, reason: string): void {
    this.problems.push({ field, reason });
  }

  private text(field: string): string | undefined {
    const value = this.raw[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value.trim() === '' ? undefined : value.trim();
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    this.problem(field, 'must be text or a number');
    return undefined;
  }

  /**
   * Text for an identifier or code: not a JSON true/false (true is not a record id), and without
   * NUL or other control characters, which pass through to the topics and break the tools reading them.
   */
  private identifierText(field: string): string | undefined {
    if (typeof this.raw[field] === 'boolean') {
      this.problem(field, 'must be text, not true or false');
      return undefined;
    }
    const value = this.text(field);
    if (value !== undefined && controlCharacter.test(value)) {
      this.problem(field, 'holds a control character (NUL, tab, line break …)');
      return undefined;
    }
    if (value !== undefined && invisibleCharacter.test(value)) {
      this.problem(field, 'holds an invisible character (zero-width space, direction mark or override, line separator …)');
      return undefined;
    }
    return value;
  }

  /** A required text field, at most `max` characters. */
  string(field: string, max = 64): string {
    const value = this.identifierText(field);
    if (value === undefined) {
      if (!this.has(field)) this.problem(field, 'is required');
      return '';
    }
    if (value.length > max) {
      this.problem(field, `is longer than ${max} characters`);
      return '';
    }
    return value;
  }

  optionalString(field: string, max = 64): string | null {
    const value = this.identifierText(field);
    if (value === undefined) return null;
    if (value.length > max) {
      this.problem(field, `is longer than ${max} characters`);
      return null;
    }
    return value;
  }

  /** True when a problem of this field is noted already (so "is required" is not added to it). */
  private has(field: string): boolean {
    return this.problems.some((problem) => problem.field === field);
  }

  /** A 6-digit division code (行政区划代码) whose first two digits name a province; 000000 is none. */
  division(field: string): string {
    const value = this.code(field, /^\d{6}$/, 'a 6-digit division code');
    if (value !== '' && /^\d{6}$/.test(value) && !divisionProvinceCodes.has(value.slice(0, 2))) {
      this.problem(field, `"${value}" is not a division code: its first two digits name no province`);
    }
    return value;
  }

  /** A code matching `pattern` (e.g. a 6-digit division code). */
  code(field: string, pattern: RegExp, what: string): string {
    const value = this.string(field);
    if (value !== '' && !pattern.test(value)) this.problem(field, `"${value}" is not ${what}`);
    return value;
  }

  integer(field: string, min: number, max: number): number {
    const value = this.text(field);
    if (value === undefined) {
      this.problem(field, 'is required');
      return 0;
    }
    if (!/^-?\d+$/.test(value)) {
      this.problem(field, `"${value}" is not a whole number`);
      return 0;
    }
    const n = Number(value);
    if (n < min || n > max) {
      this.problem(field, `${n} is outside ${min}..${max}`);
      return 0;
    }
    return n;
  }

  oneOf<T extends string>(field: string, values: readonly T[]): T {
    const value = this.string(field);
    const found = values.find((v) => v === value);
    if (found === undefined) {
      if (value !== '') this.problem(field, `"${value}" is not one of ${values.join(', ')}`);
      return values[0] as T;
    }
    return found;
  }

  boolean(field: string): boolean {
    const value = this.text(field);
    if (value === undefined) return false;
    if (/^(true|1|y|yes|是)$/i.test(value)) return true;
    if (/^(false|0|n|no|否)$/i.test(value)) return false;
    this.problem(field, `"${value}" is not true or false`);
    return false;
  }

  /** An ISO calendar date that exists (2019-02-30 does not). */
  date(field: string): string {
    const value = this.text(field);
    if (value === undefined) {
      this.problem(field, 'is required');
      return '';
    }
    const iso = toIsoDate(value);
    if (iso === undefined) this.problem(field, `"${value}" is not a real date (YYYY-MM-DD)`);
    return iso ?? '';
  }

  optionalDate(field: string): string | null {
    const value = this.text(field);
    if (value === undefined) return null;
    const iso = toIsoDate(value);
    if (iso === undefined) {
      this.problem(field, `"${value}" is not a real date (YYYY-MM-DD)`);
      return null;
    }
    return iso;
  }

  /** A point in time; without an offset it is read in Asia/Shanghai (+08:00), as agencies write it. */
  timestamp(field: string): number {
    const value = this.text(field);
    if (value === undefined) {
      this.problem(field, 'is required');
      return 0;
    }
    const millis = toMillis(value);
    if (millis === undefined) this.problem(field, `"${value}" is not a real time (YYYY-MM-DD HH:mm:ss)`);
    return millis ?? 0;
  }

  /** Yuan with at most two decimals (as the national interfaces send them), returned as integer fen. */
  yuanAsFen(field: string, options: { allowNegative?: boolean } = {}): number {
    const value = this.text(field);
    if (value === undefined) {
      this.problem(field, 'is required');
      return 0;
    }
    const fen = yuanToFen(value);
    if (fen === undefined) {
      this.problem(field, `"${value}" is not an amount in yuan with at most two decimals`);
      return 0;
    }
    if (fen < 0 && options.allowNegative !== true) {
      this.problem(field, 'must not be negative');
      return 0;
    }
    if (Math.abs(fen) > maxAmountFen) {
      this.problem(field, `is more than ${maxAmountFen / 100} yuan, more than any one record of the hub carries`);
      return 0;
    }
    return fen;
  }
}

// Control characters are what this pattern is for: C0, DEL and C1 (U+0080-U+009F, NEL among them).
// eslint-disable-next-line no-control-regex
const controlCharacter = /[\u0000-\u001f\u007f-\u009f]/;
/**
 * Characters that show as nothing or reorder what is shown: an identifier holding one looks like
 * another (MZ-1 and MZ-\u200b1 are two records to the hub, one to a reader) or displays other than it
 * reads (U+202E), and U+2028/U+2029 break lines in the tools that read the topics.
 */
const invisibleCharacter = /[\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/;

/** 100 million yuan: above any settlement or contribution; 10^13 yuan was accepted. */
const maxAmountFen = 100_000_000 * 100;

/** Exact decimal yuan -> fen, no floating point: "1234.5" -> 123450. */
export function yuanToFen(text: string): number | undefined {
  const match = /^(-)?(\d{1,13})(?:\.(\d{1,2}))?$/.exec(text.replace(/,/g, '').trim());
  if (match === null) return undefined;
  const fen = Number(match[2]) * 100 + Number((match[3] ?? '').padEnd(2, '0'));
  return match[1] === '-' ? -fen : fen;
}

const datePattern = /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$/;
const compactDate = /^(\d{4})(\d{2})(\d{2})$/;

export function toIsoDate(text: string): string | undefined {
  const match = datePattern.exec(text) ?? compactDate.exec(text);
  if (match === null) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (year < 1900 || year > 2199 || month < 1 || month > 12 || day < 1) return undefined;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  if (day > days) return undefined;
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

export function toMillis(text: string): number | undefined {
  const match =
    /^(\d{4}-\d{1,2}-\d{1,2}|\d{4}\/\d{1,2}\/\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/.exec(
      text.trim(),
    );
  if (match === null) return undefined;
  const date = toIsoDate(match[1] ?? '');
  if (date === undefined) return undefined;
  const [hour, minute, second] = [Number(match[2] ?? 0), Number(match[3] ?? 0), Number(match[4] ?? 0)];
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const zone = match[5] === undefined ? '+08:00' : match[5] === 'Z' ? 'Z' : match[5].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const millis = Date.parse(
    `${date}T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:${String(second).padStart(2, '0')}${zone}`,
  );
  return Number.isNaN(millis) ? undefined : millis;
}

export { shanghaiDate } from '../../services/platform';
