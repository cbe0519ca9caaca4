// The bench's own strategies: a chain of no-op steps (step dispatch, and a target for the ack figure)
// and a long-watching strategy that samples a synthetic lag (the scale figure).
import { z } from 'zod';
import type { Plan } from '../../src/engine/types';
import type { LagReading, StepExecutor, Strategy } from '../../src/strategies/types';

const anySettings = z.object({}).passthrough();

/**
 * `steps` no-op action steps (or the target's `steps` setting); `onStart(runId, step)` is called
 * first thing in each executor.
 */
export function chainStrategy(steps: number, onStart: (runId: string, step: number) => void): Strategy {
  const noop: StepExecutor = {
    execute(ctx) {
      onStart(ctx.run.id, ctx.step.index);
      return Promise.resolve({ type: 'done' });
    },
  };
  return {
    name: 'chain',
    planVersion: 1,
    oldestPlanVersion: 1,
    summary: `${steps} no-op steps`,
    configSchema: anySettings,
    plan(target): Plan {
      return {
        strategy: 'chain',
        target: target.name,
        steps: Array.from({ length: Number(target.settings['steps'] ?? steps) }, (_, i) => ({
          name: `noop-${i}`,
          kind: 'action' as const,
          title: `No-op ${i}`,
          executor: 'noop',
        })),
      };
    },
    executors: { noop },
    preflight: () => Promise.resolve([]),
  };
}

/**
 * One wait step that polls every `pollMs` until `released(target)` says so, while the lag sampler
 * reads a synthetic lag (a random walk per target, so every progress redraw has something new).
 */
export function watchStrategy(pollMs: number, released: (target: string) => boolean): Strategy {
  const lag = new Map<string, number>();
  return {
    name: 'watch',
    planVersion: 1,
    oldestPlanVersion: 1,
    summary: 'waits and samples a synthetic lag',
    configSchema: anySettings,
    plan(target): Plan {
      return {
        strategy: 'watch',
        target: target.name,
        steps: [{ name: 'watch', kind: 'wait', title: 'Watch lag', executor: 'watch' }],
      };
    },
    executors: {
      watch: {
        execute(ctx) {
          if (released(ctx.target.name)) return Promise.resolve({ type: 'done' });
          return Promise.resolve({ type: 'wait', delayMs: pollMs });
        },
      },
    },
    preflight: () => Promise.resolve([]),
    sampleLag(target): Promise<LagReading> {
      const previous = lag.get(target.name) ?? 4 * 2 ** 20;
      const next = Math.max(0, Math.round(previous + (Math.random() - 0.5) * 2 ** 20));
      lag.set(target.name, next);
      return Promise.resolve({ bytes: next, seconds: next / 2 ** 22 });
    },
    lagLimit: () => ({ maxBytes: 16 * 2 ** 20, maxSeconds: 5 }),
  };
}
