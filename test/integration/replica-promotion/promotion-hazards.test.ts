// What can go wrong around the promotion itself, on real pairs: a prepared transaction that a client
// commits right after the approval, a promotion that does not finish in promoteTimeout (the standby's
// startup process stopped), a standby whose synchronous_standby_names names a server that does not
// exist (every commit would hang once it is promoted), and a standby that streams from another
// primary, configured by mistake.
import { Client } from 'pg';
import { PgReplication } from '../../../src/adapters/postgres/pg-replication';
import { FENCE_AND_PROMOTE_STEP } from '../../../src/strategies/replica-promotion/plan';
import { ReplicationProbe } from '../../faults/support/replication-probe';
import { freshSchemaName, inRecovery, sqlAt } from '../../support/services/pg';
import { asRole, missingRows, startClient } from '../../support/services/pg-clients';
import {
  openGate,
  SQL_TARGET,
  startPromotionDriver,
  STOP_TARGET,
  type PromotionDriver,
} from '../../support/runtimes/promotion-driver';
import { freshQueueName } from '../../support/services/redis';
import { untilRunState } from '../../support/runtimes/run-state';
import { waitFor } from '../../support/wait-for';

jest.setTimeout(120_000);

const schema = freshSchemaName('t_hazards');
const probe = new ReplicationProbe(new PgReplication());
let promotion: PromotionDriver;

beforeAll(async () => {
  promotion = await startPromotionDriver({
    schema,
    queueName: freshQueueName('hazards'),
    replication: probe,
    postgresExtra: 'promoteTimeout: 2s',
  });
});

afterAll(async () => {
  await promotion.close();
});

test('a prepared transaction: the run stops before fencing; approved, it moves to the new primary still prepared, and clients that try to COMMIT PREPARED on the old primary right after the fence cannot', async () => {
  const pair = await promotion.freshPair({ extraConfig: ['max_prepared_transactions = 5'] });
  const preparer = new Client({ connectionString: asRole(pair.primaryUrl, 'app_plain') });
  await preparer.connect();
  await preparer.query(
    "BEGIN; INSERT INTO ledger (client, n) VALUES ('prepared', 1); PREPARE TRANSACTION 'tx-1'",
  );
  await preparer.end();

  const asked = await promotion.cutOver(SQL_TARGET);
  const gate = openGate(asked)!;
  expect(gate.spec.name).toBe('prepare');
  expect(gate.gate?.message).toMatch(/1 prepared transaction\(s\) on the primary: tx-1 .*Nothing is fenced/);
  expect(await inRecovery(pair.standbyUrl)).toBe(true);

  // Right after the fence, clients (the owner, and a superuser) try to commit it on the old primary.
  const refusals: string[] = [];
  probe.after.fence = async (url) => {
    probe.after.fence = undefined;
    for (const role of ['app_plain', 'app_super']) {
      await sqlAt(asRole(url, role), "COMMIT PREPARED 'tx-1'").then(
        () => refusals.push(`${role}: committed`),
        (error: Error) => refusals.push(`${role}: ${error.message}`),
      );
    }
  };
  const done = await promotion.approve(asked.id);
  expect(done.state).toBe('succeeded');
  expect(refusals).toEqual([
    'app_plain: role "app_plain" is not permitted to log in',
    'app_super: role "app_super" is not permitted to log in',
  ]);
  // Not committed anywhere, and not lost: still prepared, on the new primary, for a person to decide.
  expect(await sqlAt(pair.standbyUrl, 'SELECT gid FROM pg_prepared_xacts')).toEqual([{ gid: 'tx-1' }]);
  const committed = await sqlAt<{ n: number }>(
    pair.standbyUrl,
    "SELECT count(*)::int AS n FROM ledger WHERE client = 'prepared'",
  );
  expect(committed[0]?.n).toBe(0);
  await sqlAt(pair.standbyUrl, "COMMIT PREPARED 'tx-1'");
  expect(done.steps.find((step) => step.spec.name === 'report')?.output?.['report']).toMatch(
    /1 prepared transaction\(s\) moved to the new primary still prepared: tx-1/,
  );
});

