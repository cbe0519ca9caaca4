// Executors of a volume swap. EC2 Attach/Detach are not idempotent, so every executor describes the
// volume first and acts only on what it sees; IncorrectState / VolumeInUse mean "look again".
import { toHealthTarget } from '../../config/health-schema';
import { toHookCommand } from '../../config/hook-schema';
import { fatal, needsHuman, retryable } from '../../engine/failures';
import type { Ec2Port } from '../../ports/ec2';
import type { HealthChecker } from '../../ports/health';
import type { HookRunner } from '../../ports/hooks';
import type { PreflightCheck, StepContext, StepExecutor, StepResult } from '../types';
import { isEc2Power, type PowerConfig, type VolumeSwapSettings } from './config';
import {
  asFailure,
  attachmentTo,
  attachVolumeStep,
  detachVolumeStep,
  dryRunCheck,
  powerInstance,
  progressOf,
  refuseFailedChecks,
  waiting,
} from './ec2-steps';
import { settingsOf } from './plan';

export interface VolumeSwapDeps {
  ec2: Ec2Port;
  health: HealthChecker;
  hooks: HookRunner;
  env: NodeJS.ProcessEnv;
  /** Wall time in ms for the measured write-unavailable window. */
  nowMs?: () => number;
}

const HEALTH_TIMEOUT_MS = 3_000;

type Volume = VolumeSwapSettings['volume'];

function volumeOf(ctx: Pick<StepContext, 'target'>): Volume {
  return settingsOf(ctx.target).volume;
}

/** Time since this step first started, by the Clock (timeouts are decisions, so testable). */
function elapsedMs(ctx: StepContext): number {
  return ctx.step.startedAt ? ctx.clock.now().getTime() - Date.parse(ctx.step.startedAt) : 0;
}

