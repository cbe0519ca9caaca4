// Every renderer stays inside Slack's limits, however big the run and however long its texts.
import type { Run, StepSpec } from '../../../src/engine/types';
import type { LagSample } from '../../../src/ports/run-store';
import {
  blockViolations,
  escapeMrkdwn,
  fitLines,
  LIMITS,
  messageViolations,
  modalViolations,
  packLines,
  parseGateRef,
  parseStepRef,
  truncate,
  truncateMrkdwn,
  type Block,
} from '../../../src/slack/render/blocks';
import { renderGateOutcome, renderGatePrompt } from '../../../src/slack/render/gate';
import { renderConfirmModal } from '../../../src/slack/render/modal';
import { renderProgress } from '../../../src/slack/render/progress';
import { renderPlan, renderRunList, renderStatus, renderTargets } from '../../../src/slack/render/summary';
import { allText, at, buttonById, dateAt, makeRun, RUN_ID, stepOf } from './fixtures';

const LONG = 'Very long title with <angle> & ampersands '.repeat(200); // ~8400 characters
const HUGE_NAME = 'orders-db-'.repeat(60);

function bigRun(count: number, opts: { target?: string } = {}): Run {
  const steps: StepSpec[] = Array.from({ length: count }, (_, i) => ({
    name: `step-${i}`,
    kind: i % 10 === 9 ? 'gate' : 'action',
    title: `${i + 1}: ${LONG}`,
    ...(i % 10 === 9
      ? { destructive: true }
      : { executor: 'x', compensation: { executor: 'u', title: LONG } }),
  }));
  const run = makeRun(steps);
  run.target = opts.target ?? run.target;
  run.strategy = LONG;
  return run;
}

/** `count` steps, the first `done` of them finished with retries, the next one a gate that is open. */
function bigGateRun(count: number, done: number): Run {
  const run = bigRun(count);
  for (let i = 0; i < done; i += 1) {
    const step = stepOf(run, i);
    step.state = 'succeeded';
    step.startedAt = at(i * 1000);
    step.finishedAt = at(i * 1000 + 500);
    step.retries = i % 4;
  }
  const gate = stepOf(run, done);
  gate.spec = { name: 'gate', kind: 'gate', title: LONG, destructive: false };
  gate.state = 'awaiting_approval';
  gate.gate = {
    round: 1,
    reason: 'planned',
    openedAt: at(done * 1000),
    expiresAt: at(done * 1000 + 900_000),
    requiredApprovals: 3,
    approvedBy: ['U0A', 'U0B'],
    expired: false,
  };
  run.currentStep = done;
  run.state = 'awaiting_approval';
  return run;
}

function lagSamples(n: number): LagSample[] {
  return Array.from({ length: n }, (_, i) => ({
    runId: RUN_ID,
    at: at(i * 5000),
    bytes: (n - i) * 1e6,
    seconds: (n - i) / 10,
  }));
}

function maxTextLength(blocks: Block[]): number {
  return Math.max(
    ...allText(blocks)
      .split('\n')
      .map((l) => l.length),
  );
}

describe('a run with 60 steps and very long titles', () => {
  const run = bigGateRun(60, 59);
  const now = dateAt(100_000);

  it('progress stays within the limits, titles cut with "…"', () => {
    const message = renderProgress({
      run,
      now,
      lag: { samples: lagSamples(200), maxBytes: 1e6 },
      detailsNote: LONG,
    });
    expect(messageViolations(message)).toEqual([]);
    expect(message.blocks.length).toBeLessThanOrEqual(50);
    expect(allText(message.blocks)).toContain('…');
    expect(maxTextLength(message.blocks)).toBeLessThanOrEqual(LIMITS.sectionText);
    expect(JSON.parse(buttonById(message.blocks, 'cutover_abort')?.value ?? '')).toEqual({
      runId: RUN_ID,
      step: 59,
    });
  });

  it('every step still gets a line when they fit', () => {
    const text = allText(renderProgress({ run, now }).blocks);
    for (let i = 1; i <= 59; i += 1) expect(text).toContain(`${i}: Very long title`);
    expect(text).toContain(':raised_hand: *Very long title'); // step 60, the open gate
  });

  it('status, gate prompt, outcome, modal, list, targets and plan stay within the limits', () => {
    const step = stepOf(run, 59);
    const conditions = Array.from({ length: 40 }, (_, i) => ({ label: `${i} ${LONG}`, value: LONG }));
    const approvers = Array.from({ length: 300 }, (_, i) => (i % 2 ? `U0${i}AAAAAAA` : `S0${i}GROUPGROUP`));
    const prompt = { run, step, now, approvers, conditions, whatWillHappen: LONG, irreversible: LONG };
    expect(messageViolations(renderStatus(run, now))).toEqual([]);
    expect(messageViolations(renderGatePrompt(prompt))).toEqual([]);
    for (const outcome of ['approved', 'expired', 'aborted', 'refused'] as const) {
      expect(
        messageViolations(renderGateOutcome({ ...prompt, outcome, by: 'U0A', at: now, reason: LONG })),
      ).toEqual([]);
    }
    expect(
      modalViolations(
        renderConfirmModal({
          runId: RUN_ID,
          step: 59,
          round: 1,
          target: HUGE_NAME,
          whatWillHappen: LONG,
          conditions,
        }),
      ),
    ).toEqual([]);
    expect(
      messageViolations(
        renderRunList(
          Array.from({ length: 500 }, () => run),
          now,
        ),
      ),
    ).toEqual([]);
    expect(
      messageViolations(
        renderTargets(
          Array.from({ length: 500 }, (_, i) => ({
            name: `${i}-${HUGE_NAME}`,
            strategy: LONG,
            channel: 'C0123',
            approvers,
            nextWindow: LONG,
          })),
        ),
      ),
    ).toEqual([]);
    expect(
      messageViolations(
        renderPlan({
          target: HUGE_NAME,
          strategy: LONG,
          steps: run.steps.map((s) => ({
            title: s.spec.title,
            kind: s.spec.kind,
            compensation: LONG,
            destructive: true,
          })),
          preflight: Array.from({ length: 200 }, (_, i) => ({
            name: `${i} ${LONG}`,
            ok: i % 2 === 0,
            detail: LONG,
          })),
          warnings: Array.from({ length: 30 }, () => LONG),
        }),
      ),
    ).toEqual([]);
  });

  it('a needs-human gate with a huge message stays within the limits', () => {
    const nh = bigGateRun(60, 30);
    const step = stepOf(nh, 30);
    if (step.gate)
      Object.assign(step.gate, { reason: 'needs_human', message: `${LONG}\n${LONG}`, expiresAt: null });
    const message = renderGatePrompt({
      run: nh,
      step,
      now,
      approvers: [],
      conditions: [],
      whatWillHappen: LONG,
    });
    expect(messageViolations(message)).toEqual([]);
    expect(message.text.length).toBeLessThanOrEqual(LIMITS.messageText);
  });
});

