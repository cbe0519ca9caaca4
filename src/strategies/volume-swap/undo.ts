// The rollback of a volume swap, newest first: stop the database on `to` and prove it down, detach
// every volume from `to` (after the proof and verifyDown there), re-attach them to `from` in order,
// start the database on `from` with the same data. None of it can hang: each undo has a timeout
// from its first run (the step's own: stopTimeout, detachTimeout, attachTimeout, healthTimeout) and
// then stops for a person, and an undo never acts after a newer one stopped (step-rules.ts).
import { needsHuman } from '../../engine/failures';
import type { StepContext, StepExecutor, StepResult } from '../types';
import { isEc2Power, type SwapVolume } from './config';
import { runHookOn } from './hooks';
import { describeReading, type SideProbes } from './probes';
import { progressJson, readProgress, type SwapProgress } from './progress';
import { clockMs, sidePower, startPowerFor, volumeOf, type VolumeSwapDeps } from './side-power';
import { refuseAfterFailedUndo } from './step-rules';
import { describePending, lookAttachSet, lookDetachSet, once } from './volume-set';
import type { VolumeSwapUndoExecutor } from './plan';

/**
 * An undo's frame: its target's volumes, their servers' power and probes, its own record and
 * clock (it began at its first run; `overdue` after `timeoutMs`). Refuses after a failed newer undo.
 */
function undoFrame(ctx: StepContext, deps: VolumeSwapDeps, probesOf: (volume: SwapVolume) => SideProbes) {
  refuseAfterFailedUndo(ctx);
  const volume = volumeOf(ctx);
  const probes = probesOf(volume);
  const recorded = readProgress(ctx, true);
  const startedAt = recorded.undoStartedAtMs ?? clockMs(ctx);
  return {
    volume,
    probes,
    power: sidePower(deps, volume, probes),
    progress: { ...recorded, undoStartedAtMs: startedAt } as SwapProgress,
    overdue: (timeoutMs: number) => clockMs(ctx) - startedAt > timeoutMs,
    waitedS: () => Math.round((clockMs(ctx) - startedAt) / 1000),
  };
}

function again(volume: SwapVolume, progress: SwapProgress): StepResult {
  return { type: 'wait', delayMs: volume.pollInterval, output: progressJson(progress) };
}

