// The sessions of the PostgreSQL adapter: short-lived `pg` clients, or one shared session per URL
// inside a scope.
//
// Outside a scope every call opens its own connection with a connect timeout and a statement_timeout,
// and closes it before it returns: a cutover must never hold sessions open on a primary it is about to
// fence. Inside `withSessions` (one step's executor), calls share one session per URL instead, closed
// when the scope ends; a connection set-up costs a backend fork and authentication, several ms inside
// the write-unavailable window.
import { AsyncLocalStorage } from 'node:async_hooks';
import { Client } from 'pg';

export interface SessionPoolOptions {
  /** Connect timeout of every session. */
  connectTimeoutMs: number;
  /** statement_timeout of every session; the client gives up 1 s after it. */
  statementTimeoutMs: number;
  /** application_name of the sessions. */
  applicationName: string;
}

/** One session of a scope: opened on first use, used by one call at a time. */
interface Lease {
  url: string;
  client: Client;
  connected: Promise<unknown>;
  /** Fulfils when the calls queued on this session so far are done. */
  tail: Promise<unknown>;
  /** The scope's reload count for `url` when the session started (see SessionScope.reloads). */
  reloadsAtStart: number;
}

interface SessionScope {
  leases: Map<string, Lease>;
  /** Configuration reloads this scope made per URL: a session started before one is not a "new session". */
  reloads: Map<string, number>;
  closed: boolean;
}

export class SessionPool {
  private readonly scopes = new AsyncLocalStorage<SessionScope>();

  constructor(private readonly options: SessionPoolOptions) {}

  /**
   * Runs `work`; the sessions it asks for (in its async context) are shared, one per URL, and every
   * such session is closed before this settles. Nested scopes join the outer one.
   */
  async withSessions<T>(work: () => Promise<T>): Promise<T> {
    if (this.scopes.getStore()) return work();
    const scope: SessionScope = { leases: new Map(), reloads: new Map(), closed: false };
    try {
      return await this.scopes.run(scope, work);
    } finally {
      scope.closed = true;
      // end() sends Terminate and closes our side at once; waiting for the server's goodbye (about 2 ms,
      // the backend's exit) would only delay the step's result, inside the write-unavailable window.
      for (const lease of scope.leases.values()) void lease.client.end().catch(() => undefined);
      scope.leases.clear();
    }
  }

  /** A new, unconnected client with the pool's timeouts and application_name. */
  newClient(url: string): Client {
    const client = new Client({
      connectionString: url,
      connectionTimeoutMillis: this.options.connectTimeoutMs,
      statement_timeout: this.options.statementTimeoutMs,
      query_timeout: this.options.statementTimeoutMs + 1000,
      application_name: this.options.applicationName,
    });
    // A session the server terminates while idle emits 'error'; the next query reports it.
    client.on('error', () => undefined);
    return client;
  }

  /** A connected session that the caller must end. */
  async connect(url: string): Promise<Client> {
    const client = this.newClient(url);
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Runs `work` on a session to `url`: the scope's (if any), else one of its own that it always closes.
   * `sinceReload`: the session must have started after every reload this scope made on `url`.
   */
  async session<T>(
    url: string,
    work: (client: Client) => Promise<T>,
    options: { sinceReload?: boolean } = {},
  ): Promise<T> {
    const scope = this.scopes.getStore();
    if (!scope || scope.closed) {
      const client = await this.connect(url);
      try {
        return await work(client);
      } finally {
        await client.end().catch(() => undefined);
      }
    }
    let lease = scope.leases.get(url);
    if (lease && options.sinceReload && lease.reloadsAtStart !== (scope.reloads.get(url) ?? 0)) {
      this.drop(scope, lease);
      lease = undefined;
    }
    if (!lease) {
      const client = this.newClient(url);
      lease = this.lease(scope, url, client, client.connect());
    }
    return this.onLease(scope, lease, work);
  }

  /** Records a configuration reload on `url`, so that `sinceReload` users take a session started after it. */
  noteReload(url: string): void {
    const scope = this.scopes.getStore();
    if (scope) scope.reloads.set(url, (scope.reloads.get(url) ?? 0) + 1);
  }

  /**
   * Runs `work` on `client`, a session started after the latest reload: in a scope it becomes the scope's
   * session for `url` (replacing an older one), else it is closed afterwards.
   */
  async adopt<T>(url: string, client: Client, work: (client: Client) => Promise<T>): Promise<T> {
    const scope = this.scopes.getStore();
    if (!scope || scope.closed) {
      try {
        return await work(client);
      } finally {
        await client.end().catch(() => undefined);
      }
    }
    const previous = scope.leases.get(url);
    if (previous) this.drop(scope, previous);
    return this.onLease(scope, this.lease(scope, url, client, Promise.resolve()), work);
  }

  private lease(scope: SessionScope, url: string, client: Client, connected: Promise<unknown>): Lease {
    // Awaited by every user; this branch only keeps an early failure from counting as unhandled.
    connected.catch(() => undefined);
    const lease: Lease = {
      url,
      client,
      connected,
      tail: Promise.resolve(),
      reloadsAtStart: scope.reloads.get(url) ?? 0,
    };
    scope.leases.set(url, lease);
    // Terminated or lost while idle: the next call gets a new session instead of this one's error.
    client.once('end', () => {
      if (scope.leases.get(url) === lease) scope.leases.delete(url);
    });
    return lease;
  }

  private async onLease<T>(
    scope: SessionScope,
    lease: Lease,
    work: (client: Client) => Promise<T>,
  ): Promise<T> {
    // One call at a time: a probe's BEGIN ... ROLLBACK must not interleave with another call's queries.
    const run = lease.tail.then(async () => {
      await lease.connected;
      return work(lease.client);
    });
    lease.tail = run.catch(() => undefined);
    try {
      return await run;
    } catch (error) {
      // The session may be broken or inside a failed transaction: the next call gets a new one.
      this.drop(scope, lease);
      throw error;
    }
  }

  private drop(scope: SessionScope, lease: Lease): void {
    if (scope.leases.get(lease.url) === lease) scope.leases.delete(lease.url);
    void lease.client.end().catch(() => undefined);
  }
}
