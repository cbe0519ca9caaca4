// Volume swaps whose volumes are real PostgreSQL data directories (pg-hosts.ts): EC2 is the AWS
// emulator through the real SDK, the stop, start and verifyDown hooks (sim-host.sh) stop, mount and
// start a real PostgreSQL on whichever server the emulator says holds the volumes, and a client
// writes on the old server until the stop. The bot runs in the real runtime.
import { Client } from 'pg';

import type { Run } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import { startPgCluster, startWriter, type Writer } from '../../support/services/pg-pair';
import { APPROVER } from '../../support/runtimes/harness';
import { freshSchemaName } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import { waitFor } from '../../support/wait-for';
import { PgHosts } from './pg-hosts';
import {
  DEVICE,
  Ec2World,
  FAST_DURATIONS,
  FROM,
  REGION,
  startRun,
  startVsRuntime,
  stopVsRuntime,
  TO,
  untilFinished,
  untilRun,
  VOL,
  volumeSwap,
  VS_STEP,
  approveGate,
  needsHumanOn,
} from './vs-runtime';

const WAL = 'vol-0c000000000000004';
const WAL_DEVICE = '/dev/sdg';
const schema = freshSchemaName('t_vs_pg');
const world = new Ec2World();
let single: PgHosts;
let set: PgHosts;
let runtime: Runtime;

function target(name: string, hosts: PgHosts, volumes: string, extra = ''): string {
  const hook = (action: 'start' | 'stop' | 'verify-down') =>
    `{ command: ${JSON.stringify(hosts.hookCommand(action))}, env: ${JSON.stringify(hosts.hookEnv())}, timeout: 60s }`;
  const env = name.toUpperCase().replace(/-/g, '_');
  return `
  - name: ${name}
    strategy: volume-swap
    volume:
      region: ${REGION}
      ${volumes}
      from: { instanceId: ${FROM} }
      to: { instanceId: ${TO} }
      stop: ${hook('stop')}
      start: ${hook('start')}
      verifyDown: ${hook('verify-down')}
      health: { from: env:${env}_FROM, to: env:${env}_TO }
      probeTimeout: 2s
      pollInterval: 50ms
      stopTimeout: 20s
      healthTimeout: 20s
      detachTimeout: 10s
      attachTimeout: 10s${extra}`;
}

beforeAll(async () => {
  single = await PgHosts.create([FROM, TO], [VOL]);
  set = await PgHosts.create([FROM, TO], [VOL, WAL]);
  const env = {
    PG_VOL_FROM: single.url(FROM),
    PG_VOL_TO: single.url(TO),
    PG_SET_FROM: set.url(FROM),
    PG_SET_TO: set.url(TO),
  };
  const yaml = [
    'defaults: { channel: C0TEST0001, approvers: [U0APPROVER] }',
    'targets:',
    target('pg-vol', single, `volumeId: ${VOL}\n      device: ${DEVICE}`),
    target(
      'pg-set',
      set,
      `volumes: [{ volumeId: ${VOL}, device: ${DEVICE} }, { volumeId: ${WAL}, device: ${WAL_DEVICE} }]`,
      `\n    route: { command: ["/bin/sh", "-c", "echo the router refused >&2; exit 1"] }`,
    ),
    '',
  ].join('\n');
  runtime = await startVsRuntime({
    schema,
    queueName: freshQueueName('vs-pg'),
    strategy: volumeSwap(world.adapter(), env),
    yaml,
    env,
  });
});

afterAll(async () => {
  await stopVsRuntime(runtime, schema);
  await single.close();
  await set.close();
  await world.close();
});

async function query<T extends object>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function systemIdentifier(url: string): Promise<string> {
  const [row] = await query<{ id: string }>(
    url,
    'SELECT system_identifier::text AS id FROM pg_control_system()',
  );
  return row!.id;
}

/** Ids in `writer.acknowledged` that the database at `url` does not have. */
async function missingWrites(url: string, writer: Writer): Promise<number[]> {
  const rows = await query<{ id: number }>(url, 'SELECT id FROM orders');
  const present = new Set(rows.map((row) => row.id));
  return writer.acknowledged.filter((id) => !present.has(id));
}