export function undoExecutors(
  deps: VolumeSwapDeps,
  probesOf: (volume: SwapVolume) => SideProbes,
): Record<VolumeSwapUndoExecutor, StepExecutor> {
  const { ec2, hooks, env } = deps;

  /** Undo of the start on `to`: stop the database there and prove it down. */
  const stopTo: StepExecutor = {
    async execute(ctx) {
      const frame = undoFrame(ctx, deps, probesOf);
      const { volume, power } = frame;
      let progress = frame.progress;
      const to = volume.to.instanceId;
      if (progress.stopRequested !== true || isEc2Power(volume.stop)) {
        await power.request('to', volume.stop, (summary) =>
          needsHuman(
            `rollback: the stop hook on ${to} did not succeed, so the volumes stay attached there. Stop the database on ${to} by hand, then finish the rollback by hand (detach, re-attach to ${volume.from.instanceId}, start).\n${summary}`,
          ),
        );
        progress = { ...progress, stopRequested: true };
      }
      const proof = await power.proveDown('to');
      if (proof.down)
        return {
          type: 'done',
          output: { report: `The database on ${to} is stopped (${describeReading(proof.last)}).` },
        };
      if (frame.overdue(volume.stopTimeout)) {
        throw needsHuman(
          `rollback: the database on ${to} is not proven down ${frame.waitedS()} s after its stop (${describeReading(proof.last)}), so the volumes stay attached there. ` +
            `Stop it by hand, then finish the rollback by hand (detach, re-attach to ${volume.from.instanceId}, start).`,
        );
      }
      return again(volume, { ...progress, notYet: describeReading(proof.last) });
    },
  };

  /** Undo of the attach: every volume off `to`, only once the database there is proven down. */
  const detachTo: StepExecutor = {
    async execute(ctx) {
      const frame = undoFrame(ctx, deps, probesOf);
      const { volume, power } = frame;
      let progress = frame.progress;
      const to = volume.to.instanceId;
      const beforeSend = once(async () => {
        if (progress.detachRequestedAtMs !== undefined) return;
        const proof = await power.proveDown('to');
        if (!proof.down) {
          throw needsHuman(
            `rollback: the database on ${to} is not proven down (${describeReading(proof.last)}), so no volume is detached from it. Stop it, then finish the rollback by hand.`,
          );
        }
        if (volume.verifyDown) {
          const outcome = await runHookOn(hooks, env, volume.verifyDown, volume, to);
          if (!outcome.ok)
            throw needsHuman(
              `rollback: verifyDown did not succeed on ${to}, so no volume is detached from it. Check it, then finish the rollback by hand.\n${outcome.summary}`,
            );
        }
        progress = { ...progress, detachRequestedAtMs: clockMs(ctx) };
      });
      const set = await lookDetachSet(ec2, volume, to, progress.volumes ?? {}, clockMs(ctx), { beforeSend });
      progress = { ...progress, volumes: set.volumes };
      if (set.done) return { type: 'done', output: { volumes: 'available' } };
      // Never forced during a rollback: a person decides that.
      if (frame.overdue(volume.detachTimeout)) {
        throw needsHuman(
          `rollback: ${describePending(set.pending, clockMs(ctx))} still not off ${to} after ${frame.waitedS()} s. The bot never force-detaches during a rollback: check ${to}, detach by hand (force only if the database there is down), then finish the rollback by hand.`,
        );
      }
      return again(volume, progress);
    },
  };

  /** Undo of the detach: every volume back on `from`, in order. */
  const reattachFrom: StepExecutor = {
    async execute(ctx) {
      const frame = undoFrame(ctx, deps, probesOf);
      const { volume } = frame;
      const from = volume.from.instanceId;
      const set = await lookAttachSet(ec2, volume, from, frame.progress.volumes ?? {}, clockMs(ctx));
      if (set.done) return { type: 'done', output: { attachedTo: from } };
      const [pending] = set.pending;
      if (pending?.elsewhere || frame.overdue(volume.attachTimeout)) {
        throw needsHuman(
          `rollback: ${describePending(set.pending, clockMs(ctx))} not back on ${from} after ${frame.waitedS()} s. Attach ${pending?.elsewhere ? 'it' : 'them'} by hand, then start the database on ${from}.`,
        );
      }
      return again(volume, { ...frame.progress, volumes: set.volumes });
    },
  };

  /** Undo of the stop: the database runs on `from` again, with the same data. */
  const startFrom: StepExecutor = {
    async execute(ctx) {
      const forward = readProgress(ctx, false);
      if (forward.stopRequested !== true)
        return { type: 'done', output: { report: 'The database on the old server was never stopped.' } };
      const frame = undoFrame(ctx, deps, probesOf);
      const { volume, probes, power } = frame;
      const start = startPowerFor(volume);
      const from = volume.from.instanceId;
      let progress = frame.progress;
      const sameAsBefore = (identity: string | null) =>
        !probes.readsIdentity('from') || forward.fromIdentity == null || identity === forward.fromIdentity;
      const startFailed = (summary: string) =>
        needsHuman(
          `rollback: the start on ${from} did not succeed; the volumes are back there. Start the database by hand.\n${summary}`,
        );
      if (progress.startRequested !== true) {
        const before = await probes.check('from');
        if (!(before.healthy && sameAsBefore(before.identity)))
          await power.request('from', start, startFailed);
        progress = { ...progress, startRequested: true };
      } else if (isEc2Power(start)) {
        await power.request('from', start, startFailed);
      }
      const reading = (await power.running('from', start)) ? await probes.check('from') : null;
      if (reading?.healthy) {
        if (!sameAsBefore(reading.identity)) {
          throw needsHuman(
            `rollback: the database on ${from} came back with other data (system identifier ${reading.identity}, ${forward.fromIdentity} before the stop). Check it by hand.`,
          );
        }
        return {
          type: 'done',
          output: {
            report: `:leftwards_arrow_with_hook: The database runs on ${from} again (${reading.detail}).`,
          },
        };
      }
      const seen = reading ? describeReading(reading) : 'the instance is not running yet';
      if (frame.overdue(volume.healthTimeout)) {
        throw needsHuman(
          `rollback: the database on ${from} has not become healthy ${frame.waitedS()} s after its start (${seen}); the volumes are back there. Start it by hand.`,
        );
      }
      return again(volume, { ...progress, notYet: seen });
    },
  };

  return {
    'vs-stop-to': stopTo,
    'vs-detach-to': detachTo,
    'vs-reattach-from': reattachFrom,
    'vs-start-from': startFrom,
  };
}
