// The promise the bot exists for, tried against what applications really do: during `start` →
// Approve, clients keep writing to the primary, and some of them turn read-only off, open READ WRITE
// transactions, log in as a role that overrides the default or as a superuser, or reconnect for every
// write. They go on writing to the old primary after the cutover too (nobody routes them). Every
// write either server acknowledged must be on the new primary. Both fence modes; each such client
// alone beside a plain one, and all together.
import { Client } from 'pg';
import type { Run } from '../../../src/engine/types';
import { FENCE_AND_PROMOTE_STEP } from '../../../src/strategies/replica-promotion/plan';
import { freshSchemaName } from '../../support/services/pg';
import {
  asRole,
  CLIENT_KINDS,
  missingRows,
  startClient,
  type ClientKind,
  type PgClient,
} from '../../support/services/pg-clients';
import {
  SQL_TARGET,
  startPromotionDriver,
  STOP_TARGET,
  type PromotionDriver,
} from '../../support/runtimes/promotion-driver';
import { freshQueueName } from '../../support/services/redis';
import { waitFor } from '../../support/wait-for';

jest.setTimeout(120_000);

const schema = freshSchemaName('t_fence_clients');
let promotion: PromotionDriver;

beforeAll(async () => {
  promotion = await startPromotionDriver({ schema, queueName: freshQueueName('fence-clients') });
});

afterAll(async () => {
  await promotion.close();
});

/** Whether `role` can write to the server at `url` now (it tries, with read-only turned off). */
async function canWrite(url: string, role: string): Promise<boolean> {
  const client = new Client({ connectionString: asRole(url, role), connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SET default_transaction_read_only = off');
    await client.query('INSERT INTO ledger (client, n) VALUES ($1, -1) ON CONFLICT DO NOTHING', [
      `probe ${role}`,
    ]);
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const HOSTILE = CLIENT_KINDS.filter((kind) => kind !== 'plain');
const sets: [string, ClientKind[]][] = [
  ...HOSTILE.map((kind): [string, ClientKind[]] => [`${kind} beside a plain client`, ['plain', kind]]),
  ['all of them together', [...CLIENT_KINDS]],
];
const cases = [SQL_TARGET, STOP_TARGET].flatMap((target) =>
  sets.map(([what, kinds]) => ({ target, what, kinds })),
);

test.each(cases)(
  '$target, $what: every acknowledged write is on the new primary',
  async ({ target, kinds }) => {
    const pair = await promotion.freshPair();
    const clients: PgClient[] = kinds.map((kind) => startClient(pair.primaryUrl, kind));
    let run: Run;
    try {
      await waitFor(
        'every client writing',
        async () => clients.every((client) => client.acknowledged.length > 10) || undefined,
      );
      run = await promotion.cutOver(target);
      // The clients go on at the old primary's address for a while: nothing they are told is done may be lost.
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      await Promise.all(clients.map((client) => client.stop()));
    }
    const detail = `${run.state}: ${run.outcome ?? ''} ${JSON.stringify(run.steps.find((step) => step.state === 'awaiting_approval')?.gate?.message ?? '')}`;
    expect({ state: run.state, detail }).toMatchObject({ state: 'succeeded' });
    for (const client of clients) expect(client.acknowledged.length).toBeGreaterThan(10);
    expect(await missingRows(pair.standbyUrl, clients)).toEqual([]);

    // The new primary takes every role's writes; the old one takes nobody's.
    for (const role of ['app_plain', 'app_role_rw', 'app_super']) {
      expect(await canWrite(pair.standbyUrl, role)).toBe(true);
      expect(await canWrite(pair.primaryUrl, role)).toBe(false);
    }
    const promoted = run.steps.find((step) => step.spec.name === FENCE_AND_PROMOTE_STEP)?.output;
    expect(promoted).toMatchObject({
      promoteRequested: true,
      timeline: 2,
      mode: target === SQL_TARGET ? 'sql' : 'stop',
    });
    if (target === SQL_TARGET) expect(promoted?.['oldPrimarySealed']).toBe(true);
  },
);
