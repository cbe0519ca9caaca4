// Figure: the switchover as a client behind PgBouncer sees it. A client writes through PgBouncer
// (transaction pooling, one connection, a write every 2 ms) during a replica promotion with the SQL
// fence; what it sees is its longest stall (from wanting to write to the acknowledgement) and its
// errors (the goal: none).
//
// Bot: the real replica-promotion strategy with `pgbouncer` and the repoint hook
// (scripts/hooks/pgbouncer-repoint.sh), started and approved through RunService.
// Script: a minimal `pg` script doing the same on the same kind of pair: PAUSE, the SQL fence, catch
// up, promote, the writer's role back, the same repoint hook, RELOAD, RESUME.
// Rounds alternate bot and script, each on a fresh pair and PgBouncer that are removed right after.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Client } from 'pg';
import { AwsRdsAdapter } from '../../src/adapters/aws/rds-adapter';
import { ProcessHookRunner } from '../../src/adapters/hooks/process-hook-runner';
import { PgBouncerAdmin } from '../../src/adapters/pgbouncer/pgbouncer-admin';
import { PgReplication } from '../../src/adapters/postgres/pg-replication';
import { startPgPair, WRITER_ROLE, type PgPair } from '../../src/demo/pg-cluster';
import { startPgBouncer, type PgBouncer } from '../../src/demo/pgbouncer';
import { createReplicaPromotion } from '../../src/strategies/replica-promotion';
import {
  APPROVER,
  REQUESTER,
  sleep,
  startBenchBotFor,
  summarize,
  whileOpen,
  type FigureOptions,
  type Row,
} from './common';
import { connect, poll, scriptSqlFence, until, writtenLsn } from './promotion';

const CHANNEL = 'C0BENCHPGB';
const HOOKS = path.join(__dirname, '../hooks');
const run = promisify(execFile);

interface ClientSeen {
  writes: number;
  errors: number;
  longestStallMs: number;
}

/** A client writing through `url` every 2 ms on one connection until stopped. */
function startClient(url: string): { stop(): Promise<ClientSeen> } {
  const seen: ClientSeen = { writes: 0, errors: 0, longestStallMs: 0 };
  let stopped = false;
  const done = (async () => {
    let client: Client | null = null;
    while (!stopped) {
      const wantedAt = Date.now();
      try {
        client ??= await connect(url);
        await client.query('INSERT INTO bench_orders (payload) VALUES ($1)', ['x']);
        seen.writes++;
        seen.longestStallMs = Math.max(seen.longestStallMs, Date.now() - wantedAt);
      } catch {
        seen.errors++;
        const old: Client | null = client;
        client = null;
        await old?.end().catch(() => undefined);
      }
      await sleep(2);
    }
    await client?.end().catch(() => undefined);
  })();
  return {
    async stop() {
      stopped = true;
      await done;
      return seen;
    },
  };
}

async function prepare(): Promise<{
  pair: PgPair;
  bouncer: PgBouncer;
  client: ReturnType<typeof startClient>;
}> {
  const pair = await startPgPair();
  whileOpen(() => pair.destroy());
  const bouncer = await startPgBouncer({ port: pair.primaryPort, users: [WRITER_ROLE] });
  whileOpen(() => bouncer.stop());
  const admin = await connect(pair.primaryUrl);
  await admin.query(
    `CREATE ROLE ${WRITER_ROLE} LOGIN; CREATE TABLE bench_orders (id serial PRIMARY KEY, payload text);
     GRANT INSERT ON bench_orders TO ${WRITER_ROLE}; GRANT USAGE ON SEQUENCE bench_orders_id_seq TO ${WRITER_ROLE}`,
  );
  await admin.end();
  const client = startClient(bouncer.clientUrl(WRITER_ROLE));
  await sleep(300);
  return { pair, bouncer, client };
}

