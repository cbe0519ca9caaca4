// The SQL fence against what is not an ordinary client: the standby's own replication role (locked
// out of the old primary, given back on the new one), an application that logs in as the bot's own
// role (which the fence cannot lock out: the run stops before promoting), and a background worker
// that writes (a logical replication apply worker: terminated, and it cannot come back).
import { Client } from 'pg';
import { PgReplication } from '../../../src/adapters/postgres/pg-replication';
import { FENCE_AND_PROMOTE_STEP } from '../../../src/strategies/replica-promotion/plan';
import { freshSchemaName, inRecovery, sqlAt } from '../../support/services/pg';
import { asRole, missingRows, startClient } from '../../support/services/pg-clients';
import { startPgCluster, type PgCluster } from '../../support/services/pg-pair';
import {
  openGate,
  SQL_TARGET,
  startPromotionDriver,
  type PromotionDriver,
} from '../../support/runtimes/promotion-driver';
import { ReplicationProbe } from '../../faults/support/replication-probe';
import { freshQueueName } from '../../support/services/redis';
import { untilRunState } from '../../support/runtimes/run-state';
import { waitFor } from '../../support/wait-for';

jest.setTimeout(120_000);

const schema = freshSchemaName('t_fence_sessions');
let promotion: PromotionDriver;
/** The real port, with hooks to act at a point of the run (a client that logs in after the fence). */
const probe = new ReplicationProbe(new PgReplication());
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  promotion = await startPromotionDriver({
    schema,
    queueName: freshQueueName('fence-sessions'),
    replication: probe,
  });
});

