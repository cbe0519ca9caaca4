// A target's `health` value in the targets file: how to tell whether its database is up. One of
//   env:NAME                    a secret resolved at use: a PostgreSQL URL, an http(s) URL or host:port
//   { postgres: env:NAME }      a PostgreSQL connection URL (it holds credentials, so only a reference)
//   { tcp: "host:port" }        a TCP address that must accept a connection
//   { http: "https://..." }     an http(s) URL that must answer 2xx (no credentials inline)
import { z } from 'zod';

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

const tcpSchema = z
  .string({
    error: (issue) =>
      issue.input === undefined ? 'is required' : `${TCP_FORMAT}, got ${describeValue(issue.input)}`,
  })
  .transform((text, ctx) => {
    const parsed = parseTcpAddress(text.trim());
    if ('error' in parsed) {
      ctx.addIssue({ code: 'custom', message: `${parsed.error}, got ${JSON.stringify(text)}` });
      return z.NEVER;
    }
    return parsed;
  });

const httpSchema = z
  .string({
    error: (issue) =>
      issue.input === undefined
        ? 'is required'
        : `must be an http:// or https:// URL, got ${describeValue(issue.input)}`,
  })
  .transform((text, ctx) => {
    const problem = httpUrlProblem(text, false);
    if (problem !== null) {
      // A URL with credentials is not repeated: the password is in it.
      const shown = problem.startsWith('must not contain credentials') ? '' : `, got ${JSON.stringify(text)}`;
      ctx.addIssue({ code: 'custom', message: `${problem}${shown}` });
      return z.NEVER;
    }
    return text;
  });

const SHAPE =
  'must be env:NAME, or a mapping with exactly one of postgres: env:NAME, tcp: "host:port" or http: "https://..."';

export const healthSchema = z.unknown().transform((input, ctx): HealthConfig => {
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

/**
 * The probe target for a validated `health` value, resolving its secret from `env` now. Throws an
 * Error naming the variable (never its value) when it is unset or does not hold a usable address.
 */
export function toHealthTarget(config: HealthConfig, env: NodeJS.ProcessEnv): HealthTarget {
  switch (config.kind) {
    case 'tcp':
      return { kind: 'tcp', host: config.host, port: config.port };
    case 'http':
      return { kind: 'http', url: config.url };
    case 'postgres': {
      const value = resolveSecret(config.url, env).trim();
      if (!POSTGRES_URL.test(value))
        throw new Error(
          `environment variable ${config.url.envName} must hold a postgres:// or postgresql:// URL (referenced as ${config.url.toString()} under health.postgres)`,
        );
      return { kind: 'postgres', url: value };
    }
    case 'secret': {
      const value = resolveSecret(config.ref, env).trim();
      const where = `environment variable ${config.ref.envName} (referenced as ${config.ref.toString()} under health)`;
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
