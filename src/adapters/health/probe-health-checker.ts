// Probes a database once: a PostgreSQL session answering SELECT 1 (and naming its cluster's system
// identifier), a TCP connection accepted, or an HTTP endpoint answering 2xx. Never throws: every
// failure is an unhealthy result whose detail names the error code and whose `reach` says how the
// attempt ended (classified by the replication adapter's `reachabilityOf`, so that "refused" means
// the same everywhere), and no detail ever carries a URL or a credential.
import { connect as netConnect } from 'node:net';

import { Client } from 'pg';

import { reachabilityOf } from '../postgres/pg-errors';
import type { HealthChecker, HealthResult, HealthTarget, Reachability } from '../../ports/health';

type Outcome = Omit<HealthResult, 'latencyMs'>;

export interface ProbeHealthCheckerOptions {
  /** application_name of the PostgreSQL session (default "cutover-bot-health"). */
  applicationName?: string;
}

class ProbeTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`timeout after ${timeoutMs} ms`);
  }
}

const MAX_DETAIL = 300;

/** The strings that must never appear in a detail for `target`: its URL and any password in it. */
function secretsOf(target: HealthTarget): string[] {
  if (target.kind === 'tcp') return [];
  const secrets = [target.url];
  try {
    const url = new URL(target.url);
    // The user name is not a secret (and server messages name it); the password is.
    for (const part of [url.password]) {
      if (part === '') continue;
      secrets.push(part);
      try {
        secrets.push(decodeURIComponent(part));
      } catch {
        // not percent-encoded text: the raw form is already listed
      }
    }
  } catch {
    // not a parseable URL: only the whole text is known
  }
  // Longest first, so a URL is replaced whole before its parts; one-character names are too common to hunt.
  return [...new Set(secrets)].filter((s) => s.length > 1).sort((a, b) => b.length - a.length);
}

