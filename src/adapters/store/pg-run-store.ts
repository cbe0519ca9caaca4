// RunStore on PostgreSQL: the source of truth for runs, steps, approvals, audit events and lag samples.
import { isDeepStrictEqual } from 'node:util';
import { Pool, type PoolClient } from 'pg';

import type { JsonObject, Run, RunEvent, RunEventType } from '../../engine/types';
import { ACTIVE_RUN_STATES } from '../../engine/types';
import type {
  ApplyOptions,
  ApplyOutcome,
  ApprovalRecord,
  AuditEntry,
  DecideEvent,
  InsertOutcome,
  LagSample,
  RunStore,
} from '../../ports/run-store';
import { ensureDatabase, survivesConnectionLoss } from './database';
import { migrate } from './migrate';
import {
  JOINED_STEP_COLUMNS,
  QUALIFIED_RUN_COLUMNS,
  RUN_COLUMNS,
  STEP_COLUMNS,
  runsFromJoinedRows,
  type JoinedRow,
  iso,
  jsonParam,
  runFromRows,
  runParams,
  stepParams,
  valuesList,
  type RunRow,
  type StepRow,
} from './rows';
import { asOneStatement, isUuid, quoteIdent, sqlConstraint, sqlState, type Statement } from './sql';

export const DEFAULT_SCHEMA = 'cutover';
export const DEFAULT_POOL_SIZE = 10;
/** Name of the unique partial index that allows one active run per target. */
export const ACTIVE_TARGET_INDEX = 'runs_one_active_per_target';
export const SCHEDULED_TARGET_INDEX = 'runs_one_scheduled_per_target';

/** Events a person causes: a refusal of one of these is audited as `refused:<type>`. */
const HUMAN_EVENTS: ReadonlySet<RunEventType> = new Set<RunEventType>(['approve', 'abort', 'gate_reopen']);

const UNIQUE_VIOLATION = '23505';
const INSERT_ATTEMPTS = 3;

export interface PgRunStoreOptions {
  connectionString: string;
  /** Schema holding the tables; default `cutover`. */
  schema?: string;
  /** Maximum pool connections; default 10. */
  poolSize?: number;
  /** Errors of idle pool connections (server restart, network); default: ignored. */
  onPoolError?: (error: Error) => void;
}

interface AuditRow {
  id: string;
  run_id: string | null;
  at: Date;
  actor: string;
  type: string;
  payload: JsonObject;
}

interface ApprovalRow {
  run_id: string;
  step: number;
  round: number;
  user_id: string;
  at: Date;
  seen: JsonObject;
}

interface LagRow {
  run_id: string;
  at: Date;
  bytes: string | null;
  seconds: number | null;
  lagging_replicas: number | null;
}

export class PgRunStore implements RunStore {
  readonly schema: string;
  /** Exposed for other adapters sharing the database (and for tests); queries must be schema-qualified. */
  readonly pool: Pool;
  private readonly q: string;
  private closed = false;

  constructor(options: PgRunStoreOptions) {
    this.schema = options.schema ?? DEFAULT_SCHEMA;
    this.q = quoteIdent(this.schema);
    this.pool = new Pool({
      connectionString: options.connectionString,
      max: options.poolSize ?? DEFAULT_POOL_SIZE,
      application_name: 'cutover-bot',
    });
    const onPoolError = options.onPoolError ?? (() => undefined);
    this.pool.on('error', onPoolError);
  }

