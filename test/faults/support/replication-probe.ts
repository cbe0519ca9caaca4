// A ReplicationPort around the real PgReplication that records every call (method, standby or
// primary URL, time) and can run a hook before a method or right after it returned: how the fault
// cases count promotions, see whether anything touched the databases while the bot's store was
// down, and kill a worker inside a step.
import { Client } from 'pg';
import { PgReplication } from '../../../src/adapters/postgres/pg-replication';
import type { ReplicationPort } from '../../../src/ports/replication';
import type { FaultCounters } from './fault-report';

export type ReplicationMethod = keyof ReplicationPort;

export interface PortCall {
  method: ReplicationMethod;
  url: string;
  at: number;
}

type Hook = (url: string) => Promise<void>;

export class ReplicationProbe implements ReplicationPort {
  readonly calls: PortCall[] = [];
  /** Runs before the real call; a hook may remove itself (one-shot faults). */
  readonly before: Partial<Record<ReplicationMethod, Hook>> = {};
  /** Runs once the real call has returned, before its answer reaches the caller (a kill right after an action). */
  readonly after: Partial<Record<ReplicationMethod, Hook>> = {};

  constructor(private readonly real: ReplicationPort = new PgReplication()) {}

  /** Promote calls that reached the real port for this standby. */
  promotesOf(standbyUrl: string): number {
    return this.calls.filter((call) => call.method === 'promote' && call.url === standbyUrl).length;
  }

  callsBetween(fromMs: number, toMs: number): PortCall[] {
    return this.calls.filter((call) => call.at >= fromMs && call.at <= toMs);
  }

  private async call<T>(method: ReplicationMethod, url: string, real: () => Promise<T>): Promise<T> {
    this.calls.push({ method, url, at: Date.now() });
    await this.before[method]?.(url);
    const result = await real();
    // Only after the real call returned: a call that threw runs no `after` hook.
    await this.after[method]?.(url);
    return result;
  }

  async describe(url: string) {
    return this.call('describe', url, () => this.real.describe(url));
  }
  async standbys(url: string) {
    return this.call('standbys', url, () => this.real.standbys(url));
  }
  async lag(primaryUrl: string, standbyUrl: string) {
    return this.call('lag', standbyUrl, () => this.real.lag(primaryUrl, standbyUrl));
  }
  async surveyFence(url: string) {
    return this.call('surveyFence', url, () => this.real.surveyFence(url));
  }
  async fence(url: string, rolesToLock?: readonly string[]) {
    return this.call('fence', url, () => this.real.fence(url, rolesToLock));
  }
  async lockOut(url: string, roles: readonly string[]) {
    return this.call('lockOut', url, () => this.real.lockOut(url, roles));
  }
  async fenceCheck(url: string) {
    return this.call('fenceCheck', url, () => this.real.fenceCheck(url));
  }
  async verifyFenced(url: string) {
    return this.call('verifyFenced', url, () => this.real.verifyFenced(url));
  }
  async unfence(url: string, lockedRoles?: readonly string[]) {
    return this.call('unfence', url, () => this.real.unfence(url, lockedRoles));
  }
  async releaseFenceOnStandby(url: string) {
    return this.call('releaseFenceOnStandby', url, () => this.real.releaseFenceOnStandby(url));
  }
  async restoreLogins(url: string, roles: readonly string[]) {
    return this.call('restoreLogins', url, () => this.real.restoreLogins(url, roles));
  }
  async reach(url: string) {
    return this.call('reach', url, () => this.real.reach(url));
  }
  async walReceiver(url: string) {
    return this.call('walReceiver', url, () => this.real.walReceiver(url));
  }
  async settings(url: string) {
    return this.call('settings', url, () => this.real.settings(url));
  }
  async setSynchronousStandbyNames(url: string, value: string) {
    return this.call('setSynchronousStandbyNames', url, () =>
      this.real.setSynchronousStandbyNames(url, value),
    );
  }
  async prepareCanary(url: string) {
    return this.call('prepareCanary', url, () => this.real.prepareCanary(url));
  }
  async commitCanary(url: string, runId: string, timeoutMs: number) {
    return this.call('commitCanary', url, () => this.real.commitCanary(url, runId, timeoutMs));
  }
  async dropCanary(url: string, runId: string) {
    return this.call('dropCanary', url, () => this.real.dropCanary(url, runId));
  }
  async replayedPast(url: string, lsn: string) {
    return this.call('replayedPast', url, () => this.real.replayedPast(url, lsn));
  }
  async bytesBehind(url: string, lsn: string) {
    return this.call('bytesBehind', url, () => this.real.bytesBehind(url, lsn));
  }
  async promote(url: string, timeoutMs: number) {
    return this.call('promote', url, () => this.real.promote(url, timeoutMs));
  }
  async verifyPromoted(url: string) {
    return this.call('verifyPromoted', url, () => this.real.verifyPromoted(url));
  }
  /** The real port's session scope, so that the fault cases run the executors as production does. */
  withSessions<T>(work: () => Promise<T>): Promise<T> {
    return this.real.withSessions ? this.real.withSessions(work) : work();
  }
}

