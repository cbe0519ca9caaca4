// Executors of a volume swap, forward. The order of proofs: read which data `from` serves, record it,
// stop; prove it down (refused connections in a row); snapshot every volume (not waited for: an
// EBS snapshot's point in time is its request); prove it down again and run verifyDown right
// before the first DetachVolume; attach in order; start on `to` and require the same data.
// EC2 Attach/Detach are not idempotent, so every look describes first; the undos are in undo.ts.
import { fatal } from '../../engine/failures';
import type { Ec2Port } from '../../ports/ec2';
import { AwsRefusal } from '../../ports/aws-refusal';
import { systemClock } from '../../ports/clock';
import type { HealthResult } from '../../ports/health';
import type { StepContext, StepExecutor, StepResult } from '../types';
import { isEc2Power, volumeList, type SwapVolume } from './config';
import { refuseFailedChecks, stuckDetachMessage } from './ec2-steps';
import { awsFailure } from '../shared/aws-failure';
import { runHookOn } from './hooks';
import { volumeSwapPreflight } from './preflight';
import { describeReading, SideProbes, type DownProof } from './probes';
import { progressJson, progressOfStep, readProgress, type SwapProgress } from './progress';
import { approved, approvedList, decide, pollWithin } from './step-rules';
import { undoExecutors } from './undo';
import { clockMs, sidePower, volumeOf, type VolumeSwapDeps } from './side-power';
import { lookAttachSet, lookDetachSet, once, type SetLook } from './volume-set';
import type { VolumeSwapExecutor } from './plan';

export type { VolumeSwapDeps };

/** Time since this step first started, by the Clock. */
function elapsedMs(ctx: StepContext): number {
  return ctx.step.startedAt ? clockMs(ctx) - Date.parse(ctx.step.startedAt) : 0;
}

function waiting(volume: SwapVolume, progress: SwapProgress): StepResult {
  return { type: 'wait', delayMs: volume.pollInterval, output: progressJson(progress) };
}

/** A reading a person may vouch against: nothing answered (a person knows why, say a firewall). */
function vouchable(reading: HealthResult): boolean {
  return reading.reach !== 'answers' && reading.reach !== 'rejected';
}

