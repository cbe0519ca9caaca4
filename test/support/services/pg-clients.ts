// Clients of a primary that do what ordinary applications do and a session-default fence does not
// stop: turn read-only off, open READ WRITE transactions, log in as a role with its own setting or as
// a superuser, reconnect for every write. Each writes numbered rows to `ledger` and records the ones
// the server acknowledged (committed); a cutover that loses nothing has every one of them on the new
// primary, whichever server acknowledged it.
import { Client } from 'pg';

export const CLIENT_KINDS = ['plain', 'session-rw', 'begin-rw', 'role-rw', 'superuser', 'reconnect'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

/** The role each kind logs in as (created by setUpClientRoles). */
const ROLE: Record<ClientKind, string> = {
  plain: 'app_plain',
  'session-rw': 'app_plain',
  'begin-rw': 'app_plain',
  'role-rw': 'app_role_rw',
  superuser: 'app_super',
  reconnect: 'app_plain',
};

/** Runs `text` (one or more statements) on a connection of its own. */
export async function runSql(url: string, text: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/**
 * The roles and the table, on the primary (they reach the standby through WAL). `app_role_rw` has
 * `ALTER ROLE … SET default_transaction_read_only = off`, as an ORM's role may.
 */
export async function setUpClientRoles(primaryUrl: string): Promise<void> {
  await runSql(
    primaryUrl,
    `CREATE ROLE app_plain LOGIN;
     CREATE ROLE app_role_rw LOGIN;
     ALTER ROLE app_role_rw SET default_transaction_read_only = off;
     CREATE ROLE app_super LOGIN SUPERUSER;
     CREATE TABLE ledger (client text NOT NULL, n int NOT NULL, PRIMARY KEY (client, n));
     GRANT INSERT, SELECT ON ledger TO app_plain, app_role_rw;`,
  );
}

/** The URL of `url`'s server as `role` (trust authentication on the test clusters). */
export function asRole(url: string, role: string): string {
  const parsed = new URL(url);
  parsed.username = role;
  return parsed.toString();
}

export interface PgClient {
  kind: ClientKind;
  /** The row numbers the server acknowledged. */
  readonly acknowledged: number[];
  /** Failures by SQLSTATE or message. */
  readonly errors: Record<string, number>;
  stop(): Promise<void>;
}

/** Starts a client of `kind` writing to `url` until stopped (a write every `intervalMs`). */
export function startClient(url: string, kind: ClientKind, { intervalMs = 2 } = {}): PgClient {
  const target = asRole(url, ROLE[kind]);
  const acknowledged: number[] = [];
  const errors: Record<string, number> = {};
  let stopped = false;
  const insert = (n: number) => ({
    text: 'INSERT INTO ledger (client, n) VALUES ($1, $2)',
    values: [kind, n],
  });

  const connect = async (): Promise<Client> => {
    const client = new Client({ connectionString: target, connectionTimeoutMillis: 2000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      // What a client that does not want a read-only default does after it connects.
      if (kind === 'session-rw' || kind === 'superuser' || kind === 'reconnect') {
        await client.query('SET default_transaction_read_only = off');
      }
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  };

  const write = async (client: Client, n: number): Promise<void> => {
    if (kind === 'begin-rw') {
      await client.query('BEGIN READ WRITE');
      try {
        await client.query(insert(n));
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    } else {
      await client.query(insert(n));
    }
  };

  const loop = (async () => {
    let client: Client | null = null;
    let n = 0;
    while (!stopped) {
      n++;
      try {
        client ??= await connect();
        await write(client, n);
        acknowledged.push(n);
        if (kind === 'reconnect') {
          const done: Client = client;
          client = null;
          await done.end().catch(() => undefined);
        }
      } catch (error) {
        const e = error as { code?: unknown; message?: unknown; severity?: unknown };
        const key = typeof e.code === 'string' ? e.code : String(e.message);
        errors[key] = (errors[key] ?? 0) + 1;
        if (e.severity !== 'ERROR') {
          const old: Client | null = client;
          client = null;
          await old?.end().catch(() => undefined);
        }
        if (!stopped) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      if (intervalMs > 0 && !stopped) await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    await client?.end().catch(() => undefined);
  })();

  return {
    kind,
    acknowledged,
    errors,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** Acknowledged rows of `clients` that `url`'s ledger does not have, as "kind#n". */
export async function missingRows(url: string, clients: readonly PgClient[]): Promise<string[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ client: string; n: number }>('SELECT client, n FROM ledger');
    const present = new Set(rows.map((row) => `${row.client}#${row.n}`));
    return clients
      .flatMap((c) => c.acknowledged.map((n) => `${c.kind}#${n}`))
      .filter((key) => !present.has(key));
  } finally {
    await client.end();
  }
}
