import { randomUUID } from 'node:crypto';

import { PgRunStore } from '../../../src/adapters/store/pg-run-store';
import { createRun, transition } from '../../../src/engine/transition';
import type { GatePolicy, Plan, Run, RunEvent } from '../../../src/engine/types';
import { dropSchema, freshSchemaName, testDatabaseUrl } from '../../support/services/pg';

const schema = freshSchemaName('t_store');
let store: PgRunStore;

const POLICY: GatePolicy = { approvalTimeoutMs: 900_000, requiredApprovals: 1, allowSelfApproval: false };
const REQUESTER = 'U0REQUESTER';
const APPROVER = 'U0APPROVER';
const T0 = Date.parse('2030-03-01T02:00:00.000Z');

/** ISO time `seconds` after T0 (with a millisecond part, to check precision). */
function at(seconds: number): string {
  return new Date(T0 + seconds * 1000 + 123).toISOString();
}

function plan(target: string): Plan {
  return {
    strategy: 'replica-promotion',
    target,
    steps: [
      { name: 'check-lag', kind: 'check', title: 'Standby is in sync', executor: 'checkLag', maxRetries: 2 },
      { name: 'approve-promotion', kind: 'gate', title: 'Approve promotion', destructive: true },
      {
        name: 'fence-primary',
        kind: 'action',
        title: 'Fence the old primary',
        executor: 'fence',
        compensation: { executor: 'unfence', title: 'Unfence the old primary' },
        params: { host: 'db-1', ports: [5432, 6432], nested: { flag: true, none: null } },
      },
      { name: 'wait-replay', kind: 'wait', title: 'Standby replayed everything', executor: 'waitReplay' },
    ],
    warnings: ['promotion cannot be undone'],
  };
}

function newRun(target: string, seconds = 0): Run {
  return createRun({
    id: randomUUID(),
    plan: plan(target),
    requestedBy: REQUESTER,
    channel: 'C0123456789',
    policy: POLICY,
    at: at(seconds),
  });
}

function uniqueTarget(name: string): string {
  return `${name}-${randomUUID().slice(0, 8)}`;
}

async function mustApply(runId: string, event: RunEvent, seen?: Record<string, number>): Promise<Run> {
  const outcome = await store.applyEvent(runId, event, 'test', transition, seen);
  if (!outcome.ok) throw new Error(`${event.type} refused: ${outcome.error}`);
  return outcome.run;
}

/** Inserted and driven up to the planned gate on step 1. */
async function runAtGate(target: string): Promise<Run> {
  const run = newRun(target);
  expect(await store.insertRun(run, REQUESTER)).toEqual({ ok: true });
  await mustApply(run.id, { type: 'start', at: at(1) });
  await mustApply(run.id, { type: 'step_started', at: at(2), step: 0, attempt: 1 });
  const atGate = await mustApply(run.id, { type: 'step_succeeded', at: at(3), step: 0, attempt: 1 });
  expect(atGate.state).toBe('awaiting_approval');
  return atGate;
}

beforeAll(async () => {
  store = await PgRunStore.open({ connectionString: testDatabaseUrl, schema, poolSize: 6 });
});

afterAll(async () => {
  await store.close();
  await dropSchema(schema);
});

