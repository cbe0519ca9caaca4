// PoolerPort for PgBouncer, through its admin console (the `pgbouncer` database: simple query
// protocol only, one short-lived session per command). A PAUSE that cannot finish (a client holds a
// server connection: a long transaction, session pooling) is cancelled with a RESUME on a second
// session, so that clients are never left paused by the bot.
import { Client } from 'pg';
import { systemClock, type Clock } from '../../ports/clock';
import type { ClientFigures, PoolerDatabase, PoolerPort, WriteProbe } from '../../ports/pooler';

const CONNECT_TIMEOUT_MS = 3_000;
const COMMAND_TIMEOUT_MS = 5_000;
/** How often the write probe writes, and how long one write may wait before it counts as failed. */
const PROBE_INTERVAL_MS = 5;
const PROBE_WRITE_TIMEOUT_MS = 60_000;
/** How long a RESUME waits for the clients that queued during the PAUSE to get a server connection. */
const RESUME_SETTLE_MS = 3_000;
/** A write to the bot's canary table on the target (created, and granted to every role, by the prepare step). */
const CANARY_WRITE =
  'INSERT INTO cutover_bot.canary (run_id) VALUES ($1) ON CONFLICT (run_id) DO UPDATE SET written_at = now()';

/** PgBouncer names databases as identifiers; anything else is refused before it reaches the console. */
function databaseName(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_$-]*$/.test(name))
    throw new Error(`not a PgBouncer database name: ${JSON.stringify(name)}`);
  return name;
}

async function admin<T extends object>(
  adminUrl: string,
  command: string,
  timeoutMs = COMMAND_TIMEOUT_MS,
): Promise<T[]> {
  const client = new Client({
    connectionString: adminUrl,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: timeoutMs,
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<T>(command)).rows;
  } finally {
    // A command cut short by its timeout leaves the session waiting for PgBouncer's answer.
    void client.end().catch(() => undefined);
  }
}

export interface PgBouncerAdminOptions {
  /** Time for the RESUME settle deadline (default systemClock: it bounds real sleeps). */
  clock?: Clock;
}

export class PgBouncerAdmin implements PoolerPort {
  private readonly clock: Clock;

  constructor(options: PgBouncerAdminOptions = {}) {
    this.clock = options.clock ?? systemClock;
  }

  async describe(adminUrl: string): Promise<{ version: string; databases: PoolerDatabase[] }> {
    const version = (await admin<{ version: string }>(adminUrl, 'SHOW VERSION'))[0]?.version ?? 'unknown';
    const rows = await admin<{
      name: string;
      host: string | null;
      port: number | string | null;
      paused: number | string;
    }>(adminUrl, 'SHOW DATABASES');
    return {
      version,
      databases: rows.map((row) => ({
        name: row.name,
        host: row.host,
        port: row.port === null ? null : Number(row.port),
        paused: Number(row.paused) === 1,
      })),
    };
  }

  /**
   * The databases a command names: the given ones, or every entry but the admin console's. Always by
   * name, never a global PAUSE: PgBouncer 1.18 shows a database's pause, not a global one.
   */
  private async namesOf(adminUrl: string, databases: readonly string[]): Promise<string[]> {
    if (databases.length > 0) return databases.map(databaseName);
    const { databases: all } = await this.describe(adminUrl);
    return all.map((db) => db.name).filter((name) => name !== 'pgbouncer');
  }

  async pause(adminUrl: string, databases: readonly string[], timeoutMs: number): Promise<void> {
    const targets = await this.namesOf(adminUrl, databases);
    try {
      await Promise.all(targets.map((name) => admin(adminUrl, `PAUSE ${name}`, timeoutMs)));
    } catch (error) {
      // Cancels a PAUSE still waiting for server connections (and undoes the ones that finished).
      await this.resume(adminUrl, databases).catch(() => undefined);
      const holders = await admin<{ user: string; database: string; state: string }>(
        adminUrl,
        'SHOW SERVERS',
      ).catch(() => []);
      const held = holders
        .filter((server) => server.state === 'active')
        .map((server) => `${server.user}@${server.database}`);
      throw new Error(
        `PAUSE did not finish within ${timeoutMs} ms (${(error as Error).message})` +
          (held.length > 0 ? `; server connections still in use by ${[...new Set(held)].join(', ')}` : ''),
        { cause: error },
      );
    }
  }