function redact(detail: string, secrets: readonly string[]): string {
  let text = detail;
  for (const secret of secrets) text = text.split(secret).join('***');
  // Any URL with credentials that slipped through (from a redirect, say) loses them.
  text = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1***@');
  return text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL)}…` : text;
}

function propertyOf(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/**
 * The errors of a failure, outermost first: its cause chain (fetch wraps the socket error) and the
 * members of AggregateErrors (one per address tried).
 */
function chainOf(error: unknown): unknown[] {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0 && seen.size < 10) {
    const current = queue.shift();
    if (current === undefined || current === null || seen.has(current)) continue;
    seen.add(current);
    queue.push(propertyOf(current, 'cause'));
    const errors = propertyOf(current, 'errors');
    if (Array.isArray(errors)) queue.push(...(errors as unknown[]));
  }
  return [...seen];
}

/** The first error of the chain that carries a code (ECONNREFUSED, 57P03, ...), if any. */
function firstCoded(chain: readonly unknown[]): unknown {
  return chain.find((item) => {
    const code = propertyOf(item, 'code');
    return typeof code === 'string' && code !== '';
  });
}

/** How the attempt ended, by the code of the error that says most (the socket's, under fetch's). */
function reachOf(error: unknown): Reachability {
  if (error instanceof ProbeTimeout) return 'timeout';
  const name = propertyOf(error, 'name');
  if (name === 'TimeoutError' || name === 'AbortError') return 'timeout';
  return reachabilityOf(firstCoded(chainOf(error)) ?? error);
}

/** A short description of a failure: its code (ECONNREFUSED, 57P03, ...) and message. */
function describeError(error: unknown, timeoutMs: number): string {
  if (error instanceof ProbeTimeout) return error.message;
  const name = propertyOf(error, 'name');
  if (name === 'TimeoutError' || name === 'AbortError') return `timeout after ${timeoutMs} ms`;
  const seen = chainOf(error);
  const coded = firstCoded(seen);
  const code = coded === undefined ? undefined : (propertyOf(coded, 'code') as string);
  const codedMessage = propertyOf(coded, 'message');
  const message = typeof codedMessage === 'string' ? codedMessage : undefined;
  const topMessage = error instanceof Error ? error.message : String(error);
  if (code === undefined) {
    // No code anywhere: the messages of the chain ("fetch failed: bad port").
    const chain = seen
      .map((item) => (item instanceof Error ? item.message : typeof item === 'string' ? item : ''))
      .filter((text, index, all) => text !== '' && all.indexOf(text) === index)
      .join(': ');
    if (/timeout|timed out/i.test(chain)) return `timeout after ${timeoutMs} ms (${chain})`;
    return chain || 'unknown error';
  }
  const text = message ?? topMessage;
  if (text === '' || text === code) return code;
  return text.includes(code) ? text : `${code} ${text}`;
}

/** Runs `work` with a deadline; `onTimeout` releases whatever `work` holds. */
async function withDeadline<T>(timeoutMs: number, work: Promise<T>, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new ProbeTimeout(timeoutMs));
    }, timeoutMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export class ProbeHealthChecker implements HealthChecker {
  private readonly applicationName: string;

  constructor(options: ProbeHealthCheckerOptions = {}) {
    this.applicationName = options.applicationName ?? 'cutover-bot-health';
  }

  async check(target: HealthTarget, timeoutMs: number): Promise<HealthResult> {
    // performance.now, not a Clock: latencyMs is a measurement for the report and decides nothing.
    const started = performance.now();
    const timeout = Number.isFinite(timeoutMs) && timeoutMs > 0 ? Math.ceil(timeoutMs) : 1;
    let outcome: Outcome;
    try {
      outcome = await this.probe(target, timeout);
    } catch (error) {
      outcome = failed(error, timeout);
    }
    let secrets: string[] = [];
    try {
      secrets = secretsOf(target);
    } catch {
      // a malformed target: nothing more to hide than what describeError already left out
    }
    return {
      ...outcome,
      detail: redact(outcome.detail, secrets),
      latencyMs: Math.round(performance.now() - started),
    };
  }

  private probe(target: HealthTarget, timeoutMs: number): Promise<Outcome> {
    switch (target.kind) {
      case 'postgres':
        return this.postgres(target.url, timeoutMs);
      case 'tcp':
        return this.tcp(target.host, target.port, timeoutMs);
      case 'http':
        return this.http(target.url, timeoutMs);
      default:
        return Promise.resolve({
          healthy: false,
          reach: 'error',
          identity: null,
          detail: `unknown health target kind ${JSON.stringify((target as { kind: unknown }).kind)}`,
        });
    }
  }

  private async postgres(url: string, timeoutMs: number): Promise<Outcome> {
    const client = new Client({
      connectionString: url,
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
      application_name: this.applicationName,
    });
    // A session the server drops (shutdown) emits 'error'; the pending call reports it.
    client.on('error', () => undefined);
    try {
      return await withDeadline(
        timeoutMs,
        (async () => {
          await client.connect();
          const row = await readIdentity(client);
          if (row?.ok !== 1)
            return { healthy: false, reach: 'answers', identity: null, detail: 'SELECT 1 returned no row' };
          const identity = row.system_identifier ?? null;
          return {
            healthy: true,
            reach: 'answers',
            identity,
            detail: [
              row.in_recovery ? 'accepts connections (in recovery)' : 'accepts connections',
              identity === null ? 'system identifier unreadable' : `system identifier ${identity}`,
            ].join(', '),
          };
        })(),
        () => void client.end().catch(() => undefined),
      );
    } catch (error) {
      const outcome = failed(error, timeoutMs);
      // 57P03: the server is up but refuses sessions (starting up, shutting down, recovering without hot standby).
      if (propertyOf(error, 'code') === '57P03')
        return { ...outcome, detail: `server is up but not accepting sessions: ${outcome.detail}` };
      return outcome;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private tcp(host: string, port: number, timeoutMs: number): Promise<Outcome> {
    return new Promise((resolve) => {
      const socket = netConnect({ host, port });
      let settled = false;
      const finish = (result: Outcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(result);
      };
      const timer = setTimeout(() => finish(failed(new ProbeTimeout(timeoutMs), timeoutMs)), timeoutMs);
      socket.once('connect', () =>
        finish({ healthy: true, reach: 'answers', identity: null, detail: 'accepted a connection' }),
      );
      socket.once('error', (error) => finish(failed(error, timeoutMs)));
    });
  }

  private async http(text: string, timeoutMs: number): Promise<Outcome> {
    // fetch refuses URLs with credentials: send them as Basic authorization instead.
    const url = new URL(text);
    const headers: Record<string, string> = {};
    if (url.username !== '' || url.password !== '') {
      const user = decodeURIComponent(url.username);
      const password = decodeURIComponent(url.password);
      headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      url.username = '';
      url.password = '';
    }
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel().catch(() => undefined);
    const status = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
    // Any answer, 503 included, comes from something that runs there: never proof that it is down.
    return {
      healthy: response.status >= 200 && response.status < 300,
      reach: 'answers',
      identity: null,
      detail: status,
    };
  }
}

/** An unhealthy outcome for a failed attempt: how it ended and what it said. */
function failed(error: unknown, timeoutMs: number): Outcome {
  return { healthy: false, reach: reachOf(error), identity: null, detail: describeError(error, timeoutMs) };
}

interface IdentityRow {
  ok: number;
  in_recovery: boolean;
  system_identifier?: string | null;
}

/**
 * SELECT 1 and the cluster's system identifier in one round trip; a server where pg_control_system()
 * is not allowed (or missing) still answers SELECT 1, without an identity.
 */
async function readIdentity(client: Client): Promise<IdentityRow | undefined> {
  try {
    const { rows } = await client.query<IdentityRow>(
      'SELECT 1 AS ok, pg_is_in_recovery() AS in_recovery, (SELECT system_identifier::text FROM pg_control_system()) AS system_identifier',
    );
    return rows[0];
  } catch (error) {
    const code = propertyOf(error, 'code');
    // 42501 insufficient privilege, 42883 no such function (a proxy or another engine).
    if (code !== '42501' && code !== '42883') throw error;
    const { rows } = await client.query<IdentityRow>('SELECT 1 AS ok, pg_is_in_recovery() AS in_recovery');
    return rows[0];
  }
}