describe('PgRunStore', () => {
  it('round-trips a run: insertRun then getRun deep-equals the original', async () => {
    const run = newRun(uniqueTarget('orders-db'));
    expect(await store.insertRun(run, REQUESTER)).toEqual({ ok: true });
    expect(await store.getRun(run.id)).toStrictEqual(run);

    const audit = await store.listAudit(run.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      runId: run.id,
      at: run.createdAt,
      actor: REQUESTER,
      type: 'run_created',
    });
    expect(audit[0]?.payload).toMatchObject({
      target: run.target,
      strategy: run.strategy,
      policy: { ...POLICY },
    });
  });

  it('answers null / no such run for unknown and malformed ids', async () => {
    expect(await store.getRun(randomUUID())).toBeNull();
    expect(await store.getRun('not-a-uuid')).toBeNull();
    expect(await store.applyEvent(randomUUID(), { type: 'start', at: at(0) }, 'test', transition)).toEqual({
      ok: false,
      run: null,
      reason: 'no_such_run',
      error: 'no such run',
    });
    const ghost = randomUUID();
    const abort = await store.applyEvent(
      ghost,
      { type: 'abort', at: at(0), user: APPROVER, reason: 'x' },
      APPROVER,
      transition,
    );
    expect(abort).toEqual({ ok: false, run: null, reason: 'no_such_run', error: 'no such run' });
    expect((await store.listAudit(ghost)).map((entry) => entry.type)).toEqual(['refused:abort']);
    expect(await store.listAudit('nope')).toEqual([]);
  });

  it('lets exactly one of two concurrent inserts for the same target through', async () => {
    const target = uniqueTarget('orders-db');
    const first = newRun(target);
    const second = newRun(target);
    const outcomes = await Promise.all([
      store.insertRun(first, REQUESTER),
      store.insertRun(second, REQUESTER),
    ]);

    const winners = outcomes.filter((outcome) => outcome.ok);
    expect(winners).toHaveLength(1);
    const winnerId = outcomes[0]?.ok ? first.id : second.id;
    const loserId = winnerId === first.id ? second.id : first.id;
    expect(outcomes.find((outcome) => !outcome.ok)).toEqual({ ok: false, activeRunId: winnerId });
    expect(await store.getRun(loserId)).toBeNull();
    expect(await store.listAudit(loserId)).toEqual([]);
  });

  it('allows a new run for a target once the active one is terminal', async () => {
    const target = uniqueTarget('orders-db');
    const first = newRun(target);
    expect(await store.insertRun(first, REQUESTER)).toEqual({ ok: true });
    await mustApply(first.id, { type: 'start', at: at(1) });
    expect(await store.insertRun(newRun(target, 2), REQUESTER)).toEqual({ ok: false, activeRunId: first.id });

    const aborted = await mustApply(first.id, {
      type: 'abort',
      at: at(3),
      user: REQUESTER,
      reason: 'not today',
    });
    expect(aborted.state).toBe('aborted');
    const next = newRun(target, 4);
    expect(await store.insertRun(next, REQUESTER)).toEqual({ ok: true });
    expect((await store.listActiveRuns()).map((run) => run.id)).toContain(next.id);
  });

  it('applies an accepted event: stores the new state, audits it, returns the effects', async () => {
    const run = newRun(uniqueTarget('orders-db'));
    await store.insertRun(run, REQUESTER);
    const outcome = await store.applyEvent(run.id, { type: 'start', at: at(1) }, 'U0STARTER', transition);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.effects).toEqual([
      { type: 'enqueue', job: { runId: run.id, step: 0, attempt: 1, mode: 'execute' }, delayMs: 0 },
    ]);
    expect(outcome.run).toMatchObject({ state: 'running', currentStep: 0, updatedAt: at(1) });
    expect(await store.getRun(run.id)).toStrictEqual(outcome.run);

    const audit = await store.listAudit(run.id);
    expect(audit.map((entry) => [entry.type, entry.actor])).toEqual([
      ['run_created', REQUESTER],
      ['start', 'U0STARTER'],
    ]);
    expect(audit[1]).toMatchObject({ at: at(1), payload: { type: 'start', at: at(1) } });
    expect(audit[0]!.id!).toBeLessThan(audit[1]!.id!);
  });

  it('refuses a stale machine event without auditing it, and audits a refused human event', async () => {
    const run = newRun(uniqueTarget('orders-db'));
    await store.insertRun(run, REQUESTER);
    await mustApply(run.id, { type: 'start', at: at(1) });
    const stale = await store.applyEvent(
      run.id,
      { type: 'step_started', at: at(2), step: 0, attempt: 7 },
      'worker',
      transition,
    );
    expect(stale.ok).toBe(false);
    if (!stale.ok) {
      expect(stale.error).toMatch(/stale/);
      expect(stale.run?.state).toBe('running');
    }

    const reopen = await store.applyEvent(
      run.id,
      { type: 'gate_reopen', at: at(3), step: 0, user: APPROVER },
      APPROVER,
      transition,
      {
        lagBytes: 5,
      },
    );
    expect(reopen.ok).toBe(false);
    const audit = await store.listAudit(run.id);
    expect(audit.map((entry) => entry.type)).toEqual(['run_created', 'start', 'refused:gate_reopen']);
    expect(reopen.ok ? null : reopen.error).toMatch(/expired/);
    expect(audit[2]?.payload).toEqual({
      event: { type: 'gate_reopen', at: at(3), step: 0, user: APPROVER },
      error: reopen.ok ? null : reopen.error,
      seen: { lagBytes: 5 },
    });
  });

  it('records the same approval clicked twice at once only once; the second is refused and audited', async () => {
    const run = await runAtGate(uniqueTarget('orders-db'));
    const round = run.steps[1]?.gate?.round ?? 0;
    // The gate is destructive: the engine requires the target's name typed with the approval.
    const approve: RunEvent = {
      type: 'approve',
      at: at(10),
      step: 1,
      round,
      user: APPROVER,
      confirmation: run.target,
    };
    const seen = { lagBytes: 1024, lagSeconds: 0.5 };
    const outcomes = await Promise.all([
      store.applyEvent(run.id, approve, APPROVER, transition, seen),
      store.applyEvent(run.id, approve, APPROVER, transition, seen),
    ]);
    expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(1);
    const refused = outcomes.find((outcome) => !outcome.ok);
    expect(refused).toMatchObject({ ok: false, run: { id: run.id, state: 'running' } });

    expect(await store.listApprovals(run.id)).toEqual([
      { runId: run.id, step: 1, round, userId: APPROVER, at: at(10), seen },
    ]);
    const audit = await store.listAudit(run.id);
    const approvals = audit.filter((entry) => entry.type.endsWith('approve'));
    expect(approvals.map((entry) => entry.type)).toEqual(['approve', 'refused:approve']);
    expect(approvals[0]?.payload).toEqual({ ...approve, seen });
    expect(approvals[1]?.payload).toEqual({
      event: approve,
      seen,
      error: refused?.ok ? null : refused?.error,
    });
    expect(approvals.every((entry) => entry.actor === APPROVER)).toBe(true);
  });

  it('audits a self-approval refusal', async () => {
    const run = await runAtGate(uniqueTarget('orders-db'));
    const outcome = await store.applyEvent(
      run.id,
      { type: 'approve', at: at(10), step: 1, round: 1, user: REQUESTER },
      REQUESTER,
      transition,
    );
    expect(outcome).toMatchObject({ ok: false, error: 'the requester cannot approve their own run' });
    expect(await store.listApprovals(run.id)).toEqual([]);
    expect((await store.listAudit(run.id)).at(-1)?.type).toBe('refused:approve');
  });

  it('stores every transition of a long run exactly as the pure engine computes it', async () => {
    let mirror = newRun(uniqueTarget('orders-db'));
    await store.insertRun(mirror, REQUESTER);
    const events: RunEvent[] = [
      { type: 'start', at: at(1) },
      { type: 'step_started', at: at(2), step: 0, attempt: 1 },
      {
        type: 'step_failed',
        at: at(3),
        step: 0,
        attempt: 1,
        failure: { class: 'retryable', message: 'lag too high', retryAfterMs: 5000, detail: { bytes: 99 } },
      },
      { type: 'step_started', at: at(9), step: 0, attempt: 2 },
      {
        type: 'step_succeeded',
        at: at(10),
        step: 0,
        attempt: 2,
        output: { lagBytes: 0, list: [1, 'two', null] },
      },
      { type: 'approve', at: at(20), step: 1, round: 1, user: APPROVER, confirmation: mirror.target },
      { type: 'step_started', at: at(21), step: 2, attempt: 1 },
      {
        type: 'step_failed',
        at: at(22),
        step: 2,
        attempt: 1,
        failure: { class: 'needs_human', message: 'primary still has clients' },
      },
      { type: 'approve', at: at(30), step: 2, round: 1, user: 'U0SECOND', confirmation: mirror.target },
      { type: 'step_started', at: at(31), step: 2, attempt: 2 },
      { type: 'step_succeeded', at: at(32), step: 2, attempt: 2, output: { fenced: true } },
      { type: 'step_started', at: at(33), step: 3, attempt: 1 },
      {
        type: 'step_waiting',
        at: at(34),
        step: 3,
        attempt: 1,
        delayMs: 1000,
        output: { replayLagBytes: 12 },
      },
      { type: 'abort', at: at(35), user: APPROVER, reason: 'traffic spike' },
      {
        type: 'compensation_failed',
        at: at(36),
        step: 2,
        attempt: 3,
        failure: { class: 'retryable', message: 'ssh timeout' },
      },
      { type: 'compensation_succeeded', at: at(40), step: 2, attempt: 4, output: { unfenced: true } },
    ];
    for (const event of events) {
      const expected = transition(mirror, event);
      if (!expected.ok) throw new Error(`scenario broken at ${event.type}: ${expected.error}`);
      const outcome = await store.applyEvent(
        mirror.id,
        event,
        'test',
        transition,
        event.type === 'approve' ? { n: 1 } : undefined,
      );
      expect(outcome).toStrictEqual({
        ok: true,
        run: expected.run,
        previous: mirror,
        effects: expected.effects,
      });
      expect(await store.getRun(mirror.id)).toStrictEqual(expected.run);
      mirror = expected.run;
    }
    expect(mirror.state).toBe('aborted');
    expect(mirror.steps[2]?.humanOverride).toBe(true);
    expect((await store.listAudit(mirror.id)).map((entry) => entry.type)).toEqual([
      'run_created',
      ...events.map((event) => event.type),
    ]);
    expect((await store.listApprovals(mirror.id)).map((row) => [row.step, row.round, row.userId])).toEqual([
      [1, 1, APPROVER],
      [2, 1, 'U0SECOND'],
    ]);
    expect((await store.listActiveRuns()).map((run) => run.id)).not.toContain(mirror.id);
  });

  it('lists active runs oldest first and recent runs newest first', async () => {
    const base = 10_000;
    const a = newRun(uniqueTarget('list'), base + 1);
    const b = newRun(uniqueTarget('list'), base + 2);
    const c = newRun(uniqueTarget('list'), base + 3);
    for (const run of [b, c, a]) await store.insertRun(run, REQUESTER);
    await mustApply(b.id, { type: 'start', at: at(base + 5) });
    await mustApply(b.id, { type: 'abort', at: at(base + 6), user: REQUESTER, reason: 'done' });

    const mine = new Set([a.id, b.id, c.id]);
    const active = (await store.listActiveRuns()).filter((run) => mine.has(run.id));
    expect(active.map((run) => run.id)).toEqual([a.id, c.id]);
    expect(active[0]).toStrictEqual(a);

    const recent = await store.listRecentRuns(3);
    expect(recent.map((run) => run.id)).toEqual([c.id, b.id, a.id]);
    expect(recent[1]?.state).toBe('aborted');
    expect(recent[1]?.steps).toHaveLength(4);
    expect(await store.listRecentRuns(0)).toEqual([]);
  });

  it('keeps audit_events append-only', async () => {
    const run = newRun(uniqueTarget('orders-db'));
    await store.insertRun(run, REQUESTER);
    await store.appendAudit({ runId: run.id, actor: 'U0X', type: 'note', payload: { text: 'hello' } });
    await store.appendAudit({
      runId: null,
      actor: 'system',
      type: 'config_reloaded',
      payload: {},
      at: at(5),
    });
    const audit = await store.listAudit(run.id);
    expect(audit.map((entry) => entry.type)).toEqual(['run_created', 'note']);
    expect(Date.parse(audit[1]!.at)).not.toBeNaN();

    const table = `"${schema}".audit_events`;
    await expect(
      store.pool.query(`UPDATE ${table} SET actor = 'mallory' WHERE run_id = $1`, [run.id]),
    ).rejects.toThrow(/append-only/);
    await expect(store.pool.query(`DELETE FROM ${table} WHERE run_id = $1`, [run.id])).rejects.toThrow(
      /append-only/,
    );
    await expect(store.pool.query(`TRUNCATE ${table}`)).rejects.toThrow(/append-only/);
    expect(await store.listAudit(run.id)).toEqual(audit);
  });

  it('enforces allowed states in the database', async () => {
    const run = newRun(uniqueTarget('orders-db'));
    await store.insertRun(run, REQUESTER);
    await expect(
      store.pool.query(`UPDATE "${schema}".runs SET state = 'paused' WHERE id = $1`, [run.id]),
    ).rejects.toMatchObject({ code: '23514' });
    await expect(
      store.pool.query(`UPDATE "${schema}".steps SET state = 'done' WHERE run_id = $1`, [run.id]),
    ).rejects.toMatchObject({ code: '23514' });
  });

  it('returns the newest lag samples, newest last', async () => {
    const run = newRun(uniqueTarget('orders-db'));
    await store.insertRun(run, REQUESTER);
    const samples = [
      { runId: run.id, at: at(3), bytes: 3, seconds: 0.3 },
      { runId: run.id, at: at(1), bytes: 17_179_869_184, seconds: 1.25 },
      { runId: run.id, at: at(5), bytes: null, seconds: null },
      { runId: run.id, at: at(2), bytes: 2, seconds: null },
      { runId: run.id, at: at(4), bytes: 0, seconds: 0 },
    ];
    for (const sample of samples) await store.recordLagSample(sample);
    expect(await store.recentLagSamples(run.id, 3)).toEqual([samples[0], samples[4], samples[2]]);
    expect((await store.recentLagSamples(run.id, 10)).map((sample) => sample.at)).toEqual(
      [1, 2, 3, 4, 5].map((second) => at(second)),
    );
    expect(await store.recentLagSamples(randomUUID(), 10)).toEqual([]);
  });

  it("keeps a cluster's lagging replicas with its samples", async () => {
    const run = newRun(uniqueTarget('cache'));
    await store.insertRun(run, REQUESTER);
    const samples = [
      { runId: run.id, at: at(1), bytes: null, seconds: null, laggingReplicas: 3 },
      { runId: run.id, at: at(2), bytes: null, seconds: null, laggingReplicas: 0 },
      { runId: run.id, at: at(3), bytes: 10, seconds: 0.1 },
    ];
    for (const sample of samples) await store.recordLagSample(sample);
    expect(await store.recentLagSamples(run.id, 10)).toEqual(samples);
    await expect(
      store.recordLagSample({ runId: run.id, at: at(4), bytes: null, seconds: null, laggingReplicas: -1 }),
    ).rejects.toThrow(/check constraint/);
  });

  it('learns step durations from earlier successful runs of the same target and strategy, newest first', async () => {
    const target = uniqueTarget('orders-db');
    const finishedRun = (fenceMs: number, minute: number, state: 'succeeded' | 'failed'): Run => {
      const run = newRun(target, minute * 60);
      const fence = run.steps[2]!;
      fence.state = state;
      fence.startedAt = at(minute * 60 + 10);
      fence.finishedAt = new Date(Date.parse(fence.startedAt) + fenceMs).toISOString();
      run.state = 'succeeded';
      run.finishedAt = at(minute * 60 + 30);
      return run;
    };
    for (const [ms, minute, state] of [
      [1_500, 1, 'succeeded'],
      [2_500, 2, 'succeeded'],
      [99_000, 3, 'failed'],
      [4_000, 4, 'succeeded'],
    ] as const) {
      const inserted = await store.insertRun(finishedRun(ms, minute, state), REQUESTER);
      expect(inserted.ok).toBe(true);
    }
    const query = { target, strategy: 'replica-promotion', step: 'fence-primary' };
    expect(await store.recentStepDurations(query, 5)).toEqual([4_000, 2_500, 1_500]);
    expect(await store.recentStepDurations(query, 2)).toEqual([4_000, 2_500]);
    expect(await store.recentStepDurations({ ...query, strategy: 'volume-swap' }, 5)).toEqual([]);
    expect((await store.lastSucceededAt(target))?.finishedAt).toBe(at(4 * 60 + 30));
    expect(await store.lastSucceededAt(uniqueTarget('never-cut-over'))).toBeNull();
  });

  it('claims a Slack delivery key once', async () => {
    const key = `delivery-${randomUUID()}`;
    expect(await store.claimSlackDelivery(key)).toBe(true);
    expect(await store.claimSlackDelivery(key)).toBe(false);
  });

  it('answers ping', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });
});
