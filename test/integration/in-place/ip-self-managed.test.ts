// Self-managed in-place runs through the real runtime: the snapshot and change commands are real
// child processes (ProcessHookRunner) writing to a temp log, and the health check is the real
// ProbeHealthChecker against a local TCP server standing in for the database (it listens unless the
// flag file says "down"; the change command takes it down, the test brings it back). The optional
// verify step reads what the change did, over SQL (a table in the tests' PostgreSQL stands for the
// setting the change sets) or with a hook.
import { writeFileSync } from 'node:fs';

import type { Run } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import { freshSchemaName, sqlAt, testDatabaseUrl } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import { FakeDatabase, HookFiles, startVsRuntime, stopVsRuntime } from '../volume-swap/vs-runtime';
import {
  abortActiveRuns,
  approveGate,
  CMD_STEP,
  inPlace,
  RdsWorld,
  startRun,
  untilFinished,
  untilRun,
} from './ip-runtime';

const schema = freshSchemaName('t_ip_cmd');
const aws = new RdsWorld();
const hooks = new HookFiles();
let db: FakeDatabase;
let runtime: Runtime;
const env: NodeJS.ProcessEnv = { VERIFY_DB_URL: testDatabaseUrl };

function targetsYaml(port: number): string {
  const sh = (script: string): string => JSON.stringify(['/bin/sh', '-c', script]);
  const common = `health: { tcp: "127.0.0.1:${port}" }\n      pollInterval: 20ms\n      healthTimeout: 30s`;
  return `
defaults: { channel: C0TEST0001, approvers: [U0APPROVER] }
targets:
  - name: wiki-db
    strategy: in-place
    inPlace:
      snapshot: { command: ${sh(`echo 'snapshot {target}' >> ${hooks.log}`)} }
      command: { command: ${sh(`echo 'command {target}' >> ${hooks.log} && echo down > ${hooks.flag}`)}, timeout: 10s }
      ${common}
  - name: tuned-db
    strategy: in-place
    inPlace:
      command: { command: ${sh(`psql "$DB_URL" -qc "UPDATE ${schema}.ip_setting SET value = 'tuned'"`)}, env: { DB_URL: env:VERIFY_DB_URL }, timeout: 10s }
      verify: { sql: { url: env:VERIFY_DB_URL, query: "SELECT value FROM ${schema}.ip_setting", equals: tuned } }
      ${common}
  - name: untuned-db
    strategy: in-place
    inPlace:
      command: { command: ${sh('echo "the change did nothing"')}, timeout: 10s }
      verify: { sql: { url: env:VERIFY_DB_URL, query: "SELECT value FROM ${schema}.ip_setting", matches: "^tuned$" } }
      ${common}
  - name: hook-verified-db
    strategy: in-place
    inPlace:
      command: { command: ${sh(`echo 'command {target}' >> ${hooks.log}`)}, timeout: 10s }
      verify: { hook: { command: ${sh(`grep -q 'command hook-verified-db' ${hooks.log}`)} } }
      ${common}
  - name: broken-db
    strategy: in-place
    inPlace:
      command: { command: ${sh("echo 'ALTER TABLE failed: lock timeout' >&2; exit 3")} }
      ${common}
`;
}

beforeAll(async () => {
  db = await FakeDatabase.create();
  db.follow(() => hooks.read(hooks.flag).trim() !== 'down');
  runtime = await startVsRuntime({
    schema,
    queueName: freshQueueName('ip-cmd'),
    strategy: inPlace(aws.adapter(), env),
    yaml: targetsYaml(db.port),
    env,
  });
  // The setting a change sets, where the verify query reads it (the store's schema exists by now).
  await sqlAt(
    testDatabaseUrl,
    `CREATE TABLE ${schema}.ip_setting (value text); INSERT INTO ${schema}.ip_setting VALUES ('default')`,
  );
});

afterEach(() => abortActiveRuns(runtime));

afterAll(async () => {
  await stopVsRuntime(runtime, schema);
  await db.close();
  await aws.close();
  hooks.remove();
});

function settled(run: Run, what: string, states: string[]): Promise<Run> {
  return untilRun(runtime, run.id, what, (current) => states.includes(current.state));
}