export function volumeSwapExecutors(
  deps: VolumeSwapDeps,
): Record<Exclude<VolumeSwapExecutor, 'route'>, StepExecutor> {
  const { ec2, hooks, env } = deps;
  const clock = deps.clock ?? systemClock;
  const probesOf = (volume: SwapVolume) => new SideProbes(deps.health, env, volume);

  const preflight: StepExecutor = {
    async execute(ctx) {
      const volume = volumeOf(ctx);
      // Throttling or a passing outage is not a refusal: surface it as a retry first.
      for (const { volumeId } of volume.volumes)
        await ec2.describeVolume(volume.region, volumeId).catch(awsFailure);
      await ec2.describeInstance(volume.region, volume.to.instanceId).catch(awsFailure);
      const result = await volumeSwapPreflight(ec2, probesOf(volume), volume);
      const checks = refuseFailedChecks(result.checks);
      return {
        type: 'done',
        output: {
          checks,
          warnings: result.checks
            .filter((check) => check.warning)
            .map((check) => `${check.name}: ${check.detail}`),
          fromIdentity: result.fromIdentity,
        },
      };
    },
  };

  /** CreateSnapshot of every volume not in `known` (in parallel); never waits for completion. */
  const snapshotAll = async (
    ctx: StepContext,
    volume: SwapVolume,
    known: Record<string, string>,
    when: string,
  ): Promise<{ ids: Record<string, string>; refused: AwsRefusal | Error | null }> => {
    const ids = { ...known };
    const missing = volume.volumes.filter(({ volumeId }) => ids[volumeId] === undefined);
    const results = await Promise.allSettled(
      missing.map(async ({ volumeId }) => {
        const description = `cutover-bot ${ctx.target.name} run ${ctx.run.id}: ${volumeId} ${when}`;
        ids[volumeId] = await ec2.createSnapshot(volume.region, volumeId, description);
      }),
    );
    const failure = results.find((result) => result.status === 'rejected');
    return { ids, refused: failure ? (failure.reason as Error) : null };
  };

  const snapshotBeforeGate: StepExecutor = {
    async execute(ctx) {
      const volume = volumeOf(ctx);
      const known = readProgress(ctx, false).snapshotIds ?? {};
      const { ids, refused } = await snapshotAll(ctx, volume, known, 'before the gate (database running)');
      if (refused) {
        await ctx.saveProgress({ snapshotIds: ids });
        awsFailure(refused);
      }
      const list = Object.entries(ids).map(([volumeId, id]) => `${id} (${volumeId})`);
      return {
        type: 'done',
        output: {
          snapshotIds: ids,
          report: `:camera: Snapshot ${list.join(', ')} requested of the running database (crash-consistent; not waited for).`,
        },
      };
    },
  };

  const stopFrom: StepExecutor = {
    async execute(ctx) {
      const volume = volumeOf(ctx);
      const probes = probesOf(volume);
      const power = sidePower(deps, volume, probes);
      let progress = readProgress(ctx, false);
      const stopFailed = (summary: string) =>
        decide(
          `the stop hook on ${volume.from.instanceId} did not succeed; the volumes were not touched. ` +
            `Check the database there, then retry (the hook runs again) or abort.\n${summary}`,
          'stop_failed',
        );
      if (progress.stopRequested !== true) {
        // Which data `from` serves, read while it still answers: the start on `to` must show the same.
        const before = await probes.check('from');
        const atPreflight = progressOfStep(ctx, 'preflight')?.fromIdentity ?? null;
        progress = {
          ...progress,
          fromIdentity: before.identity ?? atPreflight,
          identitySeenAt: before.identity !== null ? 'stop' : atPreflight !== null ? 'preflight' : 'nowhere',
          stopRequested: true,
          stoppedAtMs: clock.now().getTime(),
        };
        // Durable before the stop: after it, the identity can no longer be read.
        await ctx.saveProgress(progressJson(progress));
        // Writes are unavailable from the stop on, not while the record was written.
        progress = { ...progress, stoppedAtMs: clock.now().getTime() };
        // Always, even when the check already fails: a hung database answers no probe but still
        // has the volumes' files open, and a stop hook is safe to run on a stopped one.
        await power.request('from', volume.stop, stopFailed);
      } else if (isEc2Power(volume.stop) || ctx.resumed || approved(ctx, 'stop_failed')) {
        // StopInstances goes out only to a running instance; a hook runs again after a crash or a retry.
        await power.request('from', volume.stop, stopFailed);
      }
      let proof = await pollWithin(
        () => power.proveDown('from'),
        (seen) => seen.down,
        volume.pollInterval,
      );
      if (!proof.down && approved(ctx, 'not_down') && vouchable(proof.last)) {
        proof = { ...proof, down: true };
        progress = {
          ...progress,
          vouchedDown: true,
          downBecause: `a person vouched: ${describeReading(proof.last)}`,
        };
      }
      if (!proof.down) {
        if (elapsedMs(ctx) > volume.stopTimeout) throw notDown(volume, proof, 'after the stop');
        return waiting(volume, { ...progress, notYet: `${proof.instance}, ${describeReading(proof.last)}` });
      }
      progress = {
        ...progress,
        downAtMs: clock.now().getTime(),
        downBecause: progress.downBecause ?? `${volume.downProbes} × ${describeReading(proof.last)}`,
      };
      if (volume.snapshot && progress.snapshotIds === undefined && !approved(ctx, 'snapshot_failed')) {
        const { ids, refused } = await snapshotAll(ctx, volume, {}, 'after the clean stop');
        if (refused) {
          await ctx.saveProgress(progressJson({ ...progress, snapshotIds: ids }));
          if (refused instanceof AwsRefusal && refused.retryable) awsFailure(refused);
          throw decide(
            `the snapshot after the clean stop was refused (${refused.message}). The database on ${volume.from.instanceId} is stopped and nothing was detached. ` +
              'Retry anyway to move the volumes without it, or abort (abort starts the database again).',
            'snapshot_failed',
          );
        }
        progress = { ...progress, snapshotIds: ids };
      }
      const { notYet: _notYet, ...done } = progress;
      return { type: 'done', output: progressJson(done) };
    },
  };

  const detachFrom: StepExecutor = {
    async execute(ctx) {
      const volume = volumeOf(ctx);
      const probes = probesOf(volume);
      const power = sidePower(deps, volume, probes);
      let progress = readProgress(ctx, false);
      // Right before the first DetachVolume: down still (a supervisor may have restarted it), and
      // the operator's own check.
      const beforeSend = once(async () => {
        if (progress.detachRequestedAtMs !== undefined) return;
        const proof = await power.proveDown('from');
        // A person who vouched at the stop vouched for this reading too, as long as nothing answers.
        const vouched =
          approved(ctx, 'not_down') || progressOfStep(ctx, 'stop-database')?.vouchedDown === true;
        if (!proof.down && !(vouched && vouchable(proof.last)))
          throw notDown(volume, proof, 'right before the detach');
        let verifiedDown = `${volume.downProbes} × ${describeReading(proof.last)}`;
        if (volume.verifyDown) {
          const outcome = await runHookOn(hooks, env, volume.verifyDown, volume, volume.from.instanceId);
          if (!outcome.ok) {
            throw decide(
              `verifyDown did not succeed on ${volume.from.instanceId}: the volumes were not detached. ` +
                `Make sure the database is stopped and the file systems unmounted there, then retry (verifyDown runs again), or abort.\n${outcome.summary}`,
              'verify_down_failed',
            );
          }
          verifiedDown = `${verifiedDown}; verifyDown: ${outcome.summary}`;
        }
        // In the step's output from the next look on: a resumed attempt that finds it does not ask
        // again (one that does not, asks again: harmless, the database is down).
        progress = { ...progress, detachRequestedAtMs: clock.now().getTime(), verifiedDown };
      });
      let force = approvedList(ctx, 'detach_stuck', 'volumes');
      let volumes = progress.volumes ?? {};
      const set = await pollWithin(
        async () => {
          const look = await lookDetachSet(ec2, volume, volume.from.instanceId, volumes, clockMs(ctx), {
            force,
            beforeSend,
          });
          volumes = look.volumes;
          force = [];
          return look;
        },
        (look) => look.done,
        volume.pollInterval,
      );
      progress = { ...progress, volumes };
      if (set.done) return { type: 'done', output: progressJson(progress) };
      const now = clockMs(ctx);
      const stuck = set.pending.filter(
        ({ sinceMs }) => sinceMs !== null && now - sinceMs > volume.detachTimeout,
      );
      if (stuck.length > 0) {
        const [first] = stuck;
        throw decide(
          stuckDetachMessage(
            stuck.map(({ volumeId }) => volumeId).join(', '),
            first?.state ?? 'detaching',
            volume.from.instanceId,
            now - (first?.sinceMs ?? now),
            'abort re-attaches every volume to the old server and starts the database there again.',
          ),
          'detach_stuck',
          { volumes: stuck.map(({ volumeId }) => volumeId) },
        );
      }
      return waiting(volume, progress);
    },
  };

  const attachTo: StepExecutor = {
    async execute(ctx) {
      const volume = volumeOf(ctx);
      const progress = readProgress(ctx, false);
      let volumes = progress.volumes ?? {};
      const set: SetLook = await pollWithin(
        async () => {
          const look = await lookAttachSet(ec2, volume, volume.to.instanceId, volumes, clockMs(ctx));
          volumes = look.volumes;
          return look;
        },
        (look) => look.done,
        volume.pollInterval,
      );
      if (set.done) return { type: 'done', output: progressJson({ ...progress, volumes }) };
      const [pending] = set.pending;
      const now = clockMs(ctx);
      if (pending?.elsewhere)
        throw fatal(
          `${pending.volumeId} is attached to ${pending.elsewhere}, not free for ${volume.to.instanceId}`,
        );
      // As for the detach: the timeout runs from the request.
      if (pending?.sinceMs != null && now - pending.sinceMs > volume.attachTimeout)
        throw fatal(`${pending.volumeId} did not attach to ${volume.to.instanceId} (${pending.state})`);
      return waiting(volume, { ...progress, volumes });
    },
  };

  const startTo: StepExecutor = {
    async execute(ctx) {
      const volume = volumeOf(ctx);
      const probes = probesOf(volume);
      const power = sidePower(deps, volume, probes);
      let progress = readProgress(ctx, false);
      const expected = progressOfStep(ctx, 'stop-database')?.fromIdentity ?? null;
      const startFailed = (summary: string) =>
        decide(
          `the start hook on ${volume.to.instanceId} did not succeed. Retry (the hook runs again), or abort to roll back: the volumes go back to ${volume.from.instanceId} and the database starts there.\n${summary}`,
          'start_failed',
        );
      // A hook start runs again after a crash, and after a person retries a refused start.
      const again =
        approved(ctx, 'start_failed') ||
        approved(ctx, 'wrong_identity') ||
        (ctx.resumed && !isEc2Power(volume.start));
      if (progress.startRequested !== true || again) {
        progress = { ...progress, startRequested: true, startRequestedAtMs: clockMs(ctx) };
        await power.request('to', volume.start, startFailed);
      } else if (isEc2Power(volume.start)) {
        // StartInstances goes out only to a stopped instance.
        await power.request('to', volume.start, startFailed);
      }
      // "Keep waiting": another healthTimeout from now.
      if (approved(ctx, 'not_healthy')) progress = { ...progress, startRequestedAtMs: clockMs(ctx) };
      const reading = await pollWithin(
        async () => ((await power.running('to', volume.start)) ? probes.check('to') : null),
        (seen) => seen?.healthy === true,
        volume.pollInterval,
      );
      if (reading?.healthy !== true) {
        const since = progress.startRequestedAtMs ?? clockMs(ctx);
        const seen = reading ? describeReading(reading) : 'the instance is not running yet';
        if (clockMs(ctx) - since > volume.healthTimeout) {
          throw decide(
            `the database on ${volume.to.instanceId} has not become healthy (${seen}). Retry to keep waiting, or abort to roll back: the volumes go back to ${volume.from.instanceId} and the database starts there.`,
            'not_healthy',
          );
        }
        return waiting(volume, { ...progress, notYet: seen });
      }
      const verdict = sameData(probes.readsIdentity('to'), expected, reading, volume);
      if (verdict !== null && !(verdict.decision === 'identity_unknown' && approved(ctx, 'identity_unknown')))
        throw decide(verdict.message, verdict.decision);
      const { notYet: _notYet, ...rest } = progress;
      return {
        type: 'done',
        output: progressJson({
          ...rest,
          healthyAtMs: clock.now().getTime(),
          identity: reading.identity,
          health: reading.detail,
        }),
      };
    },
  };

  const report: StepExecutor = {
    async execute(ctx) {
      const volume = volumeOf(ctx);
      const stopped = progressOfStep(ctx, 'stop-database');
      const started = progressOfStep(ctx, 'start-database');
      const windowMs =
        stopped?.stoppedAtMs !== undefined && started?.healthyAtMs !== undefined
          ? started.healthyAtMs - stopped.stoppedAtMs
          : null;
      const identity =
        started?.identity && started.identity === stopped?.fromIdentity
          ? `the same data on both: system identifier ${started.identity}`
          : started?.identity
            ? `system identifier ${started.identity} (accepted by a person without a reading on ${volume.from.instanceId})`
            : 'not verified (the health check of to does not read it)';
      // Both kinds, when both were taken: the one of the running database and the one after the stop.
      const snapshots = await describeSnapshots(ec2, volume.region, [
        ...Object.entries(progressOfStep(ctx, 'snapshot')?.snapshotIds ?? {}),
        ...Object.entries(stopped?.snapshotIds ?? {}),
      ]);
      const lines = [
        ':white_check_mark: *Volumes moved.*',
        `• ${volumeList(volume)} ${volume.volumes.length > 1 ? 'are' : 'is'} attached to ${volume.to.instanceId}; the database is healthy there, ${identity}.`,
        `• Write-unavailable window (stop → healthy with the right data): ${windowMs === null ? 'unknown' : `${(windowMs / 1000).toFixed(1)} s`}`,
        ...(snapshots.length > 0 ? [`• Snapshots: ${snapshots.join(', ')}`] : []),
        `• ${volume.from.instanceId} is left intact (stopped database, no data volume) until you retire it.`,
      ];
      return { type: 'done', output: { writeUnavailableMs: windowMs, report: lines.join('\n') } };
    },
  };

  return {
    'vs-preflight': preflight,
    'vs-snapshot': snapshotBeforeGate,
    'vs-stop-from': stopFrom,
    'vs-detach': detachFrom,
    'vs-attach': attachTo,
    'vs-start-to': startTo,
    'vs-report': report,
    ...undoExecutors(deps, probesOf),
  };
}