/** The script: PAUSE, fence, catch up, promote, the role back, repoint, RELOAD, RESUME. */
async function scriptSwitch(pair: PgPair, bouncer: PgBouncer): Promise<void> {
  const pooler = new PgBouncerAdmin();
  const admin = await connect(pair.primaryUrl);
  const standby = await connect(pair.standbyUrl);
  const replayed = (lsn: string) =>
    poll(
      async () =>
        (await standby.query<{ ok: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok', [lsn]))
          .rows[0]?.ok === true,
      1,
    );
  try {
    await pooler.pause(bouncer.adminUrl, [bouncer.database], 5_000);
    await replayed(await scriptSqlFence(pair, admin));
    await replayed(await writtenLsn(admin));
    await standby.query('SELECT pg_promote(false)');
    await poll(
      async () =>
        (await standby.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]?.r === false,
      1,
    );
    await standby.query(`ALTER ROLE ${WRITER_ROLE} LOGIN`);
    await run(path.join(HOOKS, 'pgbouncer-repoint.sh'), [
      bouncer.iniPath,
      bouncer.database,
      '127.0.0.1',
      String(pair.standbyPort),
    ]);
    await pooler.reload(bouncer.adminUrl);
    await pooler.resume(bouncer.adminUrl, [bouncer.database]);
  } finally {
    await admin.end().catch(() => undefined);
    await standby.end().catch(() => undefined);
  }
}

export async function benchPgBouncer(options: FigureOptions): Promise<Row[]> {
  const rounds = options.quick ? 2 : 4;
  const env: NodeJS.ProcessEnv = {};
  const names = Array.from({ length: rounds + 1 }, (_, i) => `pgb-${i}`);
  const envName = (name: string, what: string) => `${name.replace(/-/g, '_').toUpperCase()}_${what}`;
  for (const name of names) {
    for (const what of ['PRIMARY', 'STANDBY', 'ADMIN']) env[envName(name, what)] = 'postgres://unset';
    env[envName(name, 'INI')] = '/nonexistent';
  }
  const strategy = createReplicaPromotion({
    replication: new PgReplication(),
    pooler: new PgBouncerAdmin(),
    rds: new AwsRdsAdapter(),
    hooks: new ProcessHookRunner(),
    env,
  });
  const yaml = [
    `defaults:\n  channel: ${CHANNEL}\n  approvers: [${APPROVER}]\ntargets:`,
    ...names.map(
      (name) => `  - name: ${name}
    strategy: replica-promotion
    postgres: { primary: env:${envName(name, 'PRIMARY')}, standby: env:${envName(name, 'STANDBY')}, catchUpTimeout: 10m }
    lagPollInterval: 100ms
    pgbouncer: { instances: [{ admin: env:${envName(name, 'ADMIN')} }], databases: [app] }
    route:
      command: ['${path.join(HOOKS, 'pgbouncer-repoint.sh')}', 'app', '{standby.host}', '{standby.port}']
      env: { PGBOUNCER_INI: env:${envName(name, 'INI')} }`,
    ),
    '',
  ].join('\n');
  const bot = await startBenchBotFor('pgb', strategy, yaml, env);
  const botSeen: ClientSeen[] = [];
  const scriptSeen: ClientSeen[] = [];

  const botRound = async (name: string): Promise<void> => {
    const { pair, bouncer, client } = await prepare();
    try {
      env[envName(name, 'PRIMARY')] = pair.primaryUrl;
      env[envName(name, 'STANDBY')] = pair.standbyUrl;
      env[envName(name, 'ADMIN')] = bouncer.adminUrl;
      env[envName(name, 'INI')] = bouncer.iniPath;
      const started = await bot.runtime.runs.start({
        target: bot.runtime.findTarget(name)!,
        requestedBy: REQUESTER,
        channel: CHANNEL,
      });
      if (!started.ok) throw new Error(`did not start: ${started.message}`);
      const gated = await until('the gate', 60_000, async () => {
        const run = await bot.runtime.store.getRun(started.run.id);
        return run?.state === 'awaiting_approval' ? run : undefined;
      });
      const gate = gated.steps[gated.currentStep]!;
      const approved = await bot.runtime.runs.approve(gated.id, gate.index, gate.gate?.round ?? 1, APPROVER, {
        typed: name,
      });
      if (!approved.ok) throw new Error(approved.error);
      const done = await until('the run', 120_000, async () => {
        const run = await bot.runtime.store.getRun(gated.id);
        return run && ['succeeded', 'failed', 'aborted'].includes(run.state) ? run : undefined;
      });
      if (done.state !== 'succeeded') throw new Error(`ended ${done.state}: ${done.outcome}`);
      await sleep(300);
      botSeen.push(await client.stop());
    } finally {
      await client.stop();
      await bouncer.stop();
      await pair.destroy();
    }
  };

  const scriptRound = async (): Promise<void> => {
    const { pair, bouncer, client } = await prepare();
    try {
      await scriptSwitch(pair, bouncer);
      await sleep(300);
      scriptSeen.push(await client.stop());
    } finally {
      await client.stop();
      await bouncer.stop();
      await pair.destroy();
    }
  };

  try {
    await botRound(names[rounds]!); // warm-up, not counted
    botSeen.length = 0;
    for (let round = 0; round < rounds; round++) {
      if (round % 2 === 0) {
        await botRound(names[round]!);
        await scriptRound();
      } else {
        await scriptRound();
        await botRound(names[round]!);
      }
      options.log(
        `pgbouncer round ${round + 1}/${rounds}: bot stall ${botSeen.at(-1)?.longestStallMs} ms (${botSeen.at(-1)?.errors} errors), script ${scriptSeen.at(-1)?.longestStallMs} ms (${scriptSeen.at(-1)?.errors} errors)`,
      );
    }
  } finally {
    await bot.close();
  }
  const subject = summarize(botSeen.map((seen) => seen.longestStallMs));
  const baseline = summarize(scriptSeen.map((seen) => seen.longestStallMs));
  const errors = botSeen.reduce((sum, seen) => sum + seen.errors, 0);
  const ratio = subject.p50 / baseline.p50;
  return [
    {
      figure: 'pgbouncer',
      metric: `client behind PgBouncer: longest stall of a write during the switchover (${rounds} pairs each)`,
      unit: 'ms',
      subject,
      baseline,
      ratio: { value: ratio, of: 'p50' },
      goal: 'p50 ≤ 1.25× script',
      verdict: ratio <= 1.25 ? 'met' : 'missed',
      details: { botSeen, scriptSeen },
    },
    {
      figure: 'pgbouncer',
      metric: 'client behind PgBouncer: errors during the switchover (all rounds)',
      unit: 'errors',
      subject: null,
      baseline: null,
      ratio: null,
      value: errors,
      baselineValue: scriptSeen.reduce((sum, seen) => sum + seen.errors, 0),
      goal: '0',
      verdict: errors === 0 ? 'met' : 'missed',
    },
  ];
}
