// Runs operator hooks as real processes: argv without a shell, a minimal environment, a timeout that
// takes the whole process group down, and output that is bounded and has its secrets redacted.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Socket } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';

import type { HookCommand, HookResult, HookRunner } from '../../ports/hooks';
import { OutputBuffer } from './output-buffer';
import { substitutePlaceholders } from '../../hooks/placeholders';
import { redactPatterns, secretPatterns } from '../../hooks/redact';

export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024;
export const DEFAULT_KILL_GRACE_MS = 5000;
export const DEFAULT_STDIO_GRACE_MS = 2000;
/** What a hook inherits from the bot's environment unless told otherwise. */
export const DEFAULT_INHERITED_ENV: readonly string[] = ['PATH', 'HOME', 'LANG'];

export interface ProcessHookRunnerOptions {
  /** Extra values to redact, asked for at every run (e.g. all resolved `env:` secrets of the target). */
  secrets?: () => readonly string[];
  /** Output kept per run: the first and last halves, the middle dropped. Default 64 KiB. */
  maxOutputBytes?: number;
  /** Between SIGTERM (at the timeout) and SIGKILL, to the whole process group. Default 5 s. */
  killGraceMs?: number;
  /**
   * After the command exits, how long to wait for its output pipes to close. A command that starts
   * a daemon (`pg_ctl start` without `-l`) leaves it holding them; the daemon is left running and
   * the result is returned without its output. Default 2 s.
   */
  stdioGraceMs?: number;
  /** Names of the bot's environment variables a hook sees. Default PATH, HOME and LANG. */
  inheritEnv?: readonly string[];
}

export class ProcessHookRunner implements HookRunner {
  private readonly maxOutputBytes: number;
  private readonly killGraceMs: number;
  private readonly stdioGraceMs: number;
  private readonly inheritEnv: readonly string[];