afterAll(async () => {
  await promotion.close();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function canLogin(url: string, role: string): Promise<boolean> {
  const rows = await sqlAt<{ login: boolean }>(
    url,
    'SELECT rolcanlogin AS login FROM pg_roles WHERE rolname = $1',
    [role],
  );
  return rows[0]?.login === true;
}

test('a standby streaming as its own replication role: locked out of the old primary by the seal, logins restored on the new one', async () => {
  const servers = await promotion.freshPair({ replicationRole: 'replicator' });
  const client = startClient(servers.primaryUrl, 'session-rw');
  try {
    await waitFor('writes', async () => client.acknowledged.length > 20 || undefined);
    const run = await promotion.cutOver(SQL_TARGET);
    expect(run.state).toBe('succeeded');
    const promoted = run.steps.find((step) => step.spec.name === FENCE_AND_PROMOTE_STEP)?.output;
    expect(promoted).toMatchObject({ keptRoles: ['postgres', 'replicator'], sealedRoles: ['replicator'] });
  } finally {
    await client.stop();
  }
  expect(await missingRows(servers.standbyUrl, [client])).toEqual([]);
  // Everyone may log in to the new primary; nobody but... nobody, to the old one.
  for (const role of ['replicator', 'app_plain', 'app_super', 'postgres'])
    expect(await canLogin(servers.standbyUrl, role)).toBe(true);
  // The old primary is read through a role that was never a login role there: pg_roles via the new
  // primary would not tell. Connecting as anyone is refused.
  for (const role of ['replicator', 'app_plain', 'postgres']) {
    const refused = await sqlAt(asRole(servers.primaryUrl, role), 'SELECT 1').then(
      () => false,
      (error: Error) => /not permitted to log in/.test(error.message),
    );
    expect(refused).toBe(true);
  }
});

test('an application logged in as the bot’s own role: the run stops before fencing and stays stopped while it is there (approving only checks again); abort leaves the primary as it was', async () => {
  const servers = await promotion.freshPair();
  // A client of the bot's role (postgres here), on a pooled connection that it opens again when ended.
  const intruder = startClientAs(servers.primaryUrl, 'postgres');
  const plain = startClient(servers.primaryUrl, 'plain');
  try {
    await waitFor(
      'writes',
      async () => (intruder.acknowledged.length > 10 && plain.acknowledged.length > 10) || undefined,
    );
    const asked = await promotion.cutOver(SQL_TARGET);
    expect(asked.state).toBe('awaiting_approval');
    const prepare = openGate(asked)!;
    expect(prepare.spec.name).toBe('prepare');
    expect(prepare.gate?.message).toMatch(/sessions of roles the SQL fence cannot lock out .*role postgres/);
    const stillThere = await promotion.approve(asked.id);
    expect(openGate(stillThere)?.spec.name).toBe('prepare');
    // Nothing was fenced: everyone still writes.
    expect(await canLogin(servers.primaryUrl, 'app_plain')).toBe(true);
    const before = plain.acknowledged.length;
    await waitFor('plain writes go on', async () => plain.acknowledged.length > before + 10 || undefined);

    await promotion.runtime.runs.abort(stillThere.id, 'U0APPROVER', 'an app uses the bot role');
    expect((await untilRunState(promotion.runtime.store, stillThere.id, ['aborted'])).state).toBe('aborted');
  } finally {
    await Promise.all([intruder.stop(), plain.stop()]);
  }
  expect(await missingRows(servers.primaryUrl, [plain])).toEqual([]);
  expect(await inRecovery(servers.standbyUrl)).toBe(true);
});

test('a session of the bot’s role that logs in after the fence: the run stops before promoting; abort unfences, and nothing acknowledged is lost', async () => {
  const servers = await promotion.freshPair();
  const plain = startClient(servers.primaryUrl, 'session-rw');
  let intruder: ReturnType<typeof startClientAs> | null = null;
  // Right after the fence (a cron job, a person's psql): it logs in as the bot's role and writes.
  probe.after.fence = async (url) => {
    probe.after.fence = undefined;
    intruder = startClientAs(url, 'postgres');
    await waitFor('the intruder writing', async () => (intruder?.acknowledged.length ?? 0) > 0 || undefined);
  };
  try {
    await waitFor('writes', async () => plain.acknowledged.length > 20 || undefined);
    const stopped = await promotion.cutOver(SQL_TARGET);
    expect(stopped.state).toBe('awaiting_approval');
    const gate = openGate(stopped)!;
    expect(gate.spec.name).toBe(FENCE_AND_PROMOTE_STEP);
    expect(gate.gate?.message).toMatch(/sessions are back on the fenced primary: .*role postgres/);
    expect(await inRecovery(servers.standbyUrl)).toBe(true);

    await promotion.runtime.runs.abort(stopped.id, 'U0APPROVER', 'someone logged in as the bot');
    expect((await untilRunState(promotion.runtime.store, stopped.id, ['aborted'])).state).toBe('aborted');
    const before = plain.acknowledged.length;
    await waitFor(
      'writes again after the abort',
      async () => plain.acknowledged.length > before + 5 || undefined,
    );
  } finally {
    const started = intruder as ReturnType<typeof startClientAs> | null;
    await Promise.all([plain.stop(), started?.stop()]);
  }
  expect(await canLogin(servers.primaryUrl, 'app_plain')).toBe(true);
  expect(await missingRows(servers.primaryUrl, [plain])).toEqual([]);
});

test('a logical replication apply worker writing to the primary: terminated by the fence, it cannot come back; on the new primary it goes on, and nothing the publisher committed is missing', async () => {
  const servers = await promotion.freshPair({
    extraConfig: ['max_logical_replication_workers = 4', 'max_worker_processes = 12'],
  });
  const publisher: PgCluster = await startPgCluster({ extraConfig: ['wal_level = logical'] });
  cleanups.push(() => publisher.destroy());
  await sqlAt(
    publisher.url,
    'CREATE TABLE feed (id serial PRIMARY KEY, body text); CREATE PUBLICATION pub FOR TABLE feed',
  );
  await sqlAt(
    servers.primaryUrl,
    `CREATE TABLE feed (id int PRIMARY KEY, body text);
     CREATE ROLE app_subscriber LOGIN SUPERUSER;`,
  );
  // Created by its owner: the apply worker runs as app_subscriber.
  await sqlAt(
    asRole(servers.primaryUrl, 'app_subscriber'),
    `CREATE SUBSCRIPTION sub CONNECTION '${publisher.url}' PUBLICATION pub`,
  );
  let published = 0;
  let publishing = true;
  const feeding = (async () => {
    while (publishing) {
      await sqlAt(publisher.url, "INSERT INTO feed (body) VALUES ('x')");
      published++;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  try {
    await waitFor('the subscription applying', async () => {
      const rows = await sqlAt<{ n: number }>(servers.primaryUrl, 'SELECT count(*)::int AS n FROM feed');
      return (rows[0]?.n ?? 0) > 20 || undefined;
    });
    const plan = await promotion.strategy.preflight(promotion.runtime.findTarget(SQL_TARGET)!);
    expect(plan.find((check) => check.name === 'background workers')?.detail).toMatch(
      /logical replication worker/,
    );

    const run = await promotion.cutOver(SQL_TARGET);
    expect({ state: run.state, gate: openGate(run)?.gate?.message ?? null }).toEqual({
      state: 'succeeded',
      gate: null,
    });
    // Had the old primary's worker come back, it would have taken rows from the publisher's slot that
    // the new primary's worker then never gets (a slot starts at what was confirmed): checked below.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  } finally {
    publishing = false;
    await feeding;
  }
  // On the new primary the subscription goes on from where the old primary's worker left it.
  const committed = (
    await sqlAt<{ ids: number[] }>(publisher.url, 'SELECT array_agg(id ORDER BY id) AS ids FROM feed')
  )[0]!.ids;
  expect(committed.length).toBe(published);
  await waitFor(
    'the new primary to have every row the publisher committed',
    async () => {
      const rows = await sqlAt<{ n: number }>(servers.standbyUrl, 'SELECT count(*)::int AS n FROM feed');
      return rows[0]?.n === committed.length || undefined;
    },
    { timeoutMs: 30_000 },
  );
});

/** A writer logged in as `role` on one connection (as a pool keeps it), reconnecting when it is ended. */
function startClientAs(url: string, role: string): { acknowledged: number[]; stop(): Promise<void> } {
  const acknowledged: number[] = [];
  let stopped = false;
  const loop = (async () => {
    let n = 0;
    let client: Client | null = null;
    while (!stopped) {
      n++;
      try {
        if (!client) {
          client = new Client({ connectionString: asRole(url, role), connectionTimeoutMillis: 2000 });
          client.on('error', () => undefined);
          await client.connect();
          await client.query('SET default_transaction_read_only = off');
        }
        await client.query("INSERT INTO ledger (client, n) VALUES ('intruder', $1)", [n]);
        acknowledged.push(n);
      } catch {
        // refused or terminated: a new connection next time
        const old: Client | null = client;
        client = null;
        await old?.end().catch(() => undefined);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await client?.end().catch(() => undefined);
  })();
  return {
    acknowledged,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