export function volumeSwapExecutors(deps: VolumeSwapDeps): Record<string, StepExecutor> {
  const { ec2, health, hooks, env } = deps;
  const nowMs = deps.nowMs ?? Date.now;

  const isHealthy = async (volume: Volume): Promise<{ healthy: boolean; detail: string }> =>
    health.check(toHealthTarget(volume.health, env), HEALTH_TIMEOUT_MS);

  const hookVars = (volume: Volume, instanceId: string): Record<string, string> => ({
    instanceId,
    'from.instanceId': volume.from.instanceId,
    'to.instanceId': volume.to.instanceId,
    volumeId: volume.volumeId,
    device: volume.device,
    region: volume.region,
  });

  const runPowerHook = async (
    power: PowerConfig,
    volume: Volume,
    instanceId: string,
    what: string,
  ): Promise<void> => {
    if (isEc2Power(power)) throw new Error('not a hook');
    const { hook } = toHookCommand(power, env);
    const result = await hooks.run(hook, hookVars(volume, instanceId));
    if (result.timedOut || result.exitCode !== 0) {
      const how = `exit ${String(result.exitCode)}${result.timedOut ? ', timed out' : ''}`;
      throw retryable(`the ${what} hook did not succeed (${how}): ${result.output.slice(-500)}`);
    }
  };

  /** Brings the database down on `instanceId` and waits until the health check fails. */
  const stopOn = async (
    ctx: StepContext,
    instanceId: string,
    power: PowerConfig,
    undo: boolean,
  ): Promise<StepResult> => {
    const volume = volumeOf(ctx);
    const progress = progressOf(ctx, undo);
    const stoppedAtMs = typeof progress['stoppedAtMs'] === 'number' ? progress['stoppedAtMs'] : nowMs();
    if (isEc2Power(power)) {
      const instance = await powerInstance(ec2, volume.region, instanceId, 'stopped');
      if (!instance.settled) return waiting(volume, { stoppedAtMs, instance: instance.shown });
    } else if (progress['hookRan'] !== true) {
      // Always, even when the health check already fails: a hung database answers no probe but
      // still has the volume's files open, and a stop hook is safe to run on a stopped one.
      await runPowerHook(power, volume, instanceId, 'stop');
      return waiting(volume, { stoppedAtMs, hookRan: true });
    }
    // Down means the health check fails: only then is the volume touched.
    const probe = await isHealthy(volume);
    if (!probe.healthy) return { type: 'done', output: { stoppedAtMs, downBecause: probe.detail } };
    if (!undo && elapsedMs(ctx) > volume.stopTimeout) {
      throw needsHuman(
        `the database still answers (${probe.detail}) after the stop; the volume was not touched. Check ${instanceId}, then retry or abort.`,
      );
    }
    return waiting(volume, { stoppedAtMs, hookRan: true, stillUp: probe.detail });
  };

  /** Starts the database on `instanceId` and waits until the health check passes. */
  const startOn = async (
    ctx: StepContext,
    instanceId: string,
    power: PowerConfig,
    undo: boolean,
  ): Promise<StepResult> => {
    const volume = volumeOf(ctx);
    const progress = progressOf(ctx, undo);
    if (isEc2Power(power)) {
      const instance = await powerInstance(ec2, volume.region, instanceId, 'running');
      if (!instance.settled) return waiting(volume, { instance: instance.shown });
    } else if (progress['hookRan'] !== true) {
      const probe = await isHealthy(volume);
      if (!probe.healthy) await runPowerHook(power, volume, instanceId, 'start');
      return waiting(volume, { hookRan: true });
    }
    const probe = await isHealthy(volume);
    if (probe.healthy) {
      const report = `:leftwards_arrow_with_hook: The database runs on ${instanceId} again (${probe.detail}).`;
      return {
        type: 'done',
        output: { healthyAtMs: nowMs(), health: probe.detail, ...(undo ? { report } : {}) },
      };
    }
    if (!undo && elapsedMs(ctx) > volume.healthTimeout) {
      throw needsHuman(
        `the database on ${instanceId} has not become healthy (${probe.detail}). Retry to keep waiting, or abort to roll back: the volume goes back to ${volume.from.instanceId} and the database starts there.`,
      );
    }
    return waiting(volume, { hookRan: true, notYet: probe.detail });
  };

  const detachFrom = (ctx: StepContext, instanceId: string, undo: boolean): Promise<StepResult> =>
    detachVolumeStep(ec2, ctx, volumeOf(ctx), instanceId, undo);

  const attachTo = (
    ctx: StepContext,
    instanceId: string,
    timeoutMs: number | null,
    undo: boolean,
  ): Promise<StepResult> => attachVolumeStep(ec2, ctx, volumeOf(ctx), instanceId, timeoutMs, undo);

  /** Undo of the start on `to`: stop the database there so the volume can go back. */
  const stopOnUndo = async (ctx: StepContext): Promise<StepResult> => {
    const volume = volumeOf(ctx);
    if (isEc2Power(volume.stop)) return stopOn(ctx, volume.to.instanceId, volume.stop, true);
    if (progressOf(ctx, true)['hookRan'] === true)
      return { type: 'done', output: { stopped: volume.to.instanceId } };
    await runPowerHook(volume.stop, volume, volume.to.instanceId, 'stop');
    return { type: 'wait', delayMs: 0, output: { hookRan: true } };
  };

  return {
    'vs-preflight': {
      async execute(ctx) {
        const volume = volumeOf(ctx);
        // Throttling or a passing outage is not a refusal: surface it as a retry first.
        await ec2.describeVolume(volume.region, volume.volumeId).catch(asFailure);
        await ec2.describeInstance(volume.region, volume.to.instanceId).catch(asFailure);
        const checks = refuseFailedChecks(await volumeSwapPreflight(ec2, volume));
        return { type: 'done', output: { checks } };
      },
    },

    'vs-snapshot': {
      async execute(ctx): Promise<StepResult> {
        const volume = volumeOf(ctx);
        const known = ctx.step.output?.['snapshotId'];
        const snapshotId =
          typeof known === 'string'
            ? known
            : await ec2
                .createSnapshot(
                  volume.region,
                  volume.volumeId,
                  `cutover-bot safety snapshot before run ${ctx.run.id}`,
                )
                .catch(asFailure);
        const snapshot = await ec2.describeSnapshot(volume.region, snapshotId).catch(asFailure);
        if (snapshot?.state === 'completed') {
          return {
            type: 'done',
            output: { snapshotId, report: `:camera: Safety snapshot ${snapshotId} completed.` },
          };
        }
        if (snapshot?.state === 'error') throw fatal(`snapshot ${snapshotId} failed`);
        // A note for the thread at every quarter, not at every poll.
        const percent = Number.parseInt(snapshot?.progress ?? '0', 10) || 0;
        const progressNote = `:camera: Snapshot ${snapshotId} of ${volume.volumeId}: ${Math.floor(percent / 25) * 25}% or more`;
        return {
          type: 'wait',
          delayMs: volume.pollInterval,
          output: { snapshotId, progress: snapshot?.progress ?? '0%', progressNote },
        };
      },
    },

    'vs-stop-from': {
      execute: (ctx) => stopOn(ctx, volumeOf(ctx).from.instanceId, volumeOf(ctx).stop, false),
    },
    'vs-start-from': {
      execute: (ctx) => startOn(ctx, volumeOf(ctx).from.instanceId, startPowerFor(volumeOf(ctx)), true),
    },

    'vs-detach': { execute: (ctx) => detachFrom(ctx, volumeOf(ctx).from.instanceId, false) },
    // Undo of the detach: the volume goes back to the old server.
    'vs-reattach-from': { execute: (ctx) => attachTo(ctx, volumeOf(ctx).from.instanceId, null, true) },

    'vs-attach': {
      execute: (ctx) => attachTo(ctx, volumeOf(ctx).to.instanceId, volumeOf(ctx).attachTimeout, false),
    },
    // Undo of the attach: take it off the new server again (never forced).
    'vs-detach-to': { execute: (ctx) => detachFrom(ctx, volumeOf(ctx).to.instanceId, true) },

    'vs-start-to': {
      execute: (ctx) => startOn(ctx, volumeOf(ctx).to.instanceId, volumeOf(ctx).start, false),
    },
    'vs-stop-to': { execute: stopOnUndo },

    'vs-report': {
      execute(ctx) {
        const stopped = ctx.run.steps.find((step) => step.spec.name === 'stop-database')?.output?.[
          'stoppedAtMs'
        ];
        const healthy = ctx.run.steps.find((step) => step.spec.name === 'start-database')?.output?.[
          'healthyAtMs'
        ];
        const windowMs =
          typeof stopped === 'number' && typeof healthy === 'number' ? healthy - stopped : null;
        const volume = volumeOf(ctx);
        const report = [
          ':white_check_mark: *Volume moved.*',
          `• ${volume.volumeId} is attached to ${volume.to.instanceId} at ${volume.device}; the database is healthy there.`,
          `• Write-unavailable window (stop → healthy): ${windowMs === null ? 'unknown' : `${(windowMs / 1000).toFixed(1)} s`}`,
          `• ${volume.from.instanceId} is left intact (stopped database, no data volume) until you retire it.`,
        ].join('\n');
        return Promise.resolve({ type: 'done', output: { writeUnavailableMs: windowMs, report } });
      },
    },
  };
}

