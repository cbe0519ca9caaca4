// The EC2 halves of moving an EBS volume, shared by volume-swap and rolling-replace (EC2 replace with
// moveVolume): stop / start an instance, detach (stuck detaching → needs-human gate, Force only after
// a person approved it, sent once), attach. EC2 Attach/Detach are not idempotent, so every function
// describes first and acts only on what it sees; IncorrectState / VolumeInUse mean "look again".
// Timeouts run from the request (recorded in the step's output), not from the step's start.
// `lookDetach` / `lookAttach` are one look at one volume; the *Step functions are one volume's
// whole step (rolling-replace), volume-set.ts the volume swap's steps over a set.
import { z } from 'zod';
import { fatal, needsHuman } from '../../engine/failures';
import type { JsonObject } from '../../engine/types';
import type { Ec2Port, VolumeDescription } from '../../ports/ec2';
import { AwsRefusal } from '../../ports/aws-refusal';
import { progressCodec } from '../progress';
import type { PreflightCheck, StepContext, StepResult } from '../types';
import { awsFailure } from '../shared/aws-failure';

/** What one volume's detach or attach records (lookDetach / lookAttach), read by its schema. */
export const volumeRecord = progressCodec(
  z
    .object({
      /** A plain DetachVolume was sent at this time (its timeout runs from it). */
      detachSentAtMs: z.number(),
      /** A forced detach was sent, and when. */
      forced: z.boolean(),
      forcedAtMs: z.number(),
      /** AttachVolume was sent at this time. */
      attachSentAtMs: z.number(),
    })
    .partial()
    .passthrough(),
);

/** One volume moving between instances, whichever strategy moves it. */
export interface VolumeMove {
  region: string;
  volumeId: string;
  device: string;
  detachTimeout: number;
  pollInterval: number;
}

/** Calls that change attachments: IncorrectState / VolumeInUse on a retry means the world moved. */
export async function tolerateIncorrectState(call: () => Promise<void>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (error instanceof AwsRefusal && error.code === 'incorrect_state') return;
    awsFailure(error);
  }
}

export function attachmentTo(volume: VolumeDescription, instanceId: string) {
  return volume.attachments.find((attachment) => attachment.instanceId === instanceId);
}

export async function describeVolume(
  ec2: Ec2Port,
  volume: Pick<VolumeMove, 'region' | 'volumeId'>,
): Promise<VolumeDescription> {
  const found = await ec2.describeVolume(volume.region, volume.volumeId).catch(awsFailure);
  if (!found) throw fatal(`volume ${volume.volumeId} not found in ${volume.region}`);
  return found;
}

/**
 * What this executor recorded on its earlier polls: the step's own output when doing, and the
 * `undo` record beside it when undoing (the forward output must survive the undo).
 */
export function progressOf(ctx: StepContext, undo: boolean): JsonObject {
  const output = ctx.step.output ?? {};
  if (!undo) return output;
  const record = output['undo'];
  return typeof record === 'object' && record !== null && !Array.isArray(record) ? record : {};
}

export function waiting(move: Pick<VolumeMove, 'pollInterval'>, output: JsonObject = {}): StepResult {
  return { type: 'wait', delayMs: move.pollInterval, output };
}

/**
 * Brings an instance to `stopped` or `running`: describes it, asks EC2 only when it is in the
 * opposite settled state, and reports what it saw. `settled` once the instance shows the state.
 */
export async function powerInstance(
  ec2: Ec2Port,
  region: string,
  instanceId: string,
  want: 'stopped' | 'running',
): Promise<{ settled: boolean; shown: string }> {
  const instance = await ec2.describeInstance(region, instanceId).catch(awsFailure);
  if (!instance) throw fatal(`instance ${instanceId} not found`);
  if (instance.state === want) return { settled: true, shown: want };
  if (want === 'stopped' && instance.state === 'running') {
    await tolerateIncorrectState(() => ec2.stopInstance(region, instanceId));
    return { settled: false, shown: 'stopping' };
  }
  if (want === 'running' && instance.state === 'stopped') {
    await tolerateIncorrectState(() => ec2.startInstance(region, instanceId));
    return { settled: false, shown: 'pending' };
  }
  if (instance.state === 'terminated' || instance.state === 'shutting-down') {
    throw fatal(
      `instance ${instanceId} is ${instance.state}; it cannot be ${want === 'stopped' ? 'stopped' : 'started'}`,
    );
  }
  return { settled: false, shown: instance.state };
}

