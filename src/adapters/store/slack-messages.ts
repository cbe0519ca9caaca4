// MessageStore on PostgreSQL: the `slack_messages` table (migration 002) next to the run store's tables.
import type { Pool } from 'pg';

import type { MessageStore, SlackMessageRef } from '../../ports/message-store';
import { DEFAULT_SCHEMA } from './pg-run-store';
import { isUuid, quoteIdent } from './sql';

interface MessageRow {
  channel: string | null;
  ts: string | null;
}

/**
 * Shares the run store's pool and schema: `new PgSlackMessageStore(runStore.pool, runStore.schema)`.
 * Rows go away with their run (ON DELETE CASCADE). Closing the pool is the run store's job.
 */
export class PgSlackMessageStore implements MessageStore {
  private readonly table: string;

  constructor(
    private readonly pool: Pick<Pool, 'query'>,
    schema: string = DEFAULT_SCHEMA,
  ) {
    this.table = `${quoteIdent(schema)}.slack_messages`;
  }

  async claim(runId: string, key: string, channel?: string): Promise<boolean> {
    checkRef(runId, key);
    const result = await this.pool.query(
      `INSERT INTO ${this.table} (run_id, key, channel) VALUES ($1, $2, $3) ON CONFLICT (run_id, key) DO NOTHING`,
      [runId, key, channel ?? null],
    );
    return result.rowCount === 1;
  }

  async setTs(runId: string, key: string, channel: string, ts: string): Promise<void> {
    checkRef(runId, key);
    await this.pool.query(
      `INSERT INTO ${this.table} (run_id, key, channel, ts) VALUES ($1, $2, $3, $4)
       ON CONFLICT (run_id, key) DO UPDATE SET channel = EXCLUDED.channel, ts = EXCLUDED.ts`,
      [runId, key, channel, ts],
    );
  }

  async get(runId: string, key: string): Promise<SlackMessageRef | null> {
    if (!isUuid(runId)) return null;
    const result = await this.pool.query<MessageRow>(
      `SELECT channel, ts FROM ${this.table} WHERE run_id = $1 AND key = $2`,
      [runId, key],
    );
    const row = result.rows[0];
    return row ? { channel: row.channel, ts: row.ts } : null;
  }
}

function checkRef(runId: string, key: string): void {
  if (!isUuid(runId)) throw new Error(`not a run id: ${JSON.stringify(runId)}`);
  if (key === '') throw new Error('a message key cannot be empty');
}