describe('a checklist too long for the message', () => {
  it('collapses around the current step into at most 50 blocks', () => {
    const run = bigGateRun(1000, 600);
    const message = renderProgress({ run, now: dateAt(0) });
    expect(messageViolations(message)).toEqual([]);
    const text = allText(message.blocks);
    expect(text).toMatch(/_… \d+ earlier steps: \d+ :white_check_mark:_/);
    expect(text).toMatch(/_… \d+ more steps: \d+ :white_circle:_/);
    expect(text).toContain('600: ');
    expect(text).toContain('602: ');
    expect(text).toContain(':raised_hand: *Very long title');
  });
});

describe('text helpers', () => {
  it('truncate cuts to the limit with "…" and keeps surrogate pairs whole', () => {
    expect(truncate('abcdef', 6)).toBe('abcdef');
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('ab😀cd', 4)).toBe('ab…');
    expect(truncate('abc', 0)).toBe('');
  });

  it('truncateMrkdwn never ends inside an entity or a Slack token', () => {
    expect(truncateMrkdwn(escapeMrkdwn('a & b'), 5)).toBe('a …');
    expect(truncateMrkdwn('hi <@U0ALICE> there', 10)).toBe('hi …');
    expect(truncateMrkdwn('hi <@U0ALICE> there', 16)).toBe('hi <@U0ALICE> t…');
  });

  it('packLines packs greedily into chunks of at most 3000 characters', () => {
    const chunks = packLines(Array.from({ length: 100 }, () => 'x'.repeat(100)));
    expect(chunks).toHaveLength(4);
    expect(chunks.every((c) => c.length <= 3000)).toBe(true);
    expect(packLines(['y'.repeat(5000)])[0]).toHaveLength(3000);
  });

  it('fitLines keeps the focus and describes what it left out', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `${i} ${'z'.repeat(200)}`);
    const chunks = fitLines(lines, 1, (from, to) => `[${from}-${to})`, 50);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toMatch(/^\[0-\d+\)\n/);
    expect(chunks[0]).toMatch(/\n\[\d+-100\)$/);
    expect(chunks[0]).toContain('\n50 z');
  });

  it('parses only well-formed button values', () => {
    expect(parseStepRef('{"runId":"r","step":2}')).toEqual({ runId: 'r', step: 2 });
    expect(parseGateRef('{"runId":"r","step":2,"round":1}')).toEqual({ runId: 'r', step: 2, round: 1 });
    expect(parseGateRef('{"runId":"r","step":2}')).toBeNull();
    expect(parseStepRef('{"runId":"","step":2}')).toBeNull();
    expect(parseStepRef('{"runId":"r","step":1.5}')).toBeNull();
    expect(parseStepRef('not json')).toBeNull();
  });

  it('blockViolations reports what Slack would refuse', () => {
    const tooMany: Block[] = Array.from({ length: 51 }, () => ({ type: 'divider' }));
    expect(blockViolations(tooMany)).toEqual(['51 blocks > 50']);
    expect(
      blockViolations([
        { type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } },
        { type: 'header', text: { type: 'plain_text', text: '' } },
        {
          type: 'actions',
          elements: [
            {
              type: 'button',
              action_id: 'a',
              text: { type: 'plain_text', text: 'b'.repeat(76) },
              value: 'v'.repeat(2001),
            },
          ],
        },
      ]),
    ).toHaveLength(4);
  });
});