/** Not proven down: the gate says what was seen, and what "Retry anyway" would mean. */
function notDown(volume: SwapVolume, proof: DownProof & { instance: string }, when: string): Error {
  const seen = describeReading(proof.last);
  const vouch = vouchable(proof.last)
    ? ' Retry anyway only if you know it is down with its files closed (say, a firewall drops the probes): the volumes are then detached without the proof.'
    : ' Something answers there, so "Retry anyway" will not detach: stop it first, then retry.';
  return decide(
    `the database on ${volume.from.instanceId} is not proven down ${when}: ${volume.downProbes} refused connections in a row are needed, the check saw ${seen}` +
      `${isEc2Power(volume.stop) ? ` (instance ${proof.instance})` : ''}. The volumes were not detached.${vouch} Or abort: the database starts there again.`,
    'not_down',
    { reach: proof.last.reach },
  );
}

/**
 * Null when `reading` shows the data that left `from` (or cannot tell: a check that reads no
 * identity); otherwise the gate to raise. A different cluster is never accepted by a person's
 * retry: only a new reading can pass it.
 */
export function sameData(
  readsIdentity: boolean,
  expected: string | null,
  reading: HealthResult,
  volume: SwapVolume,
): { message: string; decision: 'wrong_identity' | 'identity_unknown' } | null {
  if (!readsIdentity) return null;
  const to = volume.to.instanceId;
  if (reading.identity !== null && expected !== null) {
    if (reading.identity === expected) return null;
    return {
      decision: 'wrong_identity',
      message:
        `the database on ${to} answers, but it is not the data that left ${volume.from.instanceId}: system identifier ${reading.identity}, expected ${expected}. ` +
        'An empty cluster the package created, or another data directory, started instead of the moved one. Nothing is routed to it. ' +
        `Stop that cluster and make ${to} start the moved data, then retry (the start runs again and the identity is read again); or abort to roll back.`,
    };
  }
  return {
    decision: 'identity_unknown',
    message:
      reading.identity === null
        ? `the database on ${to} answers, but its system identifier cannot be read (${reading.detail}), so it cannot be told from an empty cluster. Check it by hand: retry anyway to accept it, or abort to roll back.`
        : `the database on ${to} answers with system identifier ${reading.identity}, but no identity was read on ${volume.from.instanceId} before the stop, so it cannot be compared. Check it by hand: retry anyway to accept it, or abort to roll back.`,
  };
}

/** "snap-… of vol-…: completed" per [volume id, snapshot id]; a describe that fails says so instead. */
async function describeSnapshots(
  ec2: Ec2Port,
  region: string,
  ids: readonly (readonly [string, string])[],
): Promise<string[]> {
  return Promise.all(
    ids.map(async ([volumeId, snapshotId]) => {
      const seen = await ec2.describeSnapshot(region, snapshotId).catch((error: Error) => error);
      if (seen instanceof Error)
        return `${snapshotId} of ${volumeId}: could not be described (${seen.message})`;
      if (seen === null) return `${snapshotId} of ${volumeId}: not found`;
      return `${snapshotId} of ${volumeId}: ${seen.state}${seen.state === 'pending' ? ` ${seen.progress}` : ''}${seen.state === 'error' ? ' (FAILED: take another one)' : ''}`;
    }),
  );
}
