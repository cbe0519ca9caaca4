// Maps whatever the AWS SDK threw onto AwsRefusal. Matches on the error name (the SDK sets it to
// the modeled exception class, e.g. DBInstanceNotFoundFault, or to the wire code for unmodeled
// errors, e.g. AccessDenied, Throttling), with the wire codes as well in case a layer reports them.
import { AwsRefusal } from '../../ports/aws-refusal';
import type { AwsRefusalCode } from '../../ports/aws-refusal';
import { field, text, THROTTLED_CODES, TRANSIENT_CODES, UNAUTHORIZED_CODES } from './error-codes';

const NOT_FOUND = new Set([
  'DBInstanceNotFound',
  'DBInstanceNotFoundFault',
  'BlueGreenDeploymentNotFound',
  'BlueGreenDeploymentNotFoundFault',
  'DBClusterNotFound',
  'DBClusterNotFoundFault',
  'ResourceNotFound',
  'ResourceNotFoundException',
  'ResourceNotFoundFault',
]);

const INVALID_STATE = new Set([
  'InvalidDBInstanceState',
  'InvalidDBInstanceStateFault',
  'InvalidBlueGreenDeploymentState',
  'InvalidBlueGreenDeploymentStateFault',
  'InvalidDBClusterState',
  'InvalidDBClusterStateFault',
  'SourceDatabaseNotSupportedFault',
]);

interface ErrorFacts {
  name: string | null;
  message: string;
  httpStatusCode: number | null;
  requestId: string | null;
  throttlingTrait: boolean;
  retryableTrait: boolean;
  serverFault: boolean;
}

function factsOf(error: unknown): ErrorFacts {
  const metadata = field(error, '$metadata');
  const retryable = field(error, '$retryable');
  const status = field(metadata, 'httpStatusCode');
  // `Error` is the generic name; a code field, when present, says more.
  const ownName = text(field(error, 'name'));
  const name =
    (ownName !== null && ownName !== 'Error' ? ownName : null) ??
    text(field(error, 'Code')) ??
    text(field(error, 'code')) ??
    ownName;
  return {
    name,
    message: error instanceof Error ? error.message : String(error),
    httpStatusCode: typeof status === 'number' ? status : null,
    requestId: text(field(metadata, 'requestId')),
    throttlingTrait: field(retryable, 'throttling') === true,
    retryableTrait: retryable !== undefined && retryable !== null,
    serverFault: field(error, '$fault') === 'server',
  };
}

function codeOf(facts: ErrorFacts): AwsRefusalCode {
  const name = facts.name ?? '';
  if (THROTTLED_CODES.has(name) || facts.throttlingTrait || facts.httpStatusCode === 429) return 'throttled';
  if (NOT_FOUND.has(name)) return 'not_found';
  if (INVALID_STATE.has(name)) return 'invalid_state';
  if (UNAUTHORIZED_CODES.has(name) || facts.httpStatusCode === 401 || facts.httpStatusCode === 403) {
    return 'unauthorized';
  }
  return 'other';
}

/** Classifies any thrown value; an AwsRefusal is returned as it is. */
export function classifyAwsError(error: unknown): AwsRefusal {
  if (error instanceof AwsRefusal) return error;
  const facts = factsOf(error);
  const code = codeOf(facts);
  const retryable =
    code === 'throttled' ||
    (code === 'other' &&
      (facts.retryableTrait ||
        facts.serverFault ||
        (facts.httpStatusCode !== null && facts.httpStatusCode >= 500) ||
        TRANSIENT_CODES.has(facts.name ?? '')));
  const label = facts.name ?? 'error';
  return new AwsRefusal(code, `${label}: ${facts.message}`, {
    retryable,
    awsCode: facts.name,
    httpStatusCode: facts.httpStatusCode,
    requestId: facts.requestId,
    cause: error,
  });
}