/** One look at a volume leaving an instance: off it now, or still on its way (with what to record). */
export type DetachLook =
  | { detached: true }
  | {
      detached: false;
      /** The attachment's state (detaching, busy, attached) or the volume's, when it has none. */
      state: string;
      /** When the (plain) DetachVolume went out, if it did; null: not sent (not attached here). */
      sentAtMs: number | null;
      progress: JsonObject;
    };

/**
 * Describes the volume and, when it is attached to `instanceId` and no detach was recorded as sent,
 * sends a plain DetachVolume (`beforeSend` first: the caller's last check); with `force`, a forced one
 * unless one was already sent. Never sends anything for a volume attached elsewhere: that is fatal.
 */
export async function lookDetach(
  ec2: Ec2Port,
  volume: Pick<VolumeMove, 'region' | 'volumeId'>,
  instanceId: string,
  progress: JsonObject,
  nowMs: number,
  options: { force?: boolean; beforeSend?: () => Promise<void> } = {},
): Promise<DetachLook> {
  const seen = await describeVolume(ec2, volume);
  const attachment = attachmentTo(seen, instanceId);
  if (!attachment) {
    if (seen.attachments.length === 0 && seen.state === 'available') return { detached: true };
    if (seen.attachments.length > 0) {
      throw fatal(
        `${volume.volumeId} is attached to ${seen.attachments.map((a) => a.instanceId).join(', ')}, not ${instanceId}`,
      );
    }
    return {
      detached: false,
      state: seen.state,
      sentAtMs: null,
      progress: { ...progress, volume: seen.state },
    };
  }
  const recorded = volumeRecord.parse(progress);
  if (attachment.state === 'attached' && recorded.detachSentAtMs === undefined) {
    await options.beforeSend?.();
    await tolerateIncorrectState(() => ec2.detachVolume(volume.region, volume.volumeId, instanceId, false));
    return {
      detached: false,
      state: 'detaching',
      sentAtMs: nowMs,
      progress: { attachment: 'detaching', detachSentAtMs: nowMs },
    };
  }
  // The timeout runs from the request, not from the step's start: retries and a crash recovery
  // before the request must not use it up.
  const sentAt = recorded.detachSentAtMs ?? nowMs;
  const forced = recorded.forced === true;
  const state: JsonObject = {
    attachment: attachment.state,
    detachSentAtMs: sentAt,
    ...(forced ? { forced, ...pick(progress, 'forcedAtMs') } : {}),
  };
  if (options.force === true && !forced) {
    await tolerateIncorrectState(() => ec2.detachVolume(volume.region, volume.volumeId, instanceId, true));
    return {
      detached: false,
      state: attachment.state,
      sentAtMs: sentAt,
      progress: { ...state, forced: true, forcedAtMs: nowMs },
    };
  }
  return { detached: false, state: attachment.state, sentAtMs: sentAt, progress: state };
}

function pick(record: JsonObject, key: string): JsonObject {
  const value = record[key];
  return value === undefined ? {} : { [key]: value };
}

/** The needs-human message of a volume stuck detaching: what a force detach risks. */
export function stuckDetachMessage(
  volumeId: string,
  state: string,
  instanceId: string,
  stuckMs: number,
  restoreHint: string,
): string {
  return (
    `${volumeId} is still ${state} on ${instanceId} after ${Math.round(stuckMs / 1000)} s. ` +
    'A force detach is like pulling the disk out of a running server: writes the instance has not flushed are lost and the file system may need recovery. ' +
    `Check that the database on the old server is really stopped. Approving this gate force-detaches the volume; ${restoreHint}`
  );
}

/**
 * Detaches the volume from `instanceId`; `force` only when a person approved it, and only once.
 * `restoreHint` tells the person at the gate what abort does.
 */
