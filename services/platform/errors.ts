/**
 * One error type for the whole hub. Codes are stable: operators grep for them, agencies receive
 * them in rejection answers and dead letters, and tests assert on them. Add codes, never rename.
 */
export const errorCodes = {
  CONFIG_INVALID: 'a configuration value is missing or malformed',
  NOT_BUILT: 'this role is not built yet',
  USAGE: 'the command line is not understood',
  ID_INVALID: 'a national ID number failed validation',
  CRYPTO_FAILED: 'encryption or decryption failed',
  INPUT_INVALID: 'an input record failed validation',
  REVERSAL_MISMATCH: 'a reversal (冲销) does not repeat the settlement it reverses, or is dated before it',
  REVERSAL_DUPLICATE: 'a settlement is reversed already by another reversal',
  POLICY_INVALID: 'a policy file failed validation',
  POLICY_NOT_FOUND: 'no policy with that id',
  SCHEMA_INCOMPATIBLE: 'a schema change is not backward compatible',
  SCHEMA_NOT_FOUND: 'no schema registered for that subject',
  REGISTRY_UNAVAILABLE: 'the schema registry did not answer',
  KAFKA_UNAVAILABLE: 'Kafka did not answer',
  STACK_FAILED: 'a component of the local stack did not start',
  DESERIALIZE_FAILED: 'a record could not be decoded',
  PROCESSING_FAILED: 'a record could not be processed',
  REDIS_UNAVAILABLE: 'Redis did not answer',
  AUTH_REQUIRED: 'no valid agency API key was presented',
  TOO_MANY_FAILED_KEYS: 'too many requests with unknown, revoked or no API keys from one address; retry after the time given',
  FORBIDDEN: 'the API key is valid but not for this connector',
  REQUEST_INVALID: 'a request is malformed (not JSON, or not the documented shape)',
  REQUEST_TOO_LARGE: 'a request is larger than the configured limit',
  NOT_FOUND: 'no such route',
  METHOD_NOT_ALLOWED: 'the route does not take that method',
  UNSUPPORTED_MEDIA_TYPE: 'the request body is of a content type or charset the route does not read',
  UNAVAILABLE: 'the service is shutting down or not ready; retry later',
  OVERLOADED: 'too much work is waiting for its turn already (the bound of a backlog was reached); retry later',
  STATE_LAYOUT_CHANGED: 'the rules state in Redis is of another layout; run hub rules --rebuild',
  STATE_CONTENDED:
    'the rules state of a partition kept changing while a batch was folded (another instance owns the partition?); ' +
    'the batch is not committed',
  STATE_LOST:
    'the rules state in Redis is behind the offsets Kafka committed (lost or restored from an older copy); run hub rules --rebuild',
  PRODUCER_FENCED:
    'a transaction failed (another member took the partition, or the broker refused it); the batch is retried with a new producer',
  CONSUMER_CRASHED: 'the Kafka consumer stopped for good; a supervisor must restart the process',
} as const;

export type ErrorCode = keyof typeof errorCodes;

export interface HubErrorOptions {
  /** True when the process cannot go on safely (bad config, lost storage): the central handler exits. */
  catastrophic?: boolean;
  cause?: unknown;
  /** Machine-readable detail (a field path, a subject name). Never a national ID number. */
  detail?: Readonly<Record<string, unknown>>;
}

export class HubError extends Error {
  readonly code: ErrorCode;
  readonly catastrophic: boolean;
  readonly detail: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: HubErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HubError';
    this.code = code;
    this.catastrophic = options.catastrophic ?? false;
    this.detail = options.detail ?? {};
  }
}

export function isHubError(error: unknown, code?: ErrorCode): error is HubError {
  return error instanceof HubError && (code === undefined || error.code === code);
}

/** The message of anything thrown, for the places that must say something about a foreign error. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
