import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Field names that may carry a national ID number or a person's name, at any depth pino redacts.
 * The hub logs person keys; these paths are a second fence for the places a raw record is logged.
 */
const sensitiveFields = [
  'idNumber',
  'nationalId',
  'certno',
  'psn_cert_no',
  'mdtrt_cert_no',
  'idCard',
  'name',
  'psnName',
  'psn_name',
  'fullName',
  '身份证号',
  '姓名',
  '证件号码',
];
export const redactPaths = sensitiveFields.flatMap((field) => [field, `*.${field}`, `*.*.${field}`, `*[*].${field}`]);

/** 18-digit GB 11643 numbers (last may be X) and legacy 15-digit ones, standing alone in text. */
const idNumberPattern = /(?<![0-9])(\d{17}[\dXx]|\d{15})(?![0-9Xx])/g;

/** Masks anything shaped like a national ID number inside free text (error messages, raw rows). */
export function scrubIdNumbers(text: string): string {
  return text.replace(idNumberPattern, (match) => `${match.slice(0, 3)}${'*'.repeat(match.length - 3)}`);
}

function scrubDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubIdNumbers(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    return {
      type: value.name,
      message: scrubIdNumbers(value.message),
      stack: value.stack === undefined ? undefined : scrubIdNumbers(value.stack),
      code: (value as { code?: unknown }).code,
    };
  }
  if (Array.isArray(value)) return value.map((item) => scrubDeep(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubDeep(v, depth + 1);
  return out;
}

export interface LoggerSettings {
  level: string;
  /** A role name, carried on every line. */
  role: string;
  /** Where lines go; stderr by default so that stdout stays for a command's result. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: { role: settings.role },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactPaths, censor: '[redacted]' },
    formatters: {
      log: (object) => scrubDeep(object) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((arg) => (typeof arg === 'string' ? scrubIdNumbers(arg) : arg)) as Parameters<typeof method>);
      },
    },
  };
  return pino(options, settings.destination ?? process.stderr);
}
