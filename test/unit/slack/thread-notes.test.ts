import { createRun } from '../../../src/engine/transition';
import { threadNotes } from '../../../src/slack/notifier/thread-text';

function runWaitingWith(output: Record<string, string>) {
  const run = createRun({
    id: '00000000-0000-4000-8000-000000000001',
    plan: {
      strategy: 'volume-swap',
      target: 'reports-db',
      steps: [{ name: 'snapshot', kind: 'action', title: 'Safety snapshot', executor: 'vs-snapshot' }],
    },
    requestedBy: 'U0REQ',
    channel: 'C0TEST0001',
    policy: { approvalTimeoutMs: 60_000, requiredApprovals: 1, allowSelfApproval: false },
    at: '2026-11-26T02:00:00.000Z',
  });
  run.currentStep = 0;
  run.steps[0] = { ...run.steps[0]!, state: 'queued', attempt: 2, output };
  return run;
}

test('a waiting step with a progress note puts it in the thread, keyed so each note is said once', () => {
  const run = runWaitingWith({ progressNote: ':camera: Snapshot snap-1 of vol-1: 50% or more' });
  expect(threadNotes(run, [], 'step_waiting')).toEqual([
    {
      key: 'progress:0::camera: Snapshot snap-1 of vol-1: 50% or more',
      text: ':camera: Snapshot snap-1 of vol-1: 50% or more',
    },
  ]);
});

test('no note without a progress note, and none for other causes', () => {
  expect(threadNotes(runWaitingWith({}), [], 'step_waiting')).toEqual([]);
  expect(threadNotes(runWaitingWith({ progressNote: 'x' }), [], 'lag_sample')).toEqual([]);
});
