// A target's `health` value in the targets file: how to tell whether its database is up. One of
//   env:NAME                    a secret resolved at use: a PostgreSQL URL, an http(s) URL or host:port
//   { postgres: env:NAME }      a PostgreSQL connection URL (it holds credentials, so only a reference)
//   { tcp: "host:port" }        a TCP address that must accept a connection
//   { http: "https://..." }     an http(s) URL that must answer 2xx (no credentials inline)
// A strategy that checks two servers (volume-swap) takes `{ from: …, to: … }`, or one value naming
// the server with placeholders (`{ tcp: "{instanceId}.eu-west-1.compute.internal:5432" }`).
import { z } from 'zod';

import { describeUnknownPlaceholders, placeholdersIn, substitutePlaceholders } from '../hooks/placeholders';
import type { HealthTarget } from '../ports/health';
import { describeValue } from './paths';
import { resolveSecret, secretRefSchema } from './secrets';
import type { SecretRef } from './types';

/** A `health` value as validated: secrets still references, resolved only by `toHealthTarget`. */
export type HealthConfig =
  | { kind: 'secret'; ref: SecretRef }
  | { kind: 'postgres'; url: SecretRef }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'http'; url: string };

/** The keys a `health` mapping may have (exactly one of them). */
export const HEALTH_KEYS: readonly string[] = ['postgres', 'tcp', 'http'];

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;
const PORT = /^\d{1,5}$/;
const POSTGRES_URL = /^postgres(?:ql)?:\/\//i;
const HTTP_URL = /^https?:\/\//i;

const TCP_FORMAT = 'must be host:port, such as "db.internal:5432" or "[::1]:5432"';

/**
 * `host:port` (IPv6 hosts in brackets) as `{ host, port }`, or why it is not one. The reason never
 * repeats the text: a resolved secret may be passed here.
 */
export function parseTcpAddress(text: string): { host: string; port: number } | { error: string } {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return { error: TCP_FORMAT };
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (!IPV6.test(host) || !host.includes(':'))
      return { error: `${TCP_FORMAT}: the host is not an IPv6 address` };
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return { error: TCP_FORMAT };
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) return { error: `${TCP_FORMAT}: write an IPv6 host in brackets` };
    if (host === '') return { error: `${TCP_FORMAT}: the host is empty` };
    const looksNumeric = /^[\d.]+$/.test(host);
    if (looksNumeric ? !IPV4.test(host) : !HOSTNAME.test(host))
      return { error: `${TCP_FORMAT}: the host is not a valid host name or IPv4 address` };
  }
  if (!PORT.test(portText)) return { error: `${TCP_FORMAT}: the port must be a number from 1 to 65535` };
  const port = Number(portText);
  if (port < 1 || port > 65535) return { error: `${TCP_FORMAT}: the port must be a number from 1 to 65535` };
  return { host, port };
}

/** Why `text` is not an http(s) URL usable for a health check, or null. Never repeats the text. */
function httpUrlProblem(text: string, allowCredentials: boolean): string | null {
  if (!HTTP_URL.test(text)) return 'must be an http:// or https:// URL';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a valid http(s) URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http:// or https:// URL';
  if (url.hostname === '') return 'is an http(s) URL without a host';
  if (!allowCredentials && (url.username !== '' || url.password !== ''))
    return "must not contain credentials: write the URL as an env:NAME reference (env:NAME alone, not under http:) and set that variable in the bot's environment";
  return null;
}

/** Placeholder names a value may use, each with a sample value to validate the text with. */
export type PlaceholderSamples = Readonly<Record<string, string>>;

/**
 * `text` with its placeholders filled with the samples, or why it cannot be: an unknown name. The
 * shape of what it holds is then checked on the filled text.
 */
function fillSamples(text: string, samples: PlaceholderSamples): { filled: string } | { error: string } {
  // Without placeholders a brace is only a character, judged as the address's own shape.
  if (Object.keys(samples).length === 0) return { filled: text };
  const names = placeholdersIn([text]);
  const unknown = names.filter((name) => !Object.hasOwn(samples, name));
  if (unknown.length > 0) {
    return { error: `has ${describeUnknownPlaceholders(unknown, Object.keys(samples))}` };
  }
  return { filled: names.length > 0 ? (substitutePlaceholders([text], samples)[0] ?? text) : text };
}

const tcpSchemaWith = (samples: PlaceholderSamples) =>
  z
    .string({
      error: (issue) =>
        issue.input === undefined ? 'is required' : `${TCP_FORMAT}, got ${describeValue(issue.input)}`,
    })
    .transform((raw, ctx) => {
      const text = raw.trim();
      const sample = fillSamples(text, samples);
      const parsed = 'error' in sample ? sample : parseTcpAddress(sample.filled);
      if ('error' in parsed || 'error' in sample) {
        const error = 'error' in parsed ? parsed.error : TCP_FORMAT;
        ctx.addIssue({ code: 'custom', message: `${error}, got ${JSON.stringify(raw)}` });
        return z.NEVER;
      }
      // With placeholders the host stays a template (the port never holds one): filled at use.
      if (sample.filled === text) return parsed;
      return { host: text.slice(0, text.lastIndexOf(':')), port: parsed.port };
    });

