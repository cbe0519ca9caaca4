// What a preflight step does with its checks: a refusal for a check that failed, except when
// everything that failed is something that did not answer (a server under load, a network blip).
// Then it is retried with the engine's backoff, and refused only if it still does not answer.
import { fatal, retryable } from '../../engine/failures';
import type { PreflightCheck } from '../types';

export function refuseFailedChecks(checks: readonly PreflightCheck[]): void {
  const failed = checks.filter((check) => !check.ok);
  if (failed.length === 0) return;
  const text = failed.map((check) => check.detail).join('; ');
  if (failed.every((check) => check.transient === true)) throw retryable(`preflight: ${text}`);
  throw fatal(`preflight refused: ${text}`);
}
