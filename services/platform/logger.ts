import { pino, type Logger, type LoggerOptions } from 'pino';

import { redactPaths, scrubIdNumbers } from './redaction';

export type { Logger } from 'pino';

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
