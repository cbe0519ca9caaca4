// The process environment, validated once into an AppConfig. The only reader of process.env in src/.
import { resolve } from 'node:path';

import { z } from 'zod';

import { ConfigError } from './errors';
import { deepFreeze } from './freeze';
import { describeValue } from './paths';
import type { AppConfig, Role } from './types';

export { ConfigError } from './errors';

const ROLES = ['all', 'web', 'worker'] as const satisfies readonly Role[];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

// Messages never repeat URLs or tokens: a database URL usually carries a password.
function urlSchema(protocols: readonly string[], what: string, fix: string) {
  return z.string().refine(
    (text) => {
      try {
        return protocols.includes(new URL(text).protocol);
      } catch {
        return false;
      }
    },
    { error: `must be ${what} — ${fix}` },
  );
}

function choiceSchema<const T extends readonly string[]>(choices: T, fix: string) {
  return z
    .string()
    .transform((text) => text.trim().toLowerCase())
    .pipe(
      z.enum(choices, {
        error: (issue) => `must be one of ${choices.join(', ')}, got ${describeValue(issue.input)} — ${fix}`,
      }),
    );
}

const envSchema = z.object({
  SLACK_SIGNING_SECRET: z.string().optional(),
  SLACK_BOT_TOKEN: z.string().optional(),
  SLACK_APP_TOKEN: z.string().optional(),
  SLACK_API_URL: urlSchema(
    ['http:', 'https:'],
    'an http(s) URL such as http://127.0.0.1:9000/api/',
    "fix it, or unset it to use Slack's own API",
  ).optional(),
  DATABASE_URL: urlSchema(
    ['postgres:', 'postgresql:'],
    'a PostgreSQL URL such as postgres://user:password@host:5432/cutover',
    'fix it, or unset it to use postgres://localhost:5432/cutover',
  ).default('postgres://localhost:5432/cutover'),
  REDIS_URL: urlSchema(
    ['redis:', 'rediss:'],
    'a Redis URL such as redis://host:6379',
    'fix it, or unset it to use redis://127.0.0.1:6379',
  ).default('redis://127.0.0.1:6379'),
  // Resolved once here so a later chdir cannot change which file is meant.
  CUTOVER_CONFIG: z
    .string()
    .default('./cutover.yaml')
    .transform((path) => resolve(path)),
  PORT: z
    .string()
    .default('3000')
    .transform((text, ctx) => {
      const port = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
      if (port >= 1 && port <= 65535) return port;
      ctx.addIssue({
        code: 'custom',
        message: `must be a whole number from 1 to 65535, got ${describeValue(text)} — set it to the HTTP port to listen on, or unset it for 3000`,
      });
      return z.NEVER;
    }),
  ROLE: choiceSchema(ROLES, 'use all (default), web (Slack + HTTP only) or worker (jobs only)').default(
    'all',
  ),
  LOG_LEVEL: choiceSchema(LOG_LEVELS, 'unset it for info').default('info'),
});

type EnvName = keyof z.input<typeof envSchema>;
const NAMES = Object.keys(envSchema.shape) as EnvName[];

/** Problems between variables, checked outside zod so they are reported even when a field fails. */
function slackProblems(vars: Partial<Record<EnvName, string>>): string[] {
  if (vars.SLACK_BOT_TOKEN !== undefined) {
    return vars.SLACK_SIGNING_SECRET !== undefined
      ? []
      : [
          "SLACK_SIGNING_SECRET: is not set but SLACK_BOT_TOKEN is — copy the Signing Secret from the Slack app's Basic Information page, or unset SLACK_BOT_TOKEN to run the local console",
        ];
  }
  // Slack settings without the bot token most likely mean a misspelt or forgotten token; silently
  // falling back to the local console would hide that.
  const stray = (['SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN'] as const).filter(
    (name) => vars[name] !== undefined,
  );
  if (stray.length === 0) return [];
  const names = stray.join(' and ');
  return [
    `SLACK_BOT_TOKEN: is not set but ${names} ${stray.length > 1 ? 'are' : 'is'} — set SLACK_BOT_TOKEN for Slack mode, or unset ${names} to run the local console`,
  ];
}

export function readEnv(env: NodeJS.ProcessEnv = process.env): AppConfig {
  // Only the variables we know, and an empty value counts as unset (`FOO=` in a .env file or compose).
  const known: Partial<Record<EnvName, string>> = {};
  for (const name of NAMES) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') known[name] = value;
  }
  const parsed = envSchema.safeParse(known);
  const problems = [
    ...(parsed.success
      ? []
      : parsed.error.issues.map((issue) => `${String(issue.path[0])}: ${issue.message}`)),
    ...slackProblems(known),
  ];
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const vars = parsed.data;
  const slack =
    vars.SLACK_BOT_TOKEN === undefined || vars.SLACK_SIGNING_SECRET === undefined
      ? null
      : {
          signingSecret: vars.SLACK_SIGNING_SECRET,
          botToken: vars.SLACK_BOT_TOKEN,
          appToken: vars.SLACK_APP_TOKEN ?? null,
          apiUrl: vars.SLACK_API_URL ?? null,
        };
  return deepFreeze({
    slack,
    databaseUrl: vars.DATABASE_URL,
    redisUrl: vars.REDIS_URL,
    configPath: vars.CUTOVER_CONFIG,
    port: vars.PORT,
    role: vars.ROLE,
    logLevel: vars.LOG_LEVEL,
  });
}
