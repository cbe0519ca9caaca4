// Operator-provided commands (route traffic, stop/start a database, replace a node), run as argv
// arrays without a shell, with a timeout; their output goes to the run's thread, secrets redacted.

export interface HookCommand {
  /** argv; elements may contain `{placeholders}` filled from `vars`. */
  command: readonly string[];
  timeoutMs: number;
  /** Extra environment for the child; values may be secrets (redacted from output). */
  env?: Readonly<Record<string, string>>;
  cwd?: string;
}

export interface HookResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  /** Combined stdout+stderr, truncated, with every secret value replaced by `[redacted]`. */
  output: string;
}

export interface HookRunner {
  run(hook: HookCommand, vars: Readonly<Record<string, string>>): Promise<HookResult>;
}
