// A hook in the targets file: an operator's command (route traffic, stop/start a database, replace a
// node) written as an argv array, run without a shell. Secrets reach it only as `env:NAME` references.
import { z } from 'zod';

import type { HookCommand } from '../ports/hooks';
import { describeValue } from './paths';
import { resolveSecret, secretRefSchema } from './secrets';
import { SecretRef } from './types';
import { durationSchema } from './units';

export const DEFAULT_HOOK_TIMEOUT_MS = 5 * 60_000;

export const SHELL_LINE_REFUSED = 'command is an argv array, not a shell line: write ["./script.sh", "arg"]';

/** A hook as validated: secrets still references, resolved only by `toHookCommand`. */
export interface HookConfig {
  command: string[];
  timeoutMs: number;
  env?: Record<string, SecretRef | string>;
  cwd?: string;
}

// Whitespace, quotes and the characters a shell would interpret: a lone element holding any of them
// is a command line that would be run as one (missing) program name.
const SHELL_SYNTAX = /[\s;|&$()<>`'"\\*?~]/;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

// Variable names that say their value is a credential. PWD is the shell's working directory, not a
// password, so it is not on the list (MYSQL_PWD is).
const SECRET_NAME =
  /PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_?KEY|API_?KEY|ACCESS_?KEY|CREDENTIAL|^MYSQL_PWD$|AUTH$/i;

// Values that are credentials whatever the variable is called.
const SECRET_VALUES: readonly (readonly [pattern: RegExp, what: string])[] = [
  [/[a-z][a-z0-9+.-]*:\/\/[^\s/@:]*:[^\s@]+@/i, 'a URL with a password'],
  [/\bpassword\s*=/i, 'a connection string with a password'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a private key'],
  [
    /^(xox[abposr]-|xapp-|gh[pousr]_|github_pat_|glpat-|sk-|AKIA[0-9A-Z]{16}$|ASIA[0-9A-Z]{16}$)/,
    'an API token',
  ],
];

function secretLooking(name: string, value: string): string | null {
  if (SECRET_NAME.test(name)) return 'its name says it holds a credential';
  for (const [pattern, what] of SECRET_VALUES) if (pattern.test(value)) return `the value looks like ${what}`;
  return null;
}

const argumentSchema = z.string({
  error: (issue) =>
    issue.input === undefined
      ? 'is required'
      : `must be a string (quote numbers: "5432"), got ${describeValue(issue.input)}`,
});

const commandSchema = z
  .array(argumentSchema, {
    // A string here is almost always a shell line: say how to write it instead.
    error: (issue) =>
      issue.input === undefined
        ? 'is required'
        : typeof issue.input === 'string'
          ? SHELL_LINE_REFUSED
          : `must be a list: the program and its arguments, such as ["./script.sh", "arg"], got ${describeValue(issue.input)}`,
  })
  .superRefine((argv, ctx) => {
    const [program] = argv;
    if (program === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'must not be empty: list the program and its arguments, such as ["./script.sh", "arg"]',
      });
    } else if (program.trim() === '') {
      ctx.addIssue({ code: 'custom', path: [0], message: 'the program (first element) must not be empty' });
    } else if (argv.length === 1 && SHELL_SYNTAX.test(program)) {
      ctx.addIssue({ code: 'custom', message: SHELL_LINE_REFUSED });
    }
  });

// Messages never repeat an env value: a refused one may be the secret itself.
const envSchema = z
  .record(
    z.string(),
    z.string({
      error: (issue) =>
        issue.input === undefined
          ? 'is required'
          : 'must be a string (quote numbers: "5432") or an env:NAME reference',
    }),
    {
      error: (issue) =>
        issue.code === 'invalid_type'
          ? 'must be a mapping of environment variable names to values or env:NAME references'
          : undefined,
    },
  )
  .transform((env, ctx) => {
    const parsed: Record<string, SecretRef | string> = {};
    for (const [name, text] of Object.entries(env)) {
      if (!ENV_NAME.test(name)) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message:
            'is not a valid environment variable name (letters, digits and _, not starting with a digit)',
        });
        continue;
      }
      if (text.startsWith('env:')) {
        const ref = secretRefSchema.safeParse(text);
        if (ref.success) parsed[name] = ref.data;
        else
          for (const issue of ref.error.issues)
            ctx.addIssue({ code: 'custom', path: [name], message: issue.message });
        continue;
      }
      const reason = secretLooking(name, text);
      if (reason !== null) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: `looks like a secret (${reason}): write an env:NAME reference such as env:${name} and set that variable in the bot's environment; secrets are never written inline in the targets file`,
        });
        continue;
      }
      parsed[name] = text;
    }
    return parsed;
  });

/** The keys a hook mapping may have (for "did you mean" suggestions on unknown keys). */
export const HOOK_KEYS: readonly string[] = ['command', 'timeout', 'env', 'cwd'];

export const hookSchema = z
  .object(
    {
      command: commandSchema,
      timeout: durationSchema.optional(),
      env: envSchema.optional(),
      cwd: z
        .string({ error: (issue) => `must be a directory path, got ${describeValue(issue.input)}` })
        .min(1, { error: 'must not be empty (leave it out to run in the working directory of the bot)' })
        .optional(),
    },
    {
      error: (issue) =>
        issue.code === 'invalid_type'
          ? 'must be a mapping such as { command: ["./script.sh", "arg"] }'
          : undefined,
    },
  )
  .strict()
  .transform(({ command, timeout, env, cwd }): HookConfig => ({
    command,
    timeoutMs: timeout ?? DEFAULT_HOOK_TIMEOUT_MS,
    ...(env !== undefined && { env }),
    ...(cwd !== undefined && { cwd }),
  }));

/**
 * The command to run, with its `env:` references resolved from `env` now (at use time, so a rotated
 * secret is picked up), and the resolved values, which the caller must redact from anything it shows.
 * Throws a clear Error naming the variable when a referenced one is unset or empty.
 */
export function toHookCommand(
  config: HookConfig,
  env: NodeJS.ProcessEnv,
): { hook: HookCommand; secrets: string[] } {
  const secrets: string[] = [];
  let childEnv: Record<string, string> | undefined;
  if (config.env !== undefined) {
    childEnv = {};
    for (const [name, value] of Object.entries(config.env)) {
      if (value instanceof SecretRef) {
        let resolved: string;
        try {
          resolved = resolveSecret(value, env);
        } catch (error) {
          throw new Error(`hook environment variable ${name}: ${(error as Error).message}`, { cause: error });
        }
        if (!secrets.includes(resolved)) secrets.push(resolved);
        childEnv[name] = resolved;
      } else {
        childEnv[name] = value;
      }
    }
  }
  const hook: HookCommand = {
    command: [...config.command],
    timeoutMs: config.timeoutMs,
    ...(childEnv !== undefined && { env: childEnv }),
    ...(config.cwd !== undefined && { cwd: config.cwd }),
  };
  return { hook, secrets };
}