test('a promotion that does not finish in promoteTimeout (the standby’s startup process stopped): a needs-human gate with both servers; abort never makes the old primary writable again', async () => {
  const pair = await promotion.freshPair();
  const client = startClient(pair.primaryUrl, 'session-rw');
  let startup = 0;
  probe.before.promote = async (url) => {
    probe.before.promote = undefined;
    startup = (
      await sqlAt<{ pid: number }>(url, "SELECT pid FROM pg_stat_activity WHERE backend_type = 'startup'")
    )[0]!.pid;
    process.kill(startup, 'SIGSTOP');
  };
  try {
    await waitFor('writes', async () => client.acknowledged.length > 20 || undefined);
    const stuck = await promotion.cutOver(SQL_TARGET);
    expect(stuck.state).toBe('awaiting_approval');
    const gate = openGate(stuck)!;
    expect(gate.spec.name).toBe(FENCE_AND_PROMOTE_STEP);
    expect(gate.gate?.message).toMatch(/did not finish its promotion within 2 s/);
    expect(gate.gate?.message).toMatch(
      /old primary: in recovery false, timeline 1, LSN .*; standby: in recovery true, timeline 1, LSN/,
    );
    expect(gate.output).toMatchObject({ promoteRequested: true });

    await promotion.runtime.runs.abort(stuck.id, 'U0APPROVER', 'promotion hangs');
    const ended = await untilRunState(promotion.runtime.store, stuck.id, ['failed', 'aborted']);
    // The undo refused: pg_promote was requested.
    const step = ended.steps.find((candidate) => candidate.spec.name === FENCE_AND_PROMOTE_STEP)!;
    expect(step.state).toBe('compensation_failed');
    expect(step.error?.message).toMatch(/pg_promote was requested/);
  } finally {
    if (startup) process.kill(startup, 'SIGCONT');
    await client.stop();
  }
  // The standby finishes its promotion; the old primary takes no client's writes, ever.
  await waitFor('the standby promoted', async () => !(await inRecovery(pair.standbyUrl)) || undefined);
  for (const role of ['app_plain', 'app_role_rw', 'app_super']) {
    const wrote = await sqlAt(
      asRole(pair.primaryUrl, role),
      "INSERT INTO ledger (client, n) VALUES ('late', 1)",
    ).then(
      () => true,
      () => false,
    );
    expect(wrote).toBe(false);
  }
  expect(await missingRows(pair.standbyUrl, [client])).toEqual([]);
});

test('a standby whose synchronous_standby_names names a server that does not exist: cleared before the promotion, and a commit completes on the new primary', async () => {
  const pair = await promotion.freshPair();
  await sqlAt(pair.standbyUrl, "ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (no_such_standby)'");
  await sqlAt(pair.standbyUrl, 'SELECT pg_reload_conf()');
  const checks = await promotion.strategy.preflight(promotion.runtime.findTarget(STOP_TARGET)!);
  expect(checks.find((check) => check.name === 'synchronous standbys')).toMatchObject({
    ok: true,
    warning: true,
    detail: expect.stringMatching(/no_such_standby/),
  });

  const done = await promotion.cutOver(STOP_TARGET);
  expect({ state: done.state, gate: openGate(done)?.gate?.message ?? null }).toEqual({
    state: 'succeeded',
    gate: null,
  });
  expect(done.steps.find((step) => step.spec.name === 'prepare')?.output).toMatchObject({
    syncStandbyNamesCleared: 'FIRST 1 (no_such_standby)',
  });
  expect(done.steps.find((step) => step.spec.name === 'report')?.output?.['report']).toMatch(
    /no_such_standby.*cleared/,
  );
  expect(
    (
      await sqlAt<{ s: string }>(pair.standbyUrl, "SELECT current_setting('synchronous_standby_names') AS s")
    )[0]?.s,
  ).toBe('');
  // A client's commit returns.
  await sqlAt(asRole(pair.standbyUrl, 'app_plain'), "INSERT INTO ledger (client, n) VALUES ('after', 1)");
});

test('a standby that streams from another primary, configured by mistake: refused in preflight, nothing touched', async () => {
  const first = await promotion.freshPair();
  const second = await promotion.freshPair();
  // The target names the first pair's primary with the second pair's standby.
  promotion.use({ ...first, standbyUrl: second.standbyUrl });
  const checks = await promotion.strategy.preflight(promotion.runtime.findTarget(SQL_TARGET)!);
  const failed = checks.filter((check) => !check.ok).map((check) => `${check.name}: ${check.detail}`);
  expect(failed.join('\n')).toMatch(/same system identifier: primary \d+ ≠ standby \d+/);
  expect(failed.join('\n')).toMatch(
    /standby streams from this primary: the standby streams from 127\.0\.0\.1:\d+, not from this primary/,
  );

  const run = await promotion.start(SQL_TARGET);
  expect(run.state).toBe('failed');
  expect(run.outcome).toMatch(/preflight refused/);
  expect(await inRecovery(second.standbyUrl)).toBe(true);
  expect(await inRecovery(first.standbyUrl)).toBe(true);
  const writes = startClient(first.primaryUrl, 'plain');
  await waitFor('the primary still takes writes', async () => writes.acknowledged.length > 5 || undefined);
  await writes.stop();
});