/** `start` undoes `stop`: an EC2 stop is undone by an EC2 start, a stop hook by the start hook. */
function startPowerFor(volume: Volume): PowerConfig {
  return isEc2Power(volume.stop) ? { ec2: 'startInstance' } : volume.start;
}

/** Read-only checks shared by the preflight step and `/cutover plan`. */
export async function volumeSwapPreflight(ec2: Ec2Port, volume: Volume): Promise<PreflightCheck[]> {
  const checks: PreflightCheck[] = [];
  const seen = await ec2.describeVolume(volume.region, volume.volumeId).catch((error: Error) => error);
  const target = await ec2
    .describeInstance(volume.region, volume.to.instanceId)
    .catch((error: Error) => error);
  if (seen instanceof Error || seen === null) {
    return [
      { name: 'volume', ok: false, detail: seen ? seen.message : `volume ${volume.volumeId} not found` },
    ];
  }
  const onFrom = attachmentTo(seen, volume.from.instanceId);
  checks.push({
    name: 'volume attached to from',
    ok: onFrom?.state === 'attached' && onFrom.device === volume.device && seen.attachments.length === 1,
    detail: onFrom
      ? onFrom.device === volume.device
        ? `${volume.volumeId} attached to ${volume.from.instanceId} at ${onFrom.device}`
        : `${volume.volumeId} is attached to ${volume.from.instanceId} at ${onFrom.device}, not ${volume.device}`
      : `${volume.volumeId} is not attached to ${volume.from.instanceId} (${seen.attachments.map((a) => `${a.instanceId} ${a.state}`).join(', ') || seen.state})`,
  });
  if (target instanceof Error || target === null) {
    checks.push({
      name: 'to instance',
      ok: false,
      detail: target ? target.message : `instance ${volume.to.instanceId} not found`,
    });
    return checks;
  }
  const startsIt = isEc2Power(volume.start);
  const stateOk = target.state === 'running' || (target.state === 'stopped' && startsIt);
  checks.push({
    name: 'to instance ready',
    ok: stateOk,
    detail: stateOk
      ? `${target.id} is ${target.state}`
      : `${target.id} is ${target.state}${target.state === 'stopped' ? ' and start does not start it' : ''}`,
  });
  checks.push({
    name: 'same availability zone',
    ok: target.availabilityZone === seen.availabilityZone,
    detail:
      target.availabilityZone === seen.availabilityZone
        ? `both in ${seen.availabilityZone}`
        : `availability zone mismatch: ${volume.volumeId} is in ${seen.availabilityZone}, ${target.id} in ${target.availabilityZone} (EBS volumes attach only within their zone)`,
  });
  const deviceFree = !target.devices.includes(volume.device);
  checks.push({
    name: 'device free on to',
    ok: deviceFree,
    detail: deviceFree
      ? `${volume.device} is free on ${target.id}`
      : `device ${volume.device} is already taken on ${target.id}`,
  });
  checks.push(
    await dryRunCheck(
      () =>
        ec2.checkPermissions(
          volume.region,
          volume.volumeId,
          volume.from.instanceId,
          volume.to.instanceId,
          volume.device,
        ),
      'DetachVolume and AttachVolume allowed',
    ),
  );
  return checks;
}
