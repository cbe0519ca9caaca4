// The stop fence when the stop hook's word is not the truth, on real pairs: a hook that reports a clean
// shutdown and stops nothing, a primary that hangs (SIGSTOP: connections time out instead of being
// refused), and a crash-like stop (`-m immediate`, whose last WAL the standby may lack). Each time the
// run stops at a needs-human gate before any pg_promote; abort leaves the old primary the writable
// primary, with every write a client had acknowledged.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PgReplication } from '../../../src/adapters/postgres/pg-replication';
import type { Run } from '../../../src/engine/types';
import { FENCE_AND_PROMOTE_STEP } from '../../../src/strategies/replica-promotion/plan';
import { ReplicationProbe } from '../../faults/support/replication-probe';
import { freshSchemaName, inRecovery, postmasterPid, sqlAt } from '../../support/services/pg';
import { missingRows, startClient } from '../../support/services/pg-clients';
import type { PgPair } from '../../support/services/pg-pair';
import {
  openGate,
  startPromotionDriver,
  STOP_TARGET,
  type PromotionDriver,
} from '../../support/runtimes/promotion-driver';
import { freshQueueName } from '../../support/services/redis';
import { untilRunState } from '../../support/runtimes/run-state';
import { waitFor } from '../../support/wait-for';

jest.setTimeout(120_000);

const HOOKS = path.join(__dirname, '../../../scripts/hooks');
/** What the bot reads of pg_controldata, as a hook that only claims a clean shutdown prints it. */
const CLAIMED_SHUTDOWN = `printf 'Database cluster state:               shut down\\nLatest checkpoint location:           0/3000028\\n'`;

/** The stop hook each test installs (one target, so one script that the test rewrites). */
let hookDir: string;
let stopHook: string;
const schema = freshSchemaName('t_stophaz');
const probe = new ReplicationProbe(new PgReplication());
let promotion: PromotionDriver;

async function useStopHook(body: string): Promise<void> {
  await writeFile(stopHook, `#!/bin/sh\nset -eu\nDATA="$PGDATA"\n${body}\n`, { mode: 0o755 });
}

beforeAll(async () => {
  hookDir = await mkdtemp(path.join(os.tmpdir(), 'stop-hazards-'));
  stopHook = path.join(hookDir, 'stop.sh');
  await useStopHook('exit 1');
  promotion = await startPromotionDriver({
    schema,
    queueName: freshQueueName('stophaz'),
    replication: probe,
    stopHook,
  });
});

afterAll(async () => {
  await promotion.close();
  await rm(hookDir, { recursive: true, force: true });
});

/** Approves the run's gate and expects the fence-and-promote step's needs-human gate with `decision`. */
async function stoppedAtFence(decision: string): Promise<Run> {
  const asked = await promotion.start(STOP_TARGET);
  expect(asked.state).toBe('awaiting_approval');
  const stuck = await promotion.approve(asked.id);
  expect(stuck.state).toBe('awaiting_approval');
  const gate = openGate(stuck)!;
  expect(gate.spec.name).toBe(FENCE_AND_PROMOTE_STEP);
  expect(gate.error?.detail).toEqual({ decision });
  expect(gate.output).toMatchObject({ stopRequested: true });
  expect(gate.output?.['promoteRequested']).toBeUndefined();
  return stuck;
}

/** Aborts `run`; the old primary is the writable primary again and the standby was never promoted. */
async function abortedWithPrimaryBack(run: Run, pair: PgPair): Promise<void> {
  await promotion.runtime.runs.abort(run.id, 'U0APPROVER', 'the stop did not happen');
  const ended = await untilRunState(promotion.runtime.store, run.id, ['aborted', 'failed']);
  expect(ended.state).toBe('aborted');
  expect(await inRecovery(pair.standbyUrl)).toBe(true);
  await sqlAt(pair.primaryUrl, "INSERT INTO ledger (client, n) VALUES ('after-abort', 1)");
}

test('a stop hook that reports a clean shutdown but stops nothing: the primary still answers, no promotion', async () => {
  const pair = await promotion.freshPair();
  const client = startClient(pair.primaryUrl, 'plain');
  await useStopHook(CLAIMED_SHUTDOWN);
  try {
    await waitFor('writes', async () => client.acknowledged.length > 20 || undefined);
    const stuck = await stoppedAtFence('stop_not_down');
    expect(openGate(stuck)!.gate?.message).toMatch(/was not refused \(answers\): it may still run/);
    expect(probe.promotesOf(pair.standbyUrl)).toBe(0);
    await abortedWithPrimaryBack(stuck, pair);
  } finally {
    await client.stop();
  }
  expect(await missingRows(pair.primaryUrl, [client])).toEqual([]);
});

test('a primary that hangs instead of stopping: the connection times out, which is not a refusal; no promotion', async () => {
  const pair = await promotion.freshPair();
  const postmaster = postmasterPid(pair.dataDirs.primary);
  const client = startClient(pair.primaryUrl, 'plain');
  // The postmaster stops answering new connections (the kernel still takes them into its backlog);
  // sessions already open go on.
  await useStopHook(`kill -STOP ${postmaster}\n${CLAIMED_SHUTDOWN}`);
  try {
    await waitFor('writes', async () => client.acknowledged.length > 20 || undefined);
    const stuck = await stoppedAtFence('stop_not_down');
    expect(openGate(stuck)!.gate?.message).toMatch(/was not refused \(timeout\)/);
    expect(probe.promotesOf(pair.standbyUrl)).toBe(0);
    process.kill(postmaster, 'SIGCONT');
    await abortedWithPrimaryBack(stuck, pair);
  } finally {
    process.kill(postmaster, 'SIGCONT');
    await client.stop();
  }
  expect(await missingRows(pair.primaryUrl, [client])).toEqual([]);
});

test('a stop that is not clean (immediate, like a crash): no promotion; abort starts the primary again with every acknowledged write', async () => {
  const pair = await promotion.freshPair();
  const client = startClient(pair.primaryUrl, 'plain');
  await useStopHook(
    `. "${HOOKS}/postgres-lib.sh"\nas_owner "$BINDIR/pg_ctl" stop -D "$DATA" -m immediate -w\nas_owner "$BINDIR/pg_controldata" "$DATA"`,
  );
  await waitFor('writes', async () => client.acknowledged.length > 20 || undefined);
  const stuck = await stoppedAtFence('stop_unclean');
  expect(openGate(stuck)!.gate?.message).toMatch(
    /did not shut down cleanly \(cluster state: in production\)/,
  );
  expect(probe.promotesOf(pair.standbyUrl)).toBe(0);
  // The client's session died with the server: what it had acknowledged is what must survive.
  await client.stop();
  // Abort runs the start hook (scripts/hooks/postgres-start.sh): crash recovery, then writable.
  await abortedWithPrimaryBack(stuck, pair);
  expect(await missingRows(pair.primaryUrl, [client])).toEqual([]);
});
