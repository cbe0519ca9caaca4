// What an AWS refusal means for a step, the same for every AWS executor (RDS, EC2).
import { fatal, retryable } from '../../engine/failures';
import { AwsRefusal } from '../../ports/aws-refusal';

/** Throttling that outlasted the SDK's own retries: give AWS a moment before the next attempt. */
const THROTTLED_RETRY_AFTER_MS = 2_000;

/**
 * Throws the engine failure for what an AWS call threw: throttling, 5xx and "not now" (a wrong
 * state, no capacity yet) retry, the executor describing again first; a missing permission or
 * resource, a reused idempotency token and any other client error are fatal (AWS will not change
 * its mind). Anything that is not an AwsRefusal is thrown as it is.
 */
export function awsFailure(error: unknown): never {
  if (!(error instanceof AwsRefusal)) throw error;
  const cause = { cause: error };
  switch (error.code) {
    case 'throttled':
      throw retryable(error.message, { ...cause, retryAfterMs: THROTTLED_RETRY_AFTER_MS });
    case 'invalid_state':
    case 'incorrect_state':
    case 'insufficient_capacity':
      throw retryable(error.message, cause);
    case 'unauthorized':
    case 'not_found':
    case 'idempotency_mismatch':
      throw fatal(error.message, cause);
    case 'dry_run_ok':
    case 'other':
      throw error.retryable ? retryable(error.message, cause) : fatal(error.message, cause);
  }
}