/**
 * Port calls recorded in a table of the tests' PostgreSQL, for workers in child processes (that a
 * test SIGKILLs, or that may die): a row is written before the real call, so a call cut short
 * counts. `record` is for promote calls; `recordCall` for any method.
 */
export class PromoteLedger {
  constructor(
    readonly url: string,
    readonly table: string,
  ) {}

  private async query<T extends object>(sql: string, params: unknown[] = []): Promise<T[]> {
    const client = new Client({ connectionString: this.url });
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  async setUp(): Promise<void> {
    await this.query(
      `CREATE TABLE IF NOT EXISTS ${this.table} (id bigserial PRIMARY KEY, standby text NOT NULL, pid int NOT NULL, method text NOT NULL, at_ms bigint NOT NULL)`,
    );
  }

  async record(standbyUrl: string): Promise<void> {
    await this.recordCall('promote', standbyUrl);
  }

  async recordCall(method: ReplicationMethod, url: string): Promise<void> {
    await this.query(`INSERT INTO ${this.table} (standby, pid, method, at_ms) VALUES ($1, $2, $3, $4)`, [
      url,
      process.pid,
      method,
      Date.now(),
    ]);
  }

  async count(standbyUrl: string): Promise<number> {
    const rows = await this.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${this.table} WHERE standby = $1 AND method = 'promote'`,
      [standbyUrl],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async callsBetween(fromMs: number, toMs: number): Promise<PortCall[]> {
    const rows = await this.query<{ method: ReplicationMethod; standby: string; at_ms: string }>(
      `SELECT method, standby, at_ms FROM ${this.table} WHERE at_ms BETWEEN $1 AND $2 ORDER BY id`,
      [fromMs, toMs],
    );
    return rows.map((row) => ({ method: row.method, url: row.standby, at: Number(row.at_ms) }));
  }

  async tearDown(): Promise<void> {
    await this.query(`DROP TABLE IF EXISTS ${this.table}`);
  }
}

/** Acknowledged ids (from a Writer) missing from `table` on `url`. */
export async function missingRows(
  url: string,
  table: string,
  acknowledged: readonly number[],
): Promise<number[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const rows = (await client.query<{ id: number }>(`SELECT id FROM "${table}"`)).rows;
    const present = new Set(rows.map((row) => Number(row.id)));
    return acknowledged.filter((id) => !present.has(id));
  } finally {
    await client.end();
  }
}

/**
 * A finished promotion under write load, as every promotion case checks it: each acknowledged write
 * is on the new primary, pg_promote ran once, the new primary is out of recovery on timeline 2 and
 * takes writes. Records the counters and what was seen on `fault` (before asserting, so a failing
 * case still reports them).
 */
export async function checkPromotion(
  fault: FaultCounters & { note: string },
  standbyUrl: string,
  acknowledged: readonly number[],
  promotes: number,
): Promise<void> {
  const lost = await missingRows(standbyUrl, 'orders', acknowledged);
  const promoted = await new PgReplication().verifyPromoted(standbyUrl);
  fault.ackedWritesLost = lost.length;
  fault.irreversibleTwice = Math.max(0, promotes - 1) + Math.max(0, promoted.timeline - 2);
  const seen = `${acknowledged.length} acked writes; pg_promote calls ${promotes}; timeline ${promoted.timeline}`;
  fault.note = fault.note === '' ? seen : `${fault.note}; ${seen}`;
  expect(lost).toEqual([]);
  expect(promotes).toBe(1);
  expect(promoted).toEqual({ inRecovery: false, timeline: 2, acceptsWrites: true });
}