/** The world before a run: both servers running, the volumes on `from`, PostgreSQL up there. */
async function standardWorld(hosts: PgHosts, volumes: [string, string][]): Promise<void> {
  await hosts.stopAll();
  let ec2 = world.reset(FAST_DURATIONS).addInstance(FROM).addInstance(TO);
  for (const [volumeId, device] of volumes)
    ec2 = ec2.addVolume(volumeId, { attachedTo: { instanceId: FROM, device } });
  hosts.follow(world.ec2);
  await hosts.script('start', hosts.server(FROM).dir, volumes.map(([id]) => id).join(','));
}

/** Starts writing on `from` and waits until some writes are acknowledged. */
async function writing(hosts: PgHosts): Promise<Writer> {
  const writer = await startWriter(hosts.url(FROM), 'orders', { intervalMs: 2 });
  await waitFor('writes flowing', async () => writer.acknowledged.length > 20);
  return writer;
}

function approve(run: Run, step: number, round = 1): Promise<void> {
  return approveGate(runtime, run, step, round);
}

async function startAndApprove(name: string): Promise<Run> {
  const run = await startRun(runtime, name);
  await untilRun(runtime, run.id, 'at the planned gate', (current) => current.state === 'awaiting_approval');
  await approve(run, VS_STEP.gate);
  return run;
}

test('the volume moves under writes: every acknowledged write is on the new server, with the same identity', async () => {
  await standardWorld(single, [[VOL, DEVICE]]);
  const identity = await systemIdentifier(single.url(FROM));
  const writer = await writing(single);
  let done: Run;
  try {
    const run = await startAndApprove('pg-vol');
    done = await untilFinished(runtime, run.id, 60_000);
  } finally {
    await writer.stop();
  }

  expect(done.state).toBe('succeeded');
  expect(single.violations).toEqual([]);
  expect(writer.acknowledged.length).toBeGreaterThan(20);
  expect(await missingWrites(single.url(TO), writer)).toEqual([]);
  expect(await systemIdentifier(single.url(TO))).toBe(identity);
  const stopped = done.steps[VS_STEP.stop]?.output;
  expect(stopped).toMatchObject({ fromIdentity: identity, identitySeenAt: 'stop' });
  expect(stopped?.['downBecause']).toMatch(/^3 × refused: .*ECONNREFUSED/);
  expect(done.steps[VS_STEP.detach]?.output?.['verifiedDown']).toContain('nothing mounted');
  expect(done.steps[VS_STEP.start]?.output).toMatchObject({ identity });
  // The snapshot of the stopped database, before the detach; then the move.
  expect(world.ec2.actions()).toEqual([
    `CreateSnapshot ${VOL}`,
    `DetachVolume ${VOL} ${FROM} force=false`,
    `AttachVolume ${VOL} ${TO} ${DEVICE}`,
  ]);
  expect(done.steps[VS_STEP.report]?.output?.['report']).toContain(
    `the same data on both: system identifier ${identity}`,
  );
});

test('an empty cluster already running on to is refused as the wrong data, until the moved one runs there', async () => {
  await standardWorld(single, [[VOL, DEVICE]]);
  const identity = await systemIdentifier(single.url(FROM));
  // What a package does on a new server: an empty cluster, started, on the database's port.
  const empty = await startPgCluster({ port: single.server(TO).port });
  const writer = await writing(single);
  try {
    const emptyIdentity = await systemIdentifier(empty.url);
    const run = await startAndApprove('pg-vol');
    const paused = await untilRun(
      runtime,
      run.id,
      'the wrong data refused',
      needsHumanOn(VS_STEP.start),
      60_000,
    );
    const gate = paused.steps[VS_STEP.start]?.gate;
    expect(gate?.message).toContain(`system identifier ${emptyIdentity}, expected ${identity}`);
    expect(paused.steps[VS_STEP.start]?.error?.detail).toEqual({ decision: 'wrong_identity' });
    expect(paused.steps[VS_STEP.report]?.state).toBe('pending');

    // "Retry" reads again; it never accepts another cluster.
    await approve(run, VS_STEP.start, gate?.round ?? 1);
    const again = await untilRun(
      runtime,
      run.id,
      'refused again',
      (current) => needsHumanOn(VS_STEP.start)(current) && current.steps[VS_STEP.start]?.gate?.round === 2,
      60_000,
    );
    expect(again.steps[VS_STEP.start]?.gate?.message).toContain(`expected ${identity}`);

    // A person stops the stray cluster; the retry starts the moved data.
    await empty.destroy();
    await approve(run, VS_STEP.start, 2);
    const done = await untilFinished(runtime, run.id, 60_000);
    expect(done.state).toBe('succeeded');
    expect(await systemIdentifier(single.url(TO))).toBe(identity);
  } finally {
    await writer.stop();
    await empty.destroy();
  }
  expect(single.violations).toEqual([]);
  expect(await missingWrites(single.url(TO), writer)).toEqual([]);
});