  /** Creates the database if missing, migrates the schema, and returns a ready store. */
  static async open(options: PgRunStoreOptions): Promise<PgRunStore> {
    await ensureDatabase(options.connectionString);
    const store = new PgRunStore(options);
    try {
      await migrate(store.pool, store.schema);
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  private t(table: string): string {
    return `${this.q}.${table}`;
  }

  private async tx<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const detach = survivesConnectionLoss(client);
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      detach();
      client.release();
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
        detach();
        client.release();
      } catch (rollbackError) {
        detach();
        client.release(rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError)));
      }
      throw error;
    }
  }

  async insertRun(run: Run, actor: string): Promise<InsertOutcome> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.tx(async (client) => {
          await client.query(
            `INSERT INTO ${this.t('runs')} (${RUN_COLUMNS}) VALUES (${valuesList(1, 16).slice(1, -1)})`,
            runParams(run),
          );
          if (run.steps.length > 0) {
            await client.query(
              `INSERT INTO ${this.t('steps')} (${STEP_COLUMNS}) VALUES ${valuesList(run.steps.length, 13)}`,
              run.steps.flatMap((step) => stepParams(run.id, step)),
            );
          }
          await this.insertAudit(client, {
            runId: run.id,
            at: run.createdAt,
            actor,
            type: 'run_created',
            payload: {
              target: run.target,
              strategy: run.strategy,
              requestedBy: run.requestedBy,
              channel: run.channel,
              state: run.state,
              policy: { ...run.policy },
              steps: run.steps.map((step) => ({
                name: step.spec.name,
                kind: step.spec.kind,
                title: step.spec.title,
              })),
            },
          });
        });
        return { ok: true };
      } catch (error) {
        const index = sqlState(error) === UNIQUE_VIOLATION ? sqlConstraint(error) : undefined;
        if (index !== ACTIVE_TARGET_INDEX && index !== SCHEDULED_TARGET_INDEX) throw error;
        const holding = index === ACTIVE_TARGET_INDEX ? ACTIVE_RUN_STATES : ['scheduled'];
        const active = await this.pool.query<{ id: string }>(
          `SELECT id FROM ${this.t('runs')} WHERE target = $1 AND state = ANY($2::text[])`,
          [run.target, holding],
        );
        const activeRunId = active.rows[0]?.id;
        if (activeRunId !== undefined) return { ok: false, activeRunId };
        // The active run finished between our insert and the look-up: try again.
        if (attempt >= INSERT_ATTEMPTS) throw error;
      }
    }
  }

  async applyEvent(
    runId: string,
    event: RunEvent,
    actor: string,
    decide: DecideEvent,
    seen?: JsonObject,
    options: ApplyOptions = {},
  ): Promise<ApplyOutcome> {
    const human = HUMAN_EVENTS.has(event.type);
    const eventJson = event as unknown as JsonObject;
    return this.tx(async (client): Promise<ApplyOutcome> => {
      if (options.deliveryKey !== undefined) {
        // A concurrent repeat waits here for this transaction: it then finds the key, or (after a
        // rollback) takes it over.
        const claimed = await client.query(
          `INSERT INTO ${this.t('slack_deliveries')} (key) VALUES ($1) ON CONFLICT (key) DO NOTHING`,
          [options.deliveryKey],
        );
        if (claimed.rowCount !== 1)
          return {
            ok: false,
            run: null,
            reason: 'duplicate_delivery',
            error: 'duplicate delivery',
            duplicate: true,
          };
      }
      const run = isUuid(runId) ? await this.lockAndLoadRun(client, runId) : null;
      if (run === null) {
        const error = 'no such run';
        if (human) {
          await this.insertAudit(client, {
            runId: isUuid(runId) ? runId : null,
            at: event.at,
            actor,
            type: `refused:${event.type}`,
            payload: { runId, event: eventJson, error, ...(seen !== undefined ? { seen } : {}) },
          });
        }
        return { ok: false, run: null, reason: 'no_such_run', error };
      }

      const result = decide(run, event);
      if (!result.ok) {
        if (human) {
          await this.insertAudit(client, {
            runId: run.id,
            at: event.at,
            actor,
            type: `refused:${event.type}`,
            payload: { event: eventJson, error: result.error, ...(seen !== undefined ? { seen } : {}) },
          });
        }
        return { ok: false, run, reason: result.reason, error: result.error };
      }

      const next = result.run;
      const params = runParams(next);
      const updateRun = `UPDATE ${this.t('runs')} SET
             target = $2, strategy = $3, state = $4, requested_by = $5, channel = $6, created_at = $7,
             updated_at = $8, finished_at = $9, current_step = $10, outcome = $11, abort_requested = $12,
             unwind_to = $13, policy = $14, scheduled_for = $15, plan_version = $16, version = version + 1
           WHERE id = $1`;
      // Only a run becoming active can meet the one-active-run-per-target index; most transitions
      // (every step report) skip the savepoint's round trip.
      const becomesActive = ACTIVE_RUN_STATES.includes(next.state) && !ACTIVE_RUN_STATES.includes(run.state);
      // The writes of the transition go as one statement: one round trip (a click's ack, and a step's
      // progress record inside the promotion window, wait on this transaction).
      const writes: Statement[] = [];
      if (!becomesActive) writes.push({ text: updateRun, values: params });
      else
        try {
          // A savepoint: a scheduled run starting while its target is busy is refused, not an error.
          await client.query('SAVEPOINT run_update');
          await client.query(updateRun, params);
        } catch (error) {
          if (sqlState(error) !== UNIQUE_VIOLATION || sqlConstraint(error) !== ACTIVE_TARGET_INDEX)
            throw error;
          await client.query('ROLLBACK TO SAVEPOINT run_update');
          const busy = await client.query<{ id: string }>(
            `SELECT id FROM ${this.t('runs')} WHERE target = $1 AND state = ANY($2::text[])`,
            [next.target, ACTIVE_RUN_STATES],
          );
          return {
            ok: false,
            run,
            reason: 'target_busy',
            error: `${next.target} has an active run (${busy.rows[0]?.id ?? 'unknown'})`,
          };
        }
      for (const step of next.steps) {
        if (isDeepStrictEqual(step, run.steps[step.index])) continue;
        writes.push({
          text: `UPDATE ${this.t('steps')} SET
             spec = $3, state = $4, attempt = $5, retries = $6, started_at = $7, finished_at = $8,
             not_before = $9, output = $10, error = $11, gate = $12, human_override = $13
           WHERE run_id = $1 AND idx = $2`,
          values: stepParams(next.id, step),
        });
      }
      writes.push(
        this.auditStatement({
          runId: next.id,
          at: event.at,
          actor,
          type: event.type,
          payload: { ...eventJson, ...(seen !== undefined ? { seen } : {}) },
        }),
      );
      if (event.type === 'approve') {
        writes.push({
          text: `INSERT INTO ${this.t('approvals')} (run_id, step, round, user_id, at, seen)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (run_id, step, round, user_id) DO NOTHING`,
          values: [next.id, event.step, event.round, event.user, event.at, jsonParam(seen ?? {})],
        });
      }
      await client.query(asOneStatement(writes));
      return { ok: true, run: next, previous: run, effects: result.effects };
    });
  }

  async getRun(runId: string): Promise<Run | null> {
    if (!isUuid(runId)) return null;
    const [run] = await this.loadRuns({ where: 'r.id = $1', order: 'r.id' }, [runId]);
    return run ?? null;
  }

  async listActiveRuns(): Promise<Run[]> {
    return this.loadRuns({ where: 'r.state = ANY($1::text[])', order: 'r.created_at, r.id' }, [
      ACTIVE_RUN_STATES,
    ]);
  }

  async listScheduledRuns(): Promise<Run[]> {
    return this.loadRuns({ where: "r.state = 'scheduled'", order: 'r.scheduled_for, r.id' }, []);
  }

  async claimReminder(runId: string, at: string): Promise<boolean> {
    if (!isUuid(runId)) return false;
    const result = await this.pool.query(
      `UPDATE ${this.t('runs')} SET reminded_at = $2
       WHERE id = $1 AND state = 'scheduled' AND reminded_at IS NULL`,
      [runId, at],
    );
    return result.rowCount === 1;
  }

  async lastSucceededAt(target: string): Promise<{ runId: string; finishedAt: string } | null> {
    const result = await this.pool.query<{ id: string; finished_at: Date }>(
      `SELECT id, finished_at FROM ${this.t('runs')}
       WHERE target = $1 AND state = 'succeeded' AND finished_at IS NOT NULL
       ORDER BY finished_at DESC LIMIT 1`,
      [target],
    );
    const row = result.rows[0];
    return row ? { runId: row.id, finishedAt: iso(row.finished_at) } : null;
  }

  async recentStepDurations(
    query: { target: string; strategy: string; step: string },
    limit: number,
  ): Promise<number[]> {
    const result = await this.pool.query<{ ms: number }>(
      `SELECT (EXTRACT(EPOCH FROM (s.finished_at - s.started_at)) * 1000)::float8 AS ms
       FROM ${this.t('steps')} s JOIN ${this.t('runs')} r ON r.id = s.run_id
       WHERE r.target = $1 AND r.strategy = $2 AND s.spec->>'name' = $3 AND s.state = 'succeeded'
         AND s.started_at IS NOT NULL AND s.finished_at IS NOT NULL
       ORDER BY s.finished_at DESC LIMIT $4`,
      [query.target, query.strategy, query.step, checkLimit(limit)],
    );
    return result.rows.map((row) => Number(row.ms));
  }

  async listRecentRuns(limit: number): Promise<Run[]> {
    return this.loadRuns({ where: 'true', order: 'r.created_at DESC, r.id DESC', limit: '$1' }, [
      checkLimit(limit),
    ]);
  }

  async appendAudit(entry: Omit<AuditEntry, 'id' | 'at'> & { at?: string }): Promise<void> {
    await this.insertAudit(this.pool, entry);
  }

  async listAudit(runId: string): Promise<AuditEntry[]> {
    if (!isUuid(runId)) return [];
    const result = await this.pool.query<AuditRow>(
      `SELECT id, run_id, at, actor, type, payload FROM ${this.t('audit_events')} WHERE run_id = $1 ORDER BY id`,
      [runId],
    );
    return result.rows.map((row) => ({
      id: Number(row.id),
      runId: row.run_id,
      at: iso(row.at),
      actor: row.actor,
      type: row.type,
      payload: row.payload,
    }));
  }

  async listApprovals(runId: string): Promise<ApprovalRecord[]> {
    if (!isUuid(runId)) return [];
    const result = await this.pool.query<ApprovalRow>(
      `SELECT run_id, step, round, user_id, at, seen FROM ${this.t('approvals')} WHERE run_id = $1 ORDER BY id`,
      [runId],
    );
    return result.rows.map((row) => ({
      runId: row.run_id,
      step: row.step,
      round: row.round,
      userId: row.user_id,
      at: iso(row.at),
      seen: row.seen,
    }));
  }

  async recordLagSample(sample: LagSample): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.t('lag_samples')} (run_id, at, bytes, seconds, lagging_replicas)
       VALUES ($1, $2, $3, $4, $5)`,
      [sample.runId, sample.at, sample.bytes, sample.seconds, sample.laggingReplicas ?? null],
    );
  }

  async recentLagSamples(runId: string, limit: number): Promise<LagSample[]> {
    if (!isUuid(runId)) return [];
    const result = await this.pool.query<LagRow>(
      `SELECT run_id, at, bytes, seconds, lagging_replicas FROM (
         SELECT id, run_id, at, bytes, seconds, lagging_replicas FROM ${this.t('lag_samples')}
         WHERE run_id = $1 ORDER BY at DESC, id DESC LIMIT $2
       ) newest ORDER BY at, id`,
      [runId, checkLimit(limit)],
    );
    return result.rows.map((row) => ({
      runId: row.run_id,
      at: iso(row.at),
      bytes: row.bytes === null ? null : Number(row.bytes),
      seconds: row.seconds,
      ...(row.lagging_replicas === null ? {} : { laggingReplicas: row.lagging_replicas }),
    }));
  }

  async findRunIdsByPrefix(prefix: string, limit = 5): Promise<string[]> {
    if (!/^[0-9a-f-]{1,36}$/.test(prefix)) return [];
    const result = await this.pool.query<{ id: string }>(
      `SELECT id FROM ${this.t('runs')} WHERE id::text LIKE $1 ORDER BY created_at DESC LIMIT $2`,
      [`${prefix}%`, limit],
    );
    return result.rows.map((row) => row.id);
  }

  /**
   * Records a Slack delivery key (e.g. a request's trigger id or retry-safe signature) and says whether
   * it is new: true the first time, false for every redelivery.
   */
  async pruneSlackDeliveries(olderThanMs: number): Promise<number> {
    const result = await this.pool.query(
      `DELETE FROM ${this.t('slack_deliveries')} WHERE received_at < now() - make_interval(secs => $1)`,
      [olderThanMs / 1000],
    );
    return result.rowCount ?? 0;
  }

  async claimSlackDelivery(key: string): Promise<boolean> {
    const result = await this.pool.query(
      `INSERT INTO ${this.t('slack_deliveries')} (key) VALUES ($1) ON CONFLICT (key) DO NOTHING`,
      [key],
    );
    return result.rowCount === 1;
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private async insertAudit(
    client: Pick<PoolClient, 'query'>,
    entry: Omit<AuditEntry, 'id' | 'at'> & { at?: string },
  ): Promise<void> {
    await client.query(this.auditStatement(entry));
  }

  private auditStatement(entry: Omit<AuditEntry, 'id' | 'at'> & { at?: string }): Statement {
    return {
      text: `INSERT INTO ${this.t('audit_events')} (run_id, at, actor, type, payload)
       VALUES ($1, COALESCE($2::timestamptz, now()), $3, $4, $5)`,
      values: [entry.runId, entry.at ?? null, entry.actor, entry.type, jsonParam(entry.payload ?? {})],
    };
  }

  /**
   * The run row locked (FOR UPDATE), then its steps: two statements on purpose, so that the steps are
   * read after the lock is held (one joined statement would read them from its snapshot, taken
   * before it waited for the lock).
   */
  private async lockAndLoadRun(client: PoolClient, runId: string): Promise<Run | null> {
    const runResult = await client.query<RunRow>(
      `SELECT ${RUN_COLUMNS} FROM ${this.t('runs')} WHERE id = $1 FOR UPDATE`,
      [runId],
    );
    const row = runResult.rows[0];
    if (!row) return null;
    const steps = await client.query<StepRow>(
      `SELECT ${STEP_COLUMNS} FROM ${this.t('steps')} WHERE run_id = $1 ORDER BY idx`,
      [runId],
    );
    return runFromRows(row, steps.rows);
  }

  /**
   * Runs (chosen and ordered by `query`, over `runs r`) with their steps, in one statement: one
   * snapshot, so no run comes back with steps of its next transition, and one round trip (the
   * Slack ack waits on this read).
   */
  private async loadRuns(
    query: { where: string; order: string; limit?: string },
    params: unknown[],
  ): Promise<Run[]> {
    const result = await this.pool.query<JoinedRow>(
      `WITH r AS (
         SELECT ${QUALIFIED_RUN_COLUMNS} FROM ${this.t('runs')} r WHERE ${query.where} ORDER BY ${query.order}
         ${query.limit !== undefined ? `LIMIT ${query.limit}` : ''}
       )
       SELECT r.*, ${JOINED_STEP_COLUMNS}
       FROM r LEFT JOIN ${this.t('steps')} s ON s.run_id = r.id
       ORDER BY ${query.order}, s.idx`,
      params,
    );
    return runsFromJoinedRows(result.rows);
  }
}

function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 0)
    throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
  return limit;
}