const httpSchemaWith = (samples: PlaceholderSamples) =>
  z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? 'is required'
          : `must be an http:// or https:// URL, got ${describeValue(issue.input)}`,
    })
    .transform((text, ctx) => {
      const sample = fillSamples(text, samples);
      const problem = 'error' in sample ? sample.error : httpUrlProblem(sample.filled, false);
      if (problem !== null) {
        // A URL with credentials is not repeated: the password is in it.
        const shown = problem.startsWith('must not contain credentials')
          ? ''
          : `, got ${JSON.stringify(text)}`;
        ctx.addIssue({ code: 'custom', message: `${problem}${shown}` });
        return z.NEVER;
      }
      return text;
    });

const SHAPE =
  'must be env:NAME, or a mapping with exactly one of postgres: env:NAME, tcp: "host:port" or http: "https://..."';

/**
 * A `health` value whose tcp and http texts may hold the placeholders of `samples` (filled per
 * server by `toHealthTarget`'s `vars`); env: values are checked for them when resolved.
 */
export function healthSchemaWith(samples: PlaceholderSamples) {
  const tcpSchema = tcpSchemaWith(samples);
  const httpSchema = httpSchemaWith(samples);
  return z.unknown().transform((input, ctx): HealthConfig => {
    const fail = (message: string, path: PropertyKey[] = []): never => {
      ctx.addIssue({ code: 'custom', message, path });
      return z.NEVER;
    };
    const copy = (issues: readonly z.core.$ZodIssue[], key: string): never => {
      for (const issue of issues)
        ctx.addIssue({ code: 'custom', message: issue.message, path: [key, ...issue.path] });
      return z.NEVER;
    };
    if (input === undefined) return fail('is required');
    if (typeof input === 'string') {
      const ref = secretRefSchema.safeParse(input);
      if (!ref.success) return fail(`${SHAPE}; a string ${ref.error.issues[0]?.message ?? 'is not valid'}`);
      return { kind: 'secret', ref: ref.data };
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input))
      return fail(`${SHAPE}, got ${describeValue(input)}`);
    const keys = Object.keys(input);
    const unknown = keys.filter((key) => !HEALTH_KEYS.includes(key));
    if (unknown.length > 0)
      return fail(
        `has unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((key) => JSON.stringify(key)).join(', ')}: ${SHAPE}`,
      );
    if (keys.length !== 1)
      return fail(keys.length === 0 ? `is empty: ${SHAPE}` : `has ${keys.join(' and ')}: give exactly one`);
    const key = keys[0] as 'postgres' | 'tcp' | 'http';
    const value = (input as Record<string, unknown>)[key];
    switch (key) {
      case 'postgres': {
        const ref = secretRefSchema.safeParse(value);
        if (!ref.success) return copy(ref.error.issues, key);
        return { kind: 'postgres', url: ref.data };
      }
      case 'tcp': {
        const address = tcpSchema.safeParse(value);
        if (!address.success) return copy(address.error.issues, key);
        return { kind: 'tcp', ...address.data };
      }
      case 'http': {
        const url = httpSchema.safeParse(value);
        if (!url.success) return copy(url.error.issues, key);
        return { kind: 'http', url: url.data };
      }
    }
  });
}

/** A `health` value without placeholders (one server). */
export const healthSchema = healthSchemaWith({});

/**
 * The probe target for a validated `health` value, resolving its secret from `env` now and filling
 * its placeholders from `vars` (when given). Throws an Error naming the variable (never its value)
 * when it is unset or does not hold a usable address.
 */