test('a two-volume set (data and WAL) moves together and rolls back together', async () => {
  await standardWorld(set, [
    [VOL, DEVICE],
    [WAL, WAL_DEVICE],
  ]);
  const identity = await systemIdentifier(set.url(FROM));
  const writer = await writing(set);
  let done: Run;
  try {
    const run = await startAndApprove('pg-set');
    // The route hook refuses: the run stops after the move, with the database up on `to`.
    const routeStep = VS_STEP.start + 1;
    await untilRun(runtime, run.id, 'the route refused', needsHumanOn(routeStep), 60_000);
    expect(world.ec2.volume(VOL)?.attachments[0]).toMatchObject({ instanceId: TO, state: 'attached' });
    expect(world.ec2.volume(WAL)?.attachments[0]).toMatchObject({ instanceId: TO, state: 'attached' });
    expect(await systemIdentifier(set.url(TO))).toBe(identity);
    // Every write made it across with the WAL volume.
    expect(await missingWrites(set.url(TO), writer)).toEqual([]);

    expect((await runtime.runs.abort(run.id, APPROVER, 'route refused')).ok).toBe(true);
    done = await untilFinished(runtime, run.id, 60_000);
  } finally {
    await writer.stop();
  }

  expect(done.state).toBe('aborted');
  expect(set.violations).toEqual([]);
  const actions = world.ec2.actions();
  const at = (line: string) => actions.indexOf(line);
  // Both snapshotted, both detached, attached data first; the rollback the same way back.
  expect([...actions].sort()).toEqual(
    [
      `CreateSnapshot ${VOL}`,
      `CreateSnapshot ${WAL}`,
      `DetachVolume ${VOL} ${FROM} force=false`,
      `DetachVolume ${WAL} ${FROM} force=false`,
      `AttachVolume ${VOL} ${TO} ${DEVICE}`,
      `AttachVolume ${WAL} ${TO} ${WAL_DEVICE}`,
      `DetachVolume ${VOL} ${TO} force=false`,
      `DetachVolume ${WAL} ${TO} force=false`,
      `AttachVolume ${VOL} ${FROM} ${DEVICE}`,
      `AttachVolume ${WAL} ${FROM} ${WAL_DEVICE}`,
    ].sort(),
  );
  expect(at(`AttachVolume ${VOL} ${TO} ${DEVICE}`)).toBeLessThan(
    at(`AttachVolume ${WAL} ${TO} ${WAL_DEVICE}`),
  );
  expect(at(`AttachVolume ${WAL} ${TO} ${WAL_DEVICE}`)).toBeLessThan(
    at(`DetachVolume ${VOL} ${TO} force=false`),
  );
  expect(at(`AttachVolume ${VOL} ${FROM} ${DEVICE}`)).toBeLessThan(
    at(`AttachVolume ${WAL} ${FROM} ${WAL_DEVICE}`),
  );
  for (const volumeId of [VOL, WAL])
    expect(world.ec2.volume(volumeId)?.attachments[0]).toMatchObject({ instanceId: FROM, state: 'attached' });
  // The database runs on from again, with its data, and with every acknowledged write.
  expect(await systemIdentifier(set.url(FROM))).toBe(identity);
  expect(await missingWrites(set.url(FROM), writer)).toEqual([]);
});

test('the servers notice a volume pulled from under a running database (what the swap must never do)', async () => {
  await standardWorld(single, [[VOL, DEVICE]]);
  const before = single.violations.length;
  // No bot: a bare DetachVolume while PostgreSQL runs on the volume.
  await world.adapter().detachVolume(REGION, VOL, FROM, false);
  expect(single.violations.slice(before)).toEqual([
    `${VOL} left ${FROM} while mounted there`,
    `${VOL} left ${FROM} while PostgreSQL ${String(single.postmasterPid())} ran on it`,
  ]);
  single.violations.splice(before);
});
