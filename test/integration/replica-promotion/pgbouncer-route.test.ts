// A cutover behind a real PgBouncer: PAUSE before the fence, the route hook repoints PgBouncer's
// database entry at the new primary inside the window, RELOAD, RESUME. A client writing through
// PgBouncer in a tight loop the whole time sees a stall, no error, and loses nothing; afterwards the
// old primary streams from the new one (the rejoin hook). Both fence modes, transaction and session
// pooling. And a PAUSE that cannot finish (a transaction held open): RESUME, a needs-human gate,
// nothing fenced.
import { Client } from 'pg';
import { PgBouncerAdmin } from '../../../src/adapters/pgbouncer/pgbouncer-admin';
import { FENCE_AND_PROMOTE_STEP } from '../../../src/strategies/replica-promotion/plan';
import { freshSchemaName, inRecovery, sqlAt } from '../../support/services/pg';
import {
  asRole,
  missingRows,
  setUpClientRoles,
  startClient,
  type ClientKind,
} from '../../support/services/pg-clients';
import { startPgPair, type PgPair } from '../../support/services/pg-pair';
import { startPgBouncer, type PgBouncer } from '../../support/services/pgbouncer';
import {
  openGate,
  SQL_TARGET,
  startPromotionDriver,
  STOP_TARGET,
  type PromotionDriver,
} from '../../support/runtimes/promotion-driver';
import { freshQueueName } from '../../support/services/redis';
import { waitFor } from '../../support/wait-for';

jest.setTimeout(180_000);

const schema = freshSchemaName('t_pgbouncer');
const admin = new PgBouncerAdmin();
let promotion: PromotionDriver;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  promotion = await startPromotionDriver({
    schema,
    queueName: freshQueueName('pgbouncer'),
    pgbouncer: { probeRole: 'app_plain', pauseTimeout: '2s' },
    rejoin: true,
  });
});

