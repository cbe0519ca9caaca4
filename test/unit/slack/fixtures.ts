// Builders for the renderer tests: runs made by the engine's createRun, then put into a scenario.
import { createRun } from '../../../src/engine/transition';
import type { GatePolicy, Run, StepRecord, StepSpec } from '../../../src/engine/types';
import type { Block, ButtonElement } from '../../../src/slack/render/blocks';

export const T0 = Date.parse('2025-03-02T02:00:00.000Z');
export const at = (ms: number): string => new Date(T0 + ms).toISOString();
export const dateAt = (ms: number): Date => new Date(T0 + ms);

export const RUN_ID = '7f3a9c21-4b5d-4e6f-8a9b-0c1d2e3f4a5b';
export const REQUESTER = 'U0REQUEST';

export const POLICY: GatePolicy = {
  approvalTimeoutMs: 15 * 60_000,
  requiredApprovals: 1,
  allowSelfApproval: false,
};

export const STEPS: StepSpec[] = [
  { name: 'check-standby', kind: 'check', title: 'Check standby is streaming', executor: 'check' },
  {
    name: 'fence-primary',
    kind: 'action',
    title: 'Fence old primary',
    executor: 'fence',
    compensation: { executor: 'unfence', title: 'Unfence old primary' },
  },
  { name: 'wait-lag', kind: 'wait', title: 'Wait for replay to catch up', executor: 'wait' },
  { name: 'approve-promotion', kind: 'gate', title: 'Approve promotion', destructive: true },
  { name: 'promote', kind: 'action', title: 'Promote standby', executor: 'promote' },
];

export function makeRun(steps: StepSpec[] = STEPS, policy: Partial<GatePolicy> = {}): Run {
  return createRun({
    id: RUN_ID,
    plan: { strategy: 'replica-promotion', target: 'orders-db', steps },
    requestedBy: REQUESTER,
    channel: 'C0OPS',
    policy: { ...POLICY, ...policy },
    at: at(0),
  });
}

/** Scheduled for one hour after creation; nothing has run. */
export function scheduledRun(): Run {
  return createRun({
    id: RUN_ID,
    plan: { strategy: 'replica-promotion', target: 'orders-db', steps: STEPS },
    requestedBy: REQUESTER,
    channel: 'C0OPS',
    policy: POLICY,
    at: at(0),
    scheduledFor: at(3_600_000),
  });
}

export function stepOf(run: Run, index: number): StepRecord {
  const step = run.steps[index];
  if (!step) throw new Error(`no step ${index}`);
  return step;
}

function done(step: StepRecord, startMs: number, endMs: number): void {
  step.state = 'succeeded';
  step.attempt = 1;
  step.startedAt = at(startMs);
  step.finishedAt = at(endMs);
}

/** Steps 0-2 done (the fence took one retry), the destructive gate open since 2 min. */
export function awaitingGateRun(): Run {
  const run = makeRun();
  done(stepOf(run, 0), 0, 850);
  done(stepOf(run, 1), 1_000, 5_200);
  stepOf(run, 1).retries = 1;
  done(stepOf(run, 2), 6_000, 120_000);
  const gate = stepOf(run, 3);
  gate.state = 'awaiting_approval';
  gate.gate = {
    round: 1,
    reason: 'planned',
    openedAt: at(120_000),
    expiresAt: at(120_000 + 15 * 60_000),
    requiredApprovals: 1,
    approvedBy: [],
    expired: false,
  };
  run.currentStep = 3;
  run.state = 'awaiting_approval';
  run.updatedAt = at(120_000);
  return run;
}

/** Step 1 (fence) running for 3 s. */
export function runningRun(): Run {
  const run = makeRun();
  done(stepOf(run, 0), 0, 850);
  const fence = stepOf(run, 1);
  fence.state = 'running';
  fence.attempt = 1;
  fence.startedAt = at(1_000);
  run.currentStep = 1;
  return run;
}

/** Aborted at the gate: the fence was undone, the gate and later steps skipped. */
export function abortedRun(): Run {
  const run = awaitingGateRun();
  stepOf(run, 1).state = 'compensated';
  const gate = stepOf(run, 3);
  gate.state = 'skipped';
  gate.finishedAt = at(180_000);
  stepOf(run, 4).state = 'skipped';
  run.state = 'aborted';
  run.currentStep = 1;
  run.outcome = 'aborted by U0ALICE: lag too high';
  run.finishedAt = at(200_000);
  return run;
}

export function compensatingRun(): Run {
  const run = abortedRun();
  stepOf(run, 1).state = 'compensating';
  run.state = 'compensating';
  run.unwindTo = 'aborted';
  run.finishedAt = null;
  return run;
}

export function succeededRun(): Run {
  const run = awaitingGateRun();
  const gate = stepOf(run, 3);
  gate.state = 'succeeded';
  gate.finishedAt = at(180_000);
  if (gate.gate) gate.gate.approvedBy = ['U0ALICE'];
  done(stepOf(run, 4), 181_000, 185_000);
  run.state = 'succeeded';
  run.currentStep = 4;
  run.finishedAt = at(185_000);
  return run;
}

export function failedRun(): Run {
  const run = runningRun();
  const fence = stepOf(run, 1);
  fence.state = 'failed';
  fence.finishedAt = at(4_000);
  fence.error = { class: 'fatal', message: 'primary unreachable' };
  for (const i of [2, 3, 4]) stepOf(run, i).state = 'skipped';
  run.state = 'failed';
  run.outcome = 'Fence old primary failed: primary unreachable';
  run.finishedAt = at(4_000);
  return run;
}

// ---- block inspection ----

/** Every piece of text in the blocks, one per line (for `toContain`). */
export function allText(blocks: Block[]): string {
  const out: string[] = [];
  for (const b of blocks) {
    switch (b.type) {
      case 'section':
        if (b.text) out.push(b.text.text);
        for (const f of b.fields ?? []) out.push(f.text);
        break;
      case 'context':
        for (const e of b.elements) out.push(e.text);
        break;
      case 'header':
        out.push(b.text.text);
        break;
      case 'actions':
        for (const e of b.elements) out.push(e.text.text);
        break;
      case 'input':
        out.push(b.label.text);
        break;
      case 'divider':
        break;
    }
  }
  return out.join('\n');
}

export function buttons(blocks: Block[]): ButtonElement[] {
  return blocks.flatMap((b) => (b.type === 'actions' ? b.elements : []));
}

export function buttonById(blocks: Block[], actionId: string): ButtonElement | undefined {
  return buttons(blocks).find((b) => b.action_id === actionId);
}