export function toHealthTarget(
  config: HealthConfig,
  env: NodeJS.ProcessEnv,
  vars?: Readonly<Record<string, string>>,
): HealthTarget {
  const fill = (text: string, where: string): string => {
    if (vars === undefined) return text;
    const names = placeholdersIn([text]);
    const unknown = names.filter((name) => !Object.hasOwn(vars, name));
    if (unknown.length > 0)
      throw new Error(`${where} has ${describeUnknownPlaceholders(unknown, Object.keys(vars))}`);
    return names.length > 0 ? (substitutePlaceholders([text], vars)[0] ?? text) : text;
  };
  switch (config.kind) {
    case 'tcp':
      return { kind: 'tcp', host: fill(config.host, 'health.tcp'), port: config.port };
    case 'http':
      return { kind: 'http', url: fill(config.url, 'health.http') };
    case 'postgres': {
      const where = `environment variable ${config.url.envName} (referenced as ${config.url.toString()} under health.postgres)`;
      const value = fill(resolveSecret(config.url, env).trim(), where);
      if (!POSTGRES_URL.test(value))
        throw new Error(
          `environment variable ${config.url.envName} must hold a postgres:// or postgresql:// URL (referenced as ${config.url.toString()} under health.postgres)`,
        );
      return { kind: 'postgres', url: value };
    }
    case 'secret': {
      const where = `environment variable ${config.ref.envName} (referenced as ${config.ref.toString()} under health)`;
      const value = fill(resolveSecret(config.ref, env).trim(), where);
      if (POSTGRES_URL.test(value)) return { kind: 'postgres', url: value };
      if (HTTP_URL.test(value)) {
        const problem = httpUrlProblem(value, true);
        if (problem !== null) throw new Error(`${where} ${problem}`);
        return { kind: 'http', url: value };
      }
      if (!value.includes('://')) {
        const address = parseTcpAddress(value);
        if (!('error' in address)) return { kind: 'tcp', ...address };
        throw new Error(
          `${where} must hold a postgres:// or http(s):// URL or a host:port address; as host:port: ${address.error}`,
        );
      }
      throw new Error(
        `${where} must hold a postgres://, postgresql://, http:// or https:// URL or a host:port address`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Two servers: the one a database leaves and the one it moves to

export type Side = 'from' | 'to';

/**
 * How to check each of two servers: a value per side, or one value that names the server with a
 * placeholder (filled per side by `toSideHealthTarget`).
 */
export type SidedHealthConfig =
  { kind: 'sides'; from: HealthConfig; to: HealthConfig } | { kind: 'template'; health: HealthConfig };

/** The placeholder that must name the server in a shared value. */
const SERVER_PLACEHOLDER = 'instanceId';

const ONE_ADDRESS =
  'names one address for both servers, which cannot tell the old server from the new one: ' +
  'give health: { from: …, to: … }, or put {instanceId} where the server goes';

/** The text of a value written inline (tcp, http), where a placeholder can be seen before use. */
function inlineText(config: HealthConfig): string | null {
  if (config.kind === 'tcp') return config.host;
  if (config.kind === 'http') return config.url;
  return null;
}

/**
 * `health` of a strategy with two servers: `{ from: <health>, to: <health> }` (each without
 * placeholders), or one `<health>` whose text names the server with `{instanceId}` (`samples` lists
 * the placeholders allowed, with sample values).
 */
export function sidedHealthSchemaWith(samples: PlaceholderSamples) {
  const shared = healthSchemaWith(samples);
  return z.unknown().transform((input, ctx): SidedHealthConfig => {
    const sides =
      typeof input === 'object' && input !== null && !Array.isArray(input) ? Object.keys(input) : [];
    if (sides.includes('from') || sides.includes('to')) {
      const extra = sides.filter((key) => key !== 'from' && key !== 'to');
      if (extra.length > 0 || sides.length !== 2) {
        ctx.addIssue({
          code: 'custom',
          message:
            extra.length > 0
              ? `has ${extra.map((key) => JSON.stringify(key)).join(', ')} beside from/to: give { from: …, to: … } only`
              : `needs both from and to`,
        });
        return z.NEVER;
      }
      const parsed = z.object({ from: healthSchema, to: healthSchema }).safeParse(input);
      if (!parsed.success) {
        for (const issue of parsed.error.issues)
          ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
        return z.NEVER;
      }
      return { kind: 'sides', from: parsed.data.from, to: parsed.data.to };
    }
    const parsed = shared.safeParse(input);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
      return z.NEVER;
    }
    const text = inlineText(parsed.data);
    if (text !== null && !placeholdersIn([text]).includes(SERVER_PLACEHOLDER)) {
      ctx.addIssue({ code: 'custom', message: ONE_ADDRESS });
      return z.NEVER;
    }
    return { kind: 'template', health: parsed.data };
  });
}

/**
 * The probe target of one side. A shared value is filled from `vars` (which must hold
 * `instanceId`); an env: value that turns out not to name the server is refused, as an inline one
 * is when the file is read.
 */
export function toSideHealthTarget(
  config: SidedHealthConfig,
  side: Side,
  env: NodeJS.ProcessEnv,
  vars: Readonly<Record<string, string>>,
): HealthTarget {
  if (config.kind === 'sides') return toHealthTarget(config[side], env, undefined);
  const health = config.health;
  if (health.kind === 'secret' || health.kind === 'postgres') {
    const ref = health.kind === 'secret' ? health.ref : health.url;
    if (!placeholdersIn([resolveSecret(ref, env)]).includes(SERVER_PLACEHOLDER))
      throw new Error(
        `environment variable ${ref.envName} (referenced as ${ref.toString()} under health) ${ONE_ADDRESS}`,
      );
  }
  return toHealthTarget(health, env, vars);
}
