import { HubError, describeError, isHubError, scrubIdNumbers, type ErrorCode } from '../../services/platform';

/** HTTP status of each code a connector answers with; anything not listed is the hub's fault (500). */
const statusByCode: Partial<Record<ErrorCode, number>> = {
  REQUEST_INVALID: 400,
  // A batch file that cannot be read (no header, missing columns, not an xlsx): the file's fault.
  INPUT_INVALID: 400,
  USAGE: 400,
  AUTH_REQUIRED: 401,
  TOO_MANY_FAILED_KEYS: 429,
  FORBIDDEN: 403,
  REQUEST_TOO_LARGE: 413,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_BUILT: 501,
  KAFKA_UNAVAILABLE: 503,
  REGISTRY_UNAVAILABLE: 503,
  REDIS_UNAVAILABLE: 503,
  UNAVAILABLE: 503,
  // Too many batches waiting for the intake already: the records were not taken; send them again later.
  OVERLOADED: 503,
  // Schemas not registered yet: the records were not published, and will be once an operator runs
  // `hub schemas register`; a retry is the right move for the sender.
  SCHEMA_NOT_FOUND: 503,
};

export function httpStatusOf(code: ErrorCode): number {
  return statusByCode[code] ?? 500;
}

/**
 * What stopped an intake, as a HubError. Kafka and Redis clients throw their own errors; they mean
 * "the records are not (all) on the topic, send again", which the sender must hear as 503, never 200.
 */
export function classifyIntakeFailure(error: unknown): HubError {
  if (isHubError(error)) return error;
  const name = error instanceof Error ? error.name : '';
  const message = scrubIdNumbers(describeError(error));
  if (name.startsWith('KafkaJS')) {
    return new HubError(
      'KAFKA_UNAVAILABLE',
      `Kafka did not take the records (${message}); send them again later (a resend is recognised)`,
      { cause: error },
    );
  }
  if (
    name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|ETIMEDOUT/i.test(message)
  ) {
    return new HubError('REDIS_UNAVAILABLE', `the connector's store did not answer (${message}); send the records again later`, {
      cause: error,
    });
  }
  return new HubError('PROCESSING_FAILED', `the records could not be processed: ${message}`, { cause: error });
}