test('snapshot hook → gate → command → waits until healthy → report with the window', async () => {
  writeFileSync(hooks.flag, 'up\n');
  const run = await startRun(runtime, 'wiki-db');
  const gate = await settled(run, 'at the gate', ['awaiting_approval', 'failed']);
  expect(gate.state).toBe('awaiting_approval');
  expect(gate.currentStep).toBe(CMD_STEP.gate);
  // Before the approval only the snapshot hook ran.
  expect(hooks.lines()).toEqual(['snapshot wiki-db']);
  expect(gate.steps[CMD_STEP.snapshot]?.output?.['report']).toContain('exited 0');

  await approveGate(runtime, run, CMD_STEP.gate);
  // The command took the database down: the verify step polls and does not finish.
  const polling = await untilRun(
    runtime,
    run.id,
    'verify polling an unhealthy database',
    (current) => (current.steps[CMD_STEP.verify]?.attempt ?? 0) >= 2,
  );
  expect(polling.state).toBe('running');
  expect(polling.steps[CMD_STEP.verify]?.output?.['notYet']).toEqual(expect.any(String));
  expect(hooks.lines()).toEqual(['snapshot wiki-db', 'command wiki-db']);

  writeFileSync(hooks.flag, 'up\n');
  const done = await untilFinished(runtime, run.id);
  expect(done.state).toBe('succeeded');
  expect(done.steps.map((step) => step.state)).toEqual(Array(6).fill('succeeded'));
  const report = done.steps[CMD_STEP.report]?.output;
  expect(report?.['writeUnavailableMs']).toEqual(expect.any(Number));
  expect(report?.['report']).toMatch(/Write-unavailable window \(change request → healthy\): \d+\.\d s/);
  expect(hooks.lines()).toEqual(['snapshot wiki-db', 'command wiki-db']);
});

test('a failing change command fails the run clearly, with its exit code and output, and is not retried', async () => {
  writeFileSync(hooks.flag, 'up\n');
  const run = await startRun(runtime, 'broken-db');
  // No snapshot hook: preflight, gate, command, verify, report.
  const gate = await settled(run, 'at the gate', ['awaiting_approval']);
  expect(gate.steps.map((step) => step.spec.name)).toEqual([
    'preflight',
    'approve-change',
    'command',
    'verify',
    'report',
  ]);
  await approveGate(runtime, run, 1);
  const done = await untilFinished(runtime, run.id);
  expect(done.state).toBe('failed');
  const command = done.steps.find((step) => step.spec.name === 'command');
  expect(command).toMatchObject({ state: 'failed', attempt: 1 });
  expect(command?.error?.message).toContain('the change command did not succeed');
  expect(command?.error?.message).toContain('exited 3');
  expect(command?.error?.message).toContain('ALTER TABLE failed: lock timeout');
  expect(done.outcome).toContain('no automatic undo');
});

describe('verify: the change took effect, not only a healthy database', () => {
  const VERIFY = { ...CMD_STEP, command: 2, verify: 3, confirm: 4, report: 5 };

  test('the query reads what the change set: verified, and the report says so', async () => {
    writeFileSync(hooks.flag, 'up\n');
    const run = await startRun(runtime, 'tuned-db');
    await settled(run, 'at the gate', ['awaiting_approval']);
    await approveGate(runtime, run, 1);
    const done = await untilFinished(runtime, run.id);

    expect(done.state).toBe('succeeded');
    expect(done.steps.map((step) => step.spec.name)).toEqual([
      'preflight',
      'approve-change',
      'command',
      'verify',
      'confirm-change',
      'report',
    ]);
    expect(done.steps[VERIFY.confirm]?.output).toMatchObject({ verified: true, value: 'tuned' });
    expect(done.steps[VERIFY.report]?.output?.['report']).toContain(
      'Verified: the change took effect (`tuned`).',
    );
  });

  test('the query reads the old value: a person decides; checking again does not skip it', async () => {
    await sqlAt(testDatabaseUrl, `UPDATE ${schema}.ip_setting SET value = 'default'`);
    writeFileSync(hooks.flag, 'up\n');
    const run = await startRun(runtime, 'untuned-db');
    await settled(run, 'at the gate', ['awaiting_approval']);
    await approveGate(runtime, run, 1);
    const message = `the change did not take effect: \`SELECT value FROM ${schema}.ip_setting\` returned \`default\`, expected a value matching /^tuned$/. There is no automatic undo. Retry to check again, or abort.`;
    const stopped = await untilRun(
      runtime,
      run.id,
      'the verify step asks',
      (current) => current.state === 'awaiting_approval' && current.currentStep === VERIFY.confirm,
    );
    expect(stopped.steps[VERIFY.confirm]?.gate).toMatchObject({ reason: 'needs_human', message });

    // Approving checks again: the value is still the old one.
    await approveGate(runtime, run, VERIFY.confirm, 1);
    const again = await untilRun(
      runtime,
      run.id,
      'asked again',
      (current) => current.state === 'awaiting_approval' && current.steps[VERIFY.confirm]?.gate?.round === 2,
    );
    expect(again.steps[VERIFY.confirm]?.gate?.message).toBe(message);
  });

  test('a verify hook that exits 0 confirms the change', async () => {
    writeFileSync(hooks.flag, 'up\n');
    const run = await startRun(runtime, 'hook-verified-db');
    await settled(run, 'at the gate', ['awaiting_approval']);
    await approveGate(runtime, run, 1);
    const done = await untilFinished(runtime, run.id);
    expect(done.state).toBe('succeeded');
    expect(done.steps[VERIFY.confirm]?.output).toMatchObject({ verified: true });
    expect(done.steps[VERIFY.report]?.output?.['report']).toContain(
      'Verified: the verify hook confirmed the change.',
    );
  });
});
