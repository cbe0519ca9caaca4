import type { Effect, Run } from '../engine/types';

/**
 * Told about every committed transition (presentation: the Slack progress message, logs, metrics).
 * Called after commit and never awaited by the engine: an observer must not block or throw.
 */
export interface RunObserver {
  runChanged(run: Run, effects: readonly Effect[], cause: string): void;
}