  constructor(private readonly options: ProcessHookRunnerOptions = {}) {
    this.maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    this.killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.stdioGraceMs = options.stdioGraceMs ?? DEFAULT_STDIO_GRACE_MS;
    this.inheritEnv = options.inheritEnv ?? DEFAULT_INHERITED_ENV;
    new OutputBuffer(this.maxOutputBytes); // validates maxOutputBytes now rather than at the first run
    for (const [name, value] of [
      ['killGraceMs', this.killGraceMs],
      ['stdioGraceMs', this.stdioGraceMs],
    ] as const) {
      if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be 0 or more, got ${value}`);
    }
  }

  /**
   * Resolves with the result whatever the command does, including when it cannot be started
   * (exitCode null, output saying why). Rejects only for a hook that is wrong before anything runs:
   * an unknown placeholder, an empty command, a timeout that is not positive.
   */
  async run(hook: HookCommand, vars: Readonly<Record<string, string>>): Promise<HookResult> {
    const argv = substitutePlaceholders(hook.command, vars);
    const [program, ...args] = argv;
    if (program === undefined || program === '') throw new Error('hook command is empty');
    if (!Number.isFinite(hook.timeoutMs) || hook.timeoutMs <= 0) {
      throw new Error(`hook timeout must be a positive number of milliseconds, got ${hook.timeoutMs}`);
    }
    // The runner cannot tell which env values came from secrets, so it redacts all of them.
    const patterns = secretPatterns([...Object.values(hook.env ?? {}), ...(this.options.secrets?.() ?? [])]);
    const longest = patterns.reduce((max, p) => Math.max(max, Buffer.byteLength(p)), 0);
    const output = new OutputBuffer(this.maxOutputBytes, longest);
    // performance.now, not a Clock: durationMs is a measurement for the report and decides nothing.
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);

    let child: ChildProcess;
    try {
      child = spawn(program, args, {
        shell: false,
        // Its own process group (and session), so a timeout can signal grandchildren too.
        detached: true,
        cwd: hook.cwd,
        env: this.childEnv(hook),
        stdio: ['ignore', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (error) {
      // Invalid arguments (a NUL byte in a substituted value, say) throw synchronously.
      return notStarted(`could not start ${program}: ${(error as Error).message}`, patterns, elapsed());
    }

    return new Promise<HookResult>((resolve) => {
      let settled = false;
      let timedOut = false;
      let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
      let timeoutTimer: NodeJS.Timeout | undefined;
      let killTimer: NodeJS.Timeout | undefined;
      let drainTimer: NodeJS.Timeout | undefined;

      const pid = child.pid;
      const signalGroup = (signal: NodeJS.Signals | 0): boolean => {
        if (pid === undefined) return false;
        try {
          process.kill(-pid, signal);
          return true;
        } catch {
          return false; // ESRCH: the group is gone
        }
      };

      const settle = (result: HookResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timeoutTimer);
        clearTimeout(drainTimer);
        // After a timeout, members that outlived the leader still get their SIGKILL when it is due.
        if (killTimer !== undefined && !(timedOut && signalGroup(0))) clearTimeout(killTimer);
        for (const stream of [child.stdout, child.stderr]) if (stream !== null) release(stream);
        resolve(result);
      };

      const finish = (code: number | null, signal: NodeJS.Signals | null): void =>
        settle({ exitCode: code, signal, timedOut, durationMs: elapsed(), output: output.text(patterns) });

      child.stdout?.on('data', (chunk: Buffer) => output.push(chunk));
      child.stderr?.on('data', (chunk: Buffer) => output.push(chunk));

      child.on('error', (error: NodeJS.ErrnoException) => {
        // After a successful start, errors are failed kill() calls; the exit still arrives.
        if (child.pid !== undefined) return;
        settle(notStarted(explainSpawnError(error, program, hook.cwd), patterns, elapsed()));
      });

      child.on('exit', (code, signal) => {
        exit = { code, signal };
        clearTimeout(timeoutTimer);
        drainTimer = setTimeout(() => finish(code, signal), this.stdioGraceMs);
      });

      child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
        if (exit !== null) finish(exit.code, exit.signal);
        else finish(code, signal);
      });

      if (pid !== undefined) {
        timeoutTimer = setTimeout(() => {
          timedOut = true;
          if (!signalGroup('SIGTERM')) child.kill('SIGTERM');
          killTimer = setTimeout(() => {
            if (!signalGroup('SIGKILL')) child.kill('SIGKILL');
          }, this.killGraceMs);
        }, hook.timeoutMs);
      }
    });
  }

  private childEnv(hook: HookCommand): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const name of this.inheritEnv) {
      const value = process.env[name];
      if (value !== undefined) env[name] = value;
    }
    return { ...env, ...hook.env };
  }
}

/**
 * Stops collecting from a pipe that may still be open (held by a daemon the hook started) without
 * closing it: the daemon's next write would get SIGPIPE. The rest is read and discarded, and the pipe
 * no longer keeps the bot's event loop alive.
 */
function release(stream: Readable): void {
  stream.removeAllListeners('data');
  stream.resume();
  if (stream instanceof Socket) stream.unref();
}

function notStarted(message: string, patterns: readonly string[], durationMs: number): HookResult {
  return {
    exitCode: null,
    signal: null,
    timedOut: false,
    durationMs,
    output: redactPatterns(message, patterns),
  };
}

function explainSpawnError(error: NodeJS.ErrnoException, program: string, cwd: string | undefined): string {
  if (error.code === 'ENOENT') {
    if (cwd !== undefined && !existsSync(cwd)) return `working directory not found: ${cwd}`;
    if (program.includes('/')) {
      return `command not found: ${program} (looked for ${resolvePath(cwd ?? process.cwd(), program)})`;
    }
    return `command not found: ${program} (not in PATH)`;
  }
  if (error.code === 'EACCES') {
    return `permission denied: ${program} (is it executable? chmod +x it, or run it through its interpreter: ["sh", ${JSON.stringify(program)}])`;
  }
  return `could not start ${program}: ${error.message}`;
}
