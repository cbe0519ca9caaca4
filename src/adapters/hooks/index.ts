export {
  DEFAULT_INHERITED_ENV,
  DEFAULT_KILL_GRACE_MS,
  DEFAULT_MAX_OUTPUT_BYTES,
  DEFAULT_STDIO_GRACE_MS,
  ProcessHookRunner,
} from './process-hook-runner';
export type { ProcessHookRunnerOptions } from './process-hook-runner';
