// Maps whatever the EC2 client threw onto AwsRefusal. EC2 errors are unmodeled: the SDK names the
// EC2ServiceException after the wire code (InvalidVolume.NotFound, IncorrectState, ...), so the
// classification reads the name, with a code field as a fallback in case a layer reports that.
import { AwsRefusal } from '../../ports/aws-refusal';
import type { AwsRefusalCode } from '../../ports/aws-refusal';
import { field, text, THROTTLED_CODES, TRANSIENT_CODES, UNAUTHORIZED_CODES } from './error-codes';

const NOT_FOUND = new Set([
  'InvalidVolume.NotFound',
  'InvalidInstanceID.NotFound',
  'InvalidSnapshot.NotFound',
  'InvalidLaunchTemplateId.NotFound',
  'InvalidLaunchTemplateName.NotFoundException',
  'InvalidLaunchTemplateId.VersionNotFound',
]);

// RunInstances: EC2 has no capacity for the instance type in the zone right now (it may later).
const INSUFFICIENT_CAPACITY = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientHostCapacity',
  'InsufficientReservedInstanceCapacity',
  'InsufficientCapacity',
]);

// "Not now": the resource exists but is in the wrong state for the request (a retried attach that
// already happened, a detach of a volume that is already free). Executors describe again.
const INCORRECT_STATE = new Set([
  'IncorrectState',
  'VolumeInUse',
  'IncorrectInstanceState',
  'InvalidAttachment.NotFound',
]);

/** The answer EC2 gives a permitted DryRun request. */
export const DRY_RUN_OK = 'DryRunOperation';

/** The EC2 error code of a thrown value (its name, or a code field), or null. */
export function ec2ErrorCode(error: unknown): string | null {
  // `Error` is the generic name; a code field, when present, says more.
  const ownName = text(field(error, 'name'));
  return (
    (ownName !== null && ownName !== 'Error' ? ownName : null) ??
    text(field(error, 'Code')) ??
    text(field(error, 'code')) ??
    ownName
  );
}

function codeOf(name: string, status: number | null, throttlingTrait: boolean): AwsRefusalCode {
  if (name === DRY_RUN_OK) return 'dry_run_ok';
  if (THROTTLED_CODES.has(name) || throttlingTrait || status === 429) return 'throttled';
  if (NOT_FOUND.has(name)) return 'not_found';
  if (INSUFFICIENT_CAPACITY.has(name)) return 'insufficient_capacity';
  if (name === 'IdempotentParameterMismatch') return 'idempotency_mismatch';
  if (INCORRECT_STATE.has(name)) return 'incorrect_state';
  if (UNAUTHORIZED_CODES.has(name) || status === 401 || status === 403) return 'unauthorized';
  return 'other';
}

/** Classifies any thrown value; an AwsRefusal is returned as it is. */
export function classifyEc2Error(error: unknown): AwsRefusal {
  if (error instanceof AwsRefusal) return error;
  const name = ec2ErrorCode(error);
  const status = field(field(error, '$metadata'), 'httpStatusCode');
  const httpStatusCode = typeof status === 'number' ? status : null;
  const retryableTrait = field(error, '$retryable');
  const throttlingTrait = field(retryableTrait, 'throttling') === true;
  const code = codeOf(name ?? '', httpStatusCode, throttlingTrait);
  const retryable =
    code === 'throttled' ||
    code === 'insufficient_capacity' ||
    (code === 'other' &&
      ((retryableTrait !== undefined && retryableTrait !== null) ||
        field(error, '$fault') === 'server' ||
        (httpStatusCode !== null && httpStatusCode >= 500) ||
        TRANSIENT_CODES.has(name ?? '')));
  const message = error instanceof Error ? error.message : String(error);
  return new AwsRefusal(code, `${name ?? 'error'}: ${message}`, { retryable, awsCode: name, cause: error });
}
