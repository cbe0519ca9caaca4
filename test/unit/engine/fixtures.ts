// Shared builders for the transition tests: plans, runs, a small event driver and effect builders.
import { createRun, transition } from '../../../src/engine/transition';
import type {
  RunEventType,
  Effect,
  FailureInfo,
  GatePolicy,
  Plan,
  Run,
  RunEvent,
  StepRecord,
  StepSpec,
  StepState,
} from '../../../src/engine/types';

export const T0_MS = Date.parse('2025-03-02T02:00:00.000Z');
/** The ISO time `ms` after T0. */
export const at = (ms: number): string => new Date(T0_MS + ms).toISOString();
export const ms = (iso: string): number => Date.parse(iso) - T0_MS;

export const RUN_ID = 'run-7f3a';
export const REQUESTER = 'U_REQUESTER';
export const ALICE = 'U_ALICE';
export const BOB = 'U_BOB';
export const CAROL = 'U_CAROL';

export const TIMEOUT_MS = 15 * 60_000;
export const DEFAULT_POLICY: GatePolicy = {
  approvalTimeoutMs: TIMEOUT_MS,
  requiredApprovals: 1,
  allowSelfApproval: false,
};

export const ACTIVE_STEP_STATES: readonly StepState[] = [
  'queued',
  'running',
  'compensating',
  'awaiting_approval',
];

type StepExtra = Partial<Omit<StepSpec, 'name' | 'kind'>>;

function spec(kind: StepSpec['kind'], name: string, extra: StepExtra): StepSpec {
  const base: StepSpec = { name, kind, title: `${kind} ${name}` };
  if (kind !== 'gate') base.executor = name;
  return { ...base, ...extra };
}

export const check = (name: string, extra: StepExtra = {}): StepSpec => spec('check', name, extra);
export const wait = (name: string, extra: StepExtra = {}): StepSpec => spec('wait', name, extra);
export const gate = (name: string, extra: StepExtra = {}): StepSpec => spec('gate', name, extra);
export const action = (name: string, extra: StepExtra = {}): StepSpec => spec('action', name, extra);
/** The `compensation` part of a step spec. */
export const undo = (name: string): StepExtra => ({
  compensation: { executor: `undo-${name}`, title: `Undo ${name}` },
});

export function makeRun(steps: StepSpec[], policy: Partial<GatePolicy> = {}, scheduledFor?: string): Run {
  const plan: Plan = { strategy: 'pgLogical', target: 'orders-db', steps };
  return createRun({
    id: RUN_ID,
    plan,
    requestedBy: REQUESTER,
    channel: 'C_OPS',
    policy: { ...DEFAULT_POLICY, ...policy },
    at: at(0),
    ...(scheduledFor !== undefined ? { scheduledFor } : {}),
  });
}

export function stepOf(run: Run, index: number): StepRecord {
  const record = run.steps[index];
  if (!record) throw new Error(`run has no step ${index}`);
  return record;
}

export const retryable = (message = 'connection reset', extra: Partial<FailureInfo> = {}): FailureInfo => ({
  class: 'retryable',
  message,
  ...extra,
});
export const fatal = (message = 'replica is not in recovery'): FailureInfo => ({ class: 'fatal', message });
export const needsHuman = (message = 'lag is 40s, above the 5s limit'): FailureInfo => ({
  class: 'needs_human',
  message,
});

export const execJob = (step: number, attempt: number, delayMs = 0): Effect => ({
  type: 'enqueue',
  job: { runId: RUN_ID, step, attempt, mode: 'execute' },
  delayMs,
});
export const undoJob = (step: number, attempt: number, delayMs = 0): Effect => ({
  type: 'enqueue',
  job: { runId: RUN_ID, step, attempt, mode: 'compensate' },
  delayMs,
});

/** Asserts the event is accepted and the input run untouched; returns the new run and effects. */
export function accept(run: Run, event: RunEvent): { run: Run; effects: Effect[] } {
  const before = structuredClone(run);
  const result = transition(run, event);
  expect(run).toStrictEqual(before);
  if (!result.ok)
    throw new Error(`expected ${event.type} to be accepted, but it was refused: ${result.error}`);
  return { run: result.run, effects: result.effects };
}

/** Asserts the event is refused and that neither the returned run nor the input changed. */
export function reject(run: Run, event: RunEvent, pattern?: RegExp): string {
  const before = structuredClone(run);
  const result = transition(run, event);
  if (result.ok) throw new Error(`expected ${event.type} to be refused, but it was accepted`);
  expect(result.run).toStrictEqual(before);
  expect(run).toStrictEqual(before);
  if (pattern) expect(result.error).toMatch(pattern);
  return result.error;
}

type WithoutAt<E> = E extends unknown ? Omit<E, 'at'> : never;
export type EventInput = WithoutAt<RunEvent>;

/** Drives a run through events with a clock that only moves forward when told to. */
export class Sim {
  now = 0;
  constructor(public run: Run) {}

  static of(steps: StepSpec[], policy: Partial<GatePolicy> = {}): Sim {
    return new Sim(makeRun(steps, policy));
  }

  get at(): string {
    return at(this.now);
  }

  /** Moves the clock forward by `delta` ms. */
  tick(delta: number): this {
    this.now += delta;
    return this;
  }

  /** Moves the clock to `ms` after T0 (never backwards). */
  tickTo(target: number): this {
    if (target < this.now) throw new Error('time only moves forward');
    this.now = target;
    return this;
  }

  step(index: number): StepRecord {
    return stepOf(this.run, index);
  }

  send(event: EventInput): Effect[] {
    const result = accept(this.run, { ...event, at: this.at });
    this.run = result.run;
    return result.effects;
  }

  refuse(event: EventInput, pattern?: RegExp): string {
    return reject(this.run, { ...event, at: this.at }, pattern);
  }

  /** step_started then step_succeeded with the step's current attempt; returns the success effects. */
  complete(index: number): Effect[] {
    const attempt = this.step(index).attempt;
    this.send({ type: 'step_started', step: index, attempt });
    return this.send({ type: 'step_succeeded', step: index, attempt });
  }

  /** Approves the step's open gate as `user` with its current round, typing the target's name. */
  approve(index: number, user: string): Effect[] {
    const round = this.step(index).gate?.round ?? 0;
    return this.send({ type: 'approve', step: index, round, user, confirmation: this.run.target });
  }
}

/** Every event type the engine knows, for tables and properties that must cover them all. */
export const EVENT_TYPES: RunEventType[] = [
  'start',
  'step_started',
  'step_succeeded',
  'step_waiting',
  'step_progress',
  'step_failed',
  'window_closed',
  'schedule_missed',
  'approve',
  'gate_expired',
  'gate_reopen',
  'abort',
  'compensation_succeeded',
  'compensation_waiting',
  'compensation_failed',
];