  /**
   * PgBouncer counts a server login cut short by PAUSE (or by a RELOAD that moved the database) as a
   * failed connect, and then makes every client wait `server_login_retry` (15 s by default) before it
   * connects again (pgbouncer/pgbouncer#420, #1536; seen here with 1.18 as a 15 s stall after about
   * one switchover in three). While resuming, that wait is switched off, and put back once no client
   * of the resumed databases waits (or after RESUME_SETTLE_MS). A crash in between leaves it off
   * until the next RELOAD, which the next attempt of the step does first.
   */
  async resume(adminUrl: string, databases: readonly string[]): Promise<void> {
    const targets = await this.namesOf(adminUrl, databases);
    const retry = await this.setting(adminUrl, 'server_login_retry');
    const lowered = retry !== null && /^\d+$/.test(retry) && retry !== '0';
    if (lowered) await admin(adminUrl, 'SET server_login_retry = 0');
    try {
      for (const name of targets) {
        try {
          await admin(adminUrl, `RESUME ${name}`);
        } catch (error) {
          // "database ... is not paused" (or "pooler is not paused"): already what we want.
          if (!/not paused/i.test((error as Error).message)) throw error;
        }
      }
      if (lowered) await this.untilNoClientWaits(adminUrl, targets);
    } finally {
      if (lowered) await admin(adminUrl, `SET server_login_retry = ${retry}`).catch(() => undefined);
    }
  }

  private async setting(adminUrl: string, key: string): Promise<string | null> {
    const rows = await admin<{ key: string; value: string }>(adminUrl, 'SHOW CONFIG');
    return rows.find((row) => row.key === key)?.value ?? null;
  }

  private async untilNoClientWaits(adminUrl: string, databases: readonly string[]): Promise<void> {
    const deadline = this.clock.now().getTime() + RESUME_SETTLE_MS;
    while (this.clock.now().getTime() < deadline) {
      const pools = await admin<{ database: string; cl_waiting: number | string }>(adminUrl, 'SHOW POOLS');
      const waiting = pools.filter(
        (pool) => databases.includes(pool.database) && Number(pool.cl_waiting) > 0,
      );
      if (waiting.length === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async reload(adminUrl: string): Promise<void> {
    await admin(adminUrl, 'RELOAD');
  }

  async commitThrough(clientUrl: string, runId: string, timeoutMs: number): Promise<void> {
    const client = new Client({
      connectionString: clientUrl,
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
      application_name: 'cutover-bot-route-check',
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query(CANARY_WRITE, [runId]);
    } finally {
      void client.end().catch(() => undefined);
    }
  }

  startWriteProbe(clientUrl: string, runId: string): WriteProbe {
    const figures: ClientFigures = { writes: 0, errors: 0, longestStallMs: 0, errorKinds: {} };
    let stopped = false;
    const loop = (async () => {
      while (!stopped) {
        // A stall is the wait from when a write was wanted until it is acknowledged. Each write on a
        // new connection: a session held between writes would keep PAUSE from finishing in session
        // pooling, where a server connection is released only when its client disconnects.
        // Date.now, not a Clock: the stall is a measurement for the report and decides nothing.
        const wantedAt = Date.now();
        try {
          await this.commitThrough(clientUrl, `${runId}:probe`, PROBE_WRITE_TIMEOUT_MS);
          figures.writes++;
          figures.longestStallMs = Math.max(figures.longestStallMs, Date.now() - wantedAt);
        } catch (error) {
          figures.errors++;
          const e = error as { code?: unknown; message?: unknown };
          const kind = typeof e.code === 'string' ? e.code : String(e.message);
          figures.errorKinds[kind] = (figures.errorKinds[kind] ?? 0) + 1;
        }
        await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
      }
    })();
    return {
      async stop() {
        stopped = true;
        await loop;
        return figures;
      },
    };
  }
}
