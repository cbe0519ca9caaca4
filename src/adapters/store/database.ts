// Creates the bot's own database when it does not exist yet (DATABASE_URL "created if missing").
import { Client } from 'pg';

import { quoteIdent, sqlState } from './sql';

const INVALID_CATALOG_NAME = '3D000';
const DUPLICATE_DATABASE = '42P04';
const UNIQUE_VIOLATION = '23505'; // concurrent CREATE DATABASE can also surface as pg_database's unique index

/** The database a `postgres://` URL names, or null when it names none (the server's default). */
export function databaseNameOf(url: string): string | null {
  const parsed = new URL(url);
  const name = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  return name === '' ? null : name;
}

/** The same URL pointing at another database on the same server (credentials and options kept). */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

async function canConnect(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url });
  try {
    await client.connect();
    return true;
  } catch (error) {
    if (sqlState(error) === INVALID_CATALOG_NAME) return false;
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Makes sure the database named in `url` exists: when connecting to it fails with "database does not
 * exist", connects to the `postgres` maintenance database of the same server and creates it. A
 * concurrent creator winning the race is fine. Returns true when this call created the database.
 */
export async function ensureDatabase(url: string, maintenanceDatabase = 'postgres'): Promise<boolean> {
  const name = databaseNameOf(url);
  if (name === null || name === maintenanceDatabase) return false;
  if (await canConnect(url)) return false;
  const admin = new Client({ connectionString: withDatabase(url, maintenanceDatabase) });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
    return true;
  } catch (error) {
    const state = sqlState(error);
    if (state === DUPLICATE_DATABASE || state === UNIQUE_VIOLATION) return false;
    throw error;
  } finally {
    await admin.end().catch(() => undefined);
  }
}

/**
 * A connection that drops while it is checked out of the pool (PostgreSQL restarted between two
 * queries of a transaction) emits 'error'; without a listener that error would end the process.
 * The query in flight (or the next one) fails with it anyway, and the caller releases the client as
 * broken. Returns the function that removes the listener.
 */
export function survivesConnectionLoss(client: {
  on(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'error', listener: (error: Error) => void): unknown;
}): () => void {
  const ignore = (): void => undefined;
  client.on('error', ignore);
  return () => {
    client.off('error', ignore);
  };
}