afterAll(async () => {
  await promotion.close();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function setUp(poolMode: 'session' | 'transaction'): Promise<{ pair: PgPair; bouncer: PgBouncer }> {
  const pair = await startPgPair();
  cleanups.push(() => pair.destroy());
  await setUpClientRoles(pair.primaryUrl);
  const bouncer = await startPgBouncer({
    port: pair.primaryPort,
    users: ['app_plain', 'postgres'],
    poolMode,
  });
  cleanups.push(() => bouncer.stop());
  promotion.use(pair);
  promotion.useBouncer(bouncer);
  return { pair, bouncer };
}

const cases: { target: string; poolMode: 'session' | 'transaction'; kind: ClientKind }[] = [
  // Transaction pooling: one persistent client connection. Session pooling: a client per write (a
  // session held open would keep PAUSE from finishing: see the last case).
  { target: SQL_TARGET, poolMode: 'transaction', kind: 'plain' },
  { target: SQL_TARGET, poolMode: 'session', kind: 'reconnect' },
  { target: STOP_TARGET, poolMode: 'transaction', kind: 'plain' },
  { target: STOP_TARGET, poolMode: 'session', kind: 'reconnect' },
];

test.each(cases)(
  '$target, $poolMode pooling: a client writing through PgBouncer sees no error and loses nothing; the old primary rejoins',
  async ({ target, poolMode, kind }) => {
    const { pair, bouncer } = await setUp(poolMode);
    const client = startClient(bouncer.clientUrl('app_plain'), kind);
    let done;
    try {
      await waitFor('writes through PgBouncer', async () => client.acknowledged.length > 20 || undefined);
      done = await promotion.cutOver(target);
      // Clients go on through PgBouncer, now to the new primary.
      const after = client.acknowledged.length;
      await waitFor(
        'writes after the switch',
        async () => client.acknowledged.length > after + 20 || undefined,
      );
    } finally {
      await client.stop();
    }
    const gate = openGate(done)?.gate?.message ?? null;
    expect({ state: done.state, gate, outcome: done.outcome }).toEqual({
      state: 'succeeded',
      gate: null,
      outcome: null,
    });
    expect(client.errors).toEqual({});
    expect(await missingRows(pair.standbyUrl, [client])).toEqual([]);

    // PgBouncer: resumed, and its entry points at the new primary.
    const { databases } = await admin.describe(bouncer.adminUrl);
    expect(databases.find((db) => db.name === 'app')).toMatchObject({
      paused: false,
      port: pair.standbyPort,
    });

    const report = done.steps.find((step) => step.spec.name === 'report')?.output;
    expect(report).toMatchObject({
      clientErrors: 0,
      clientLongestStallMs: expect.any(Number),
      clientPauseMs: expect.any(Number),
      redundancyRestored: true,
    });
    expect(report?.['report']).toMatch(/longest stall \d+ ms, 0 error\(s\)/);
    expect(report?.['report']).toMatch(/No client session is left on the old primary/);
    expect(report?.['report']).toMatch(/Redundancy restored/);
    const promoted = done.steps.find((step) => step.spec.name === FENCE_AND_PROMOTE_STEP)?.output;
    expect(promoted?.['routeReport']).toEqual(expect.stringMatching(/port=\d+/));
    // The route is inside the measured window: routed after the first commit, before the step ended.
    expect(Number(promoted?.['routedAtMs'])).toBeGreaterThanOrEqual(Number(promoted?.['writableAtMs']));

    // Redundancy: the old primary is a standby streaming from the new one.
    expect(await inRecovery(pair.primaryUrl)).toBe(true);
    const followers = await sqlAt<{ application_name: string }>(
      pair.standbyUrl,
      "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'",
    );
    expect(followers.map((row) => row.application_name)).toEqual(['rejoined']);
    // Nothing of the fence is left in the rejoined server's own configuration: promoted by a later
    // cutover (back), it must take writes.
    const [setting] = await sqlAt<{ value: string }>(
      pair.primaryUrl,
      "SELECT setting AS value FROM pg_settings WHERE name = 'default_transaction_read_only'",
    );
    expect(setting?.value).toBe('off');
    // The RESUME switched PgBouncer's server_login_retry off for a moment; it is back.
    const adminConsole = new Client({ connectionString: bouncer.adminUrl });
    await adminConsole.connect();
    const config = (await adminConsole.query<{ key: string; value: string }>('SHOW CONFIG')).rows;
    await adminConsole.end();
    expect(config.find((row) => row.key === 'server_login_retry')?.value).toBe('15');
  },
);

test('a PAUSE that cannot finish (a transaction held open through PgBouncer): RESUME, a needs-human gate, nothing fenced; once it ends, retry completes', async () => {
  const { pair, bouncer } = await setUp('transaction');
  const holder = new Client({ connectionString: asRole(bouncer.clientUrl('app_plain'), 'app_plain') });
  await holder.connect();
  await holder.query("BEGIN; INSERT INTO ledger (client, n) VALUES ('holder', 1)");
  let stopped;
  try {
    stopped = await promotion.cutOver(SQL_TARGET);
    expect(stopped.state).toBe('awaiting_approval');
    const gate = openGate(stopped)!;
    expect(gate.spec.name).toBe(FENCE_AND_PROMOTE_STEP);
    expect(gate.gate?.message).toMatch(
      /PAUSE did not finish within 2000 ms.*Nothing is fenced and every PgBouncer is resumed/s,
    );
    // Nothing fenced, nothing paused: clients go on as before.
    expect((await admin.describe(bouncer.adminUrl)).databases.find((db) => db.name === 'app')?.paused).toBe(
      false,
    );
    await sqlAt(asRole(pair.primaryUrl, 'app_plain'), "INSERT INTO ledger (client, n) VALUES ('direct', 1)");
    expect(await inRecovery(pair.standbyUrl)).toBe(true);
  } finally {
    await holder.query('COMMIT');
    await holder.end();
  }
  const done = await promotion.approve(stopped.id);
  expect({ state: done.state, gate: openGate(done)?.gate?.message ?? null }).toEqual({
    state: 'succeeded',
    gate: null,
  });
  const rows = await sqlAt<{ client: string }>(pair.standbyUrl, 'SELECT client FROM ledger ORDER BY client');
  expect(rows.map((row) => row.client)).toEqual(['direct', 'holder']);
});
