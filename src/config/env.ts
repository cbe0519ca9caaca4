// The process environment, validated once into an AppConfig. The only reader of process.env in src/.
import { resolve } from 'node:path';

import { z } from 'zod';

import { ConfigError } from './errors';
import { deepFreeze } from './freeze';
import { describeValue } from './paths';
import { parseRedisUrl } from './redis-url';
import type { AppConfig, Role } from './types';

export { ConfigError } from './errors';

const ROLES = ['all', 'web', 'worker'] as const satisfies readonly Role[];
const DEFAULT_DATABASE_URL = 'postgres://localhost:5432/cutover';
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
    `fix it, or unset it to use ${DEFAULT_DATABASE_URL}`,
  ).default(DEFAULT_DATABASE_URL),
  REDIS_URL: z
    .string()
    .superRefine((text, ctx) => {
      const parsed = parseRedisUrl(text);
      if (!parsed.ok) {
        ctx.addIssue({
          code: 'custom',
          message: `${parsed.problem} — use redis://host:6379, rediss://… or redis+sentinel://sentinel1:26379,sentinel2:26379/<master-name>, or unset it to use redis://127.0.0.1:6379`,
        });
      }
    })
    .default('redis://127.0.0.1:6379'),
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
  // Without Slack settings the bot serves its local console only when asked to: a missing secret
  // must not turn a deployment into a console that acts as anyone.
  CUTOVER_LOCAL_CONSOLE: choiceSchema(
    ['1', '0', 'true', 'false'] as const,
    'set it to 1 to run the local console (no Slack), or unset it',
  )
    .transform((value) => value === '1' || value === 'true')
    .optional(),
  METRICS_TOKEN: z
    .string()
    .refine((token) => token.trim().length >= 16, {
      error: 'must be at least 16 characters — a token that short is guessed; unset it for no token',
    })
    .optional(),
  METRICS_LISTEN: z
    .string()
    .transform((text, ctx) => {
      const listen = parseListenAddress(text);
      if (listen) return listen;
      ctx.addIssue({
        code: 'custom',
        message: `must be host:port such as 127.0.0.1:9464 or [::1]:9464, got ${describeValue(text)} — or unset it to serve /metrics on PORT`,
      });
      return z.NEVER;
    })
    .optional(),
});

type EnvName = keyof z.input<typeof envSchema>;
const NAMES = Object.keys(envSchema.shape) as EnvName[];

/** `host:port`, `[v6]:port`; null for anything else. */
function parseListenAddress(text: string): { host: string; port: number } | null {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || !(port >= 1 && port <= 65535)) return null;
  return { host: (match[1] ?? match[2])!, port };
}

const isOn = (value: string | undefined): boolean => value === '1' || value?.trim().toLowerCase() === 'true';

/** Problems between variables, checked outside zod so they are reported even when a field fails. */
function slackProblems(vars: Partial<Record<EnvName, string>>): string[] {
  const console = isOn(vars.CUTOVER_LOCAL_CONSOLE);
  if (vars.SLACK_BOT_TOKEN !== undefined) {
    if (console) {
      return [
        'CUTOVER_LOCAL_CONSOLE: is on but SLACK_BOT_TOKEN is set — unset CUTOVER_LOCAL_CONSOLE to talk to Slack, or SLACK_BOT_TOKEN to run the local console',
      ];
    }
    return vars.SLACK_SIGNING_SECRET !== undefined
      ? []
      : [
          "SLACK_SIGNING_SECRET: is not set but SLACK_BOT_TOKEN is — copy the Signing Secret from the Slack app's Basic Information page, or unset SLACK_BOT_TOKEN and set CUTOVER_LOCAL_CONSOLE=1 to run the local console",
        ];
  }
  // Slack settings without the bot token most likely mean a misspelt or forgotten token; silently
  // falling back to the local console would hide that.
  const stray = (['SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN'] as const).filter(
    (name) => vars[name] !== undefined,
  );
  if (stray.length > 0) {
    const names = stray.join(' and ');
    return [
      `SLACK_BOT_TOKEN: is not set but ${names} ${stray.length > 1 ? 'are' : 'is'} — set SLACK_BOT_TOKEN for Slack mode, or unset ${names} and set CUTOVER_LOCAL_CONSOLE=1 to run the local console`,
    ];
  }
  if (!console) {
    return [
      'SLACK_BOT_TOKEN: is not set — set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to talk to Slack, or CUTOVER_LOCAL_CONSOLE=1 to run the local console on this machine instead (loopback only, no Slack)',
    ];
  }
  const role = vars.ROLE?.trim().toLowerCase();
  if (role !== undefined && role !== 'all') {
    return [
      `CUTOVER_LOCAL_CONSOLE: the local console runs with ROLE=all only, and ROLE is ${role} — unset ROLE, or set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET`,
    ];
  }
  return [];
}

/**
 * A database URL that names no user leaves the choice to `pg`: PGUSER, else USER. Without either
 * (containers, services) the server would be asked for no user at all, and start-up would fail
 * deep inside `pg` with "no PostgreSQL user name specified in startup packet".
 */
function databaseUserProblems(vars: Partial<Record<EnvName, string>>, env: NodeJS.ProcessEnv): string[] {
  let url: URL;
  try {
    url = new URL(vars.DATABASE_URL ?? DEFAULT_DATABASE_URL);
  } catch {
    return []; // reported by the field itself
  }
  const named = url.username !== '' || (url.searchParams.get('user') ?? '') !== '';
  const fromEnv = ['PGUSER', 'USER'].some((name) => (env[name]?.trim() ?? '') !== '');
  if (named || fromEnv) return [];
  const what =
    vars.DATABASE_URL === undefined
      ? `is not set, and its default (${DEFAULT_DATABASE_URL}) names no user`
      : 'names no user';
  return [
    `DATABASE_URL: ${what}, and neither PGUSER nor USER is set, so PostgreSQL would be asked for no user — put the user in the URL (postgres://cutover@host:5432/cutover) or set PGUSER`,
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
    ...databaseUserProblems(known, env),
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
    localConsole: slack === null && vars.CUTOVER_LOCAL_CONSOLE === true,
    metrics: { token: vars.METRICS_TOKEN?.trim() ?? null, listen: vars.METRICS_LISTEN ?? null },
  });
}
