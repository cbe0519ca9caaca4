export {
  DEFAULT_INHERITED_ENV,
  DEFAULT_KILL_GRACE_MS,
  DEFAULT_MAX_OUTPUT_BYTES,
  DEFAULT_STDIO_GRACE_MS,
  ProcessHookRunner,
} from './process-hook-runner';
export type { ProcessHookRunnerOptions } from './process-hook-runner';
export { formatHookResult } from './format';
export type { FormatHookResultOptions } from './format';
export { placeholdersIn, substitutePlaceholders, UnknownPlaceholderError } from './placeholders';
export { redact, REDACTED } from './redact';
