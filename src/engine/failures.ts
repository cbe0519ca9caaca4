// Failures are classified where they are thrown, so the engine knows what to do without guessing.
import type { FailureClass, FailureInfo, JsonObject } from './types';

export class StepFailure extends Error {
  constructor(
    readonly failureClass: FailureClass,
    message: string,
    readonly options: { retryAfterMs?: number; detail?: JsonObject; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StepFailure';
  }
}

/** Worth trying again as it is: a timeout, throttling, a connection reset. */
export function retryable(message: string, options?: StepFailure['options']): StepFailure {
  return new StepFailure('retryable', message, options);
}

/** Trying again cannot help: fail the run and undo what was done. */
export function fatal(message: string, options?: StepFailure['options']): StepFailure {
  return new StepFailure('fatal', message, options);
}

/** Unsafe to go on or to undo by itself: stop at a gate that explains the situation to a person. */
export function needsHuman(message: string, options?: StepFailure['options']): StepFailure {
  return new StepFailure('needs_human', message, options);
}

/**
 * Maps anything thrown by an executor to a failure. An unclassified error is a bug or an
 * unexpected outside condition: retried a few times (executors check the world first), then fatal.
 */
export function classify(error: unknown): FailureInfo {
  if (error instanceof StepFailure) {
    return {
      class: error.failureClass,
      message: error.message,
      ...(error.options.retryAfterMs !== undefined ? { retryAfterMs: error.options.retryAfterMs } : {}),
      ...(error.options.detail !== undefined ? { detail: error.options.detail } : {}),
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { class: 'retryable', message: message || 'unknown error' };
}
