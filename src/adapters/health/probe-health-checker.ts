// Probes a database once: a PostgreSQL session answering SELECT 1, a TCP connection accepted, or an
// HTTP endpoint answering 2xx. Never throws: every failure is an unhealthy result whose detail names
// the error code, and no detail ever carries a URL or a credential.
import { connect as netConnect } from 'node:net';

import { Client } from 'pg';

import type { HealthChecker, HealthResult, HealthTarget } from '../../ports/health';

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

/** A short description of a failure: its code (ECONNREFUSED, 57P03, ...) and message. */
function describeError(error: unknown, timeoutMs: number): string {
  if (error instanceof ProbeTimeout) return error.message;
  const name = propertyOf(error, 'name');
  if (name === 'TimeoutError' || name === 'AbortError') return `timeout after ${timeoutMs} ms`;
  // Walk the cause chain (fetch wraps the socket error) and AggregateErrors (several addresses).
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  let code: string | undefined;
  let message: string | undefined;
  while (queue.length > 0 && seen.size < 10) {
    const current = queue.shift();
    if (current === undefined || current === null || seen.has(current)) continue;
    seen.add(current);
    const currentCode = propertyOf(current, 'code');
    if (code === undefined && typeof currentCode === 'string' && currentCode !== '') {
      code = currentCode;
      const currentMessage = propertyOf(current, 'message');
      if (typeof currentMessage === 'string') message = currentMessage;
    }
    queue.push(propertyOf(current, 'cause'));
    const errors = propertyOf(current, 'errors');
    if (Array.isArray(errors)) queue.push(...(errors as unknown[]));
  }
  const topMessage = error instanceof Error ? error.message : String(error);
  if (code === undefined) {
    // No code anywhere: the messages of the chain ("fetch failed: bad port").
    const chain = [...seen]
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
    const started = performance.now();
    const timeout = Number.isFinite(timeoutMs) && timeoutMs > 0 ? Math.ceil(timeoutMs) : 1;
    let outcome: { healthy: boolean; detail: string };
    try {
      outcome = await this.probe(target, timeout);
    } catch (error) {
      outcome = { healthy: false, detail: describeError(error, timeout) };
    }
    let secrets: string[] = [];
    try {
      secrets = secretsOf(target);
    } catch {
      // a malformed target: nothing more to hide than what describeError already left out
    }
    return {
      healthy: outcome.healthy,
      detail: redact(outcome.detail, secrets),
      latencyMs: Math.round(performance.now() - started),
    };
  }

  private probe(target: HealthTarget, timeoutMs: number): Promise<{ healthy: boolean; detail: string }> {
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
          detail: `unknown health target kind ${JSON.stringify((target as { kind: unknown }).kind)}`,
        });
    }
  }

  private async postgres(url: string, timeoutMs: number): Promise<{ healthy: boolean; detail: string }> {
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
          const { rows } = await client.query<{ ok: number; in_recovery: boolean }>(
            'SELECT 1 AS ok, pg_is_in_recovery() AS in_recovery',
          );
          const row = rows[0];
          if (row?.ok !== 1) return { healthy: false, detail: 'SELECT 1 returned no row' };
          return {
            healthy: true,
            detail: row.in_recovery ? 'accepts connections (in recovery)' : 'accepts connections',
          };
        })(),
        () => void client.end().catch(() => undefined),
      );
    } catch (error) {
      const detail = describeError(error, timeoutMs);
      // 57P03: the server is up but refuses sessions (starting up, shutting down, recovering without hot standby).
      if (propertyOf(error, 'code') === '57P03')
        return { healthy: false, detail: `server is up but not accepting sessions: ${detail}` };
      return { healthy: false, detail };
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private tcp(host: string, port: number, timeoutMs: number): Promise<{ healthy: boolean; detail: string }> {
    return new Promise((resolve) => {
      const socket = netConnect({ host, port });
      let settled = false;
      const finish = (result: { healthy: boolean; detail: string }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(result);
      };
      const timer = setTimeout(
        () => finish({ healthy: false, detail: `timeout after ${timeoutMs} ms` }),
        timeoutMs,
      );
      socket.once('connect', () => finish({ healthy: true, detail: 'accepted a connection' }));
      socket.once('error', (error) => finish({ healthy: false, detail: describeError(error, timeoutMs) }));
    });
  }

  private async http(text: string, timeoutMs: number): Promise<{ healthy: boolean; detail: string }> {
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
    return { healthy: response.status >= 200 && response.status < 300, detail: status };
  }
}
