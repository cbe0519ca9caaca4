// One refusal type for every AWS call (RDS, EC2, CloudWatch): what an executor needs to decide.
export type AwsRefusalCode =
  | 'not_found'
  /** RDS: the resource is in the wrong state for the request (Invalid*State): describe again. */
  | 'invalid_state'
  /** EC2: the same idea in EC2's words (IncorrectState, VolumeInUse, ...): describe again. */
  | 'incorrect_state'
  | 'throttled'
  | 'unauthorized'
  /** EC2 DryRun: the caller would have been allowed. */
  | 'dry_run_ok'
  /** RunInstances: no capacity for the instance type in the zone right now. */
  | 'insufficient_capacity'
  /** RunInstances: the client token was used before with other parameters. */
  | 'idempotency_mismatch'
  | 'other';

/**
 * An AWS call that did not do what was asked, in words an executor can act on. `retryable`: the
 * same call may succeed later without anyone changing anything (throttling that outlasted the
 * SDK's own retries, 5xx, network trouble). A wrong state is not retryable as such: describe again
 * and decide.
 */
export class AwsRefusal extends Error {
  override readonly name = 'AwsRefusal';
  readonly code: AwsRefusalCode;
  readonly retryable: boolean;
  /** The AWS error name/code (e.g. InvalidDBInstanceState, AccessDenied), when there was one. */
  readonly awsCode: string | null;
  readonly httpStatusCode: number | null;
  readonly requestId: string | null;

  constructor(
    code: AwsRefusalCode,
    message: string,
    details: {
      retryable?: boolean;
      awsCode?: string | null;
      httpStatusCode?: number | null;
      requestId?: string | null;
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.retryable = details.retryable ?? code === 'throttled';
    this.awsCode = details.awsCode ?? null;
    this.httpStatusCode = details.httpStatusCode ?? null;
    this.requestId = details.requestId ?? null;
  }
}
