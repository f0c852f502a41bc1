// The platform index re-exports config, logger and ops modules that do I/O; the engine imports the
// error type alone so that loading it pulls in nothing impure.
import { HubError } from '../../platform';

/** An input error naming the offending field: `settlements[2].settledAt: "2019-02-30" is not a real date`. */
export function inputError(field: string, reason: string): HubError {
  return new HubError('INPUT_INVALID', `${field}: ${reason}`, { detail: { field } });
}

/** A policy error naming the file and the path of the bad key. */
export function policyError(file: string, path: string, reason: string): HubError {
  return new HubError('POLICY_INVALID', `${file}: ${path}: ${reason}`, { detail: { file, path } });
}