export async function detachVolumeStep(
  ec2: Ec2Port,
  ctx: StepContext,
  volume: VolumeMove,
  instanceId: string,
  undo: boolean,
  restoreHint = 'abort leaves it where it is and starts the database on the old server again.',
): Promise<StepResult> {
  const now = ctx.clock.now().getTime();
  // detaching / busy: give it time; never force on the bot's own judgement, and force only once.
  const look = await lookDetach(ec2, volume, instanceId, progressOf(ctx, undo), now, {
    force: !undo && ctx.humanOverride,
  });
  if (look.detached) return { type: 'done', output: { volume: 'available' } };
  if (look.sentAtMs !== null && !undo && !ctx.humanOverride && now - look.sentAtMs > volume.detachTimeout) {
    throw needsHuman(
      stuckDetachMessage(volume.volumeId, look.state, instanceId, now - look.sentAtMs, restoreHint),
    );
  }
  return waiting(volume, look.progress);
}

/** One look at a volume going onto an instance: attached, or on its way (with what to record). */
export type AttachLook =
  | { attached: true; device: string }
  | {
      attached: false;
      state: string;
      /** When AttachVolume went out (recorded), if it did. */
      sentAtMs: number | null;
      /** Attached (or on its way) to another instance: nothing was sent. */
      elsewhere: string | null;
      progress: JsonObject;
    };

/** Describes the volume and attaches it to `instanceId` at `device` once it is free. */
export async function lookAttach(
  ec2: Ec2Port,
  volume: Pick<VolumeMove, 'region' | 'volumeId' | 'device'>,
  instanceId: string,
  progress: JsonObject,
  nowMs: number,
): Promise<AttachLook> {
  const seen = await describeVolume(ec2, volume);
  const attachment = attachmentTo(seen, instanceId);
  if (attachment?.state === 'attached') return { attached: true, device: attachment.device };
  if (!attachment && seen.attachments.length === 0 && seen.state === 'available') {
    await tolerateIncorrectState(() =>
      ec2.attachVolume(volume.region, volume.volumeId, instanceId, volume.device),
    );
    return {
      attached: false,
      state: 'attaching',
      sentAtMs: nowMs,
      elsewhere: null,
      progress: { attachment: 'attaching', attachSentAtMs: nowMs },
    };
  }
  const state = attachment?.state ?? seen.state;
  const sentAt = volumeRecord.parse(progress).attachSentAtMs ?? null;
  return {
    attached: false,
    state,
    sentAtMs: sentAt,
    elsewhere: attachment ? null : (seen.attachments[0]?.instanceId ?? null),
    progress: { attachment: state, ...(sentAt !== null ? { attachSentAtMs: sentAt } : {}) },
  };
}

/** Attaches the volume to `instanceId` at the device and waits until attached. */
export async function attachVolumeStep(
  ec2: Ec2Port,
  ctx: StepContext,
  volume: VolumeMove,
  instanceId: string,
  timeoutMs: number | null,
  undo: boolean,
): Promise<StepResult> {
  const now = ctx.clock.now().getTime();
  const look = await lookAttach(ec2, volume, instanceId, progressOf(ctx, undo), now);
  if (look.attached) return { type: 'done', output: { attachedTo: instanceId, device: look.device } };
  // As for the detach: the timeout runs from the request.
  const sentAt = look.sentAtMs ?? now;
  if (timeoutMs !== null && now - sentAt > timeoutMs) {
    throw fatal(`${volume.volumeId} did not attach to ${instanceId} (${look.state})`);
  }
  return waiting(volume, { attachment: look.state, attachSentAtMs: sentAt });
}

/**
 * A DryRun permission check as a preflight line: `dryRun` resolves when EC2 would allow the calls.
 * A retryable refusal (throttling) is thrown, not reported as a refused permission.
 */
export async function dryRunCheck(dryRun: () => Promise<void>, allowed: string): Promise<PreflightCheck> {
  const refused = await dryRun().then(
    () => null,
    (error: Error) => {
      // Throttling or a passing outage is no answer about permissions: let the caller retry.
      if (error instanceof AwsRefusal && error.retryable) throw error;
      return error;
    },
  );
  return {
    name: 'permissions (DryRun)',
    ok: refused === null,
    detail: refused === null ? `${allowed} (DryRun)` : `DryRun refused: ${refused.message}`,
  };
}

/** The preflight step's answer: fatal when a check failed (EC2 will not change its mind), else the details. */
export function refuseFailedChecks(checks: readonly PreflightCheck[]): string[] {
  const failed = checks.filter((check) => !check.ok);
  if (failed.length > 0) throw fatal(`preflight refused: ${failed.map((check) => check.detail).join('; ')}`);
  return checks.map((check) => check.detail);
}
