// Executors of an in-place RDS change. ModifyDBInstance and ApplyPendingMaintenanceAction are sent
// only after describing the instance, never before the step's DB snapshot is `available`, and never
// again by an attempt that may already have sent them. Nothing is undone automatically: a failed
// change names the snapshot so people can restore from it.
import { fatal, needsHuman, retryable } from '../../engine/failures';
import type { JsonObject } from '../../engine/types';
import type { Clock } from '../../ports/clock';
import type { InstanceSettingsDescription, RdsMaintenancePort } from '../../ports/rds-maintenance';
import { AwsRefusal } from '../../ports/aws-refusal';
import type { PreflightCheck, StepContext, StepExecutor, StepResult } from '../types';
import type { InPlaceConfig, InPlaceRds } from './config';
import { describeChange, settingsOf, snapshotIdOf } from './plan';
import {
  decideMaintenance,
  decideModify,
  decideReboot,
  FAILED_STATUSES,
  maintenanceApplied,
  maintenancePreflight,
  modifyApplied,
  modifyPreflight,
  modifyProgress,
  upgradeFailure,
  upgradeNotHappening,
  type ChangeDecision,
  type Verdict,
} from './rds-decisions';
import { inPlaceProgress, progressOfStep } from './progress';
import { elapsedMs } from './steps';
import { awsFailure } from '../shared/aws-failure';
import type { InPlaceRdsExecutor } from './plan';

/** How far the bot's clock may be ahead of AWS's when it asks for events since its request. */
const CLOCK_SKEW_MS = 5 * 60_000;

export interface InPlaceRdsDeps {
  rds: RdsMaintenancePort;
  /** Wall time for the measured write-unavailable window. */
  clock: Clock;
}

function rdsOf(ctx: Pick<StepContext, 'target'>): InPlaceRds {
  const rds = settingsOf(ctx.target).rds;
  if (!rds) throw fatal('target has no inPlace.rds section');
  return rds;
}

/**
 * RDS said no for sure, so nothing was changed: access, existence, state, throttling, or a client
 * error with a code (InvalidParameterCombination, StorageQuotaExceeded, ...: validated and refused).
 * Anything else (a lost answer, a 5xx) may have been carried out.
 */
function definitelyRefused(error: unknown): error is AwsRefusal {
  if (!(error instanceof AwsRefusal)) return false;
  if (error.code !== 'other') return true;
  const status = error.httpStatusCode;
  return !error.retryable && error.awsCode !== null && status !== null && status >= 400 && status < 500;
}

/** An attempt that may have sent the change already: its worker died, or the answer was lost. */
function maybeSentBefore(ctx: StepContext): boolean {
  return ctx.resumed || ctx.step.error?.detail?.['maybeSent'] === true;
}

/** The snapshot of this run, as the snapshot step recorded it (or derived: it is deterministic). */
function snapshotOf(ctx: StepContext): string {
  return progressOfStep(ctx, 'snapshot').snapshotId ?? snapshotIdOf(rdsOf(ctx).instance, ctx.run.id);
}

function keptSnapshot(snapshotId: string): string {
  return `The DB snapshot ${snapshotId} is kept; there is no automatic restore: restore from it by hand (RestoreDBInstanceFromDBSnapshot) if the data is needed.`;
}

function checksOf(verdict: Verdict, name: string, ok: string): PreflightCheck[] {
  return [
    { name, ok: verdict.blockers.length === 0, detail: verdict.blockers.join('; ') || ok },
    ...verdict.warnings.map((warning) => ({ name: 'warning', ok: true, detail: warning })),
  ];
}

async function verdictOf(rds: RdsMaintenancePort, settings: InPlaceRds): Promise<Verdict> {
  const { region, instance } = settings;
  const described = await rds.describeInstanceSettings(region, instance);
  if (settings.maintenance) {
    const actions = described === null ? [] : await rds.pendingMaintenance(region, instance);
    return maintenancePreflight(described, instance, actions, settings.maintenance.action);
  }
  const modify = settings.modify ?? {};
  const version = modify.EngineVersion;
  const current = described?.current.EngineVersion;
  // Only asked when the version changes: DescribeDBEngineVersions of the current version.
  const targets =
    version !== undefined && current !== undefined && described?.engine && version !== current
      ? await rds.validUpgradeTargets(region, described.engine, current)
      : null;
  return modifyPreflight(described, instance, modify, targets);
}

/** Read-only checks shared by the preflight step and `/cutover plan`. */
export async function inPlaceRdsPreflight(
  rds: RdsMaintenancePort,
  settings: InPlaceRds,
): Promise<PreflightCheck[]> {
  try {
    return checksOf(
      await verdictOf(rds, settings),
      `${settings.instance}: ${describeChange(settings)}`,
      'available, nothing pending, the change is valid',
    );
  } catch (error) {
    return [{ name: 'AWS reachable', ok: false, detail: (error as Error).message }];
  }
}

export function inPlaceRdsExecutors(deps: InPlaceRdsDeps): Record<InPlaceRdsExecutor, StepExecutor> {
  const { rds, clock } = deps;

  const waiting = (ctx: StepContext, output: JsonObject): StepResult => ({
    type: 'wait',
    delayMs: settingsOf(ctx.target).pollInterval,
    output,
  });

  /** Busy with something else before the change was sent: wait, within modifyTimeout. */
  const notYet = (ctx: StepContext, status: string): StepResult => {
    const { instance, modifyTimeout } = rdsOf(ctx);
    if (!ctx.humanOverride && elapsedMs(ctx) > modifyTimeout) {
      throw needsHuman(
        `${instance} has been ${status} since the approval; the change was not sent. Retry to keep waiting, or abort.`,
      );
    }
    return waiting(ctx, { waitingFor: `${instance} is ${status}` });
  };

  /**
   * The change request failed. A definite refusal changed nothing: throttling and a busy instance
   * retry, anything else fails the run naming the snapshot. Any other failure may have been carried
   * out: it retries as "describe, do not send" (the mark travels in the step's recorded error).
   */
  const sendFailure =
    (ctx: StepContext, request: string) =>
    (error: unknown): never => {
      if (definitelyRefused(error)) {
        if (error.code === 'throttled' || error.code === 'invalid_state') awsFailure(error);
        throw fatal(
          `${request} was refused: ${error.message}. Nothing was changed. ${keptSnapshot(snapshotOf(ctx))}`,
          {
            cause: error,
          },
        );
      }
      throw retryable(`${request} may have been carried out: ${(error as Error).message}`, {
        detail: { maybeSent: true },
        cause: error,
      });
    };

  /** Just before sending: the snapshot is there and `available` (re-checked after the approval). */
  const snapshotReady = async (ctx: StepContext): Promise<string> => {
    const { region } = rdsOf(ctx);
    const snapshotId = snapshotOf(ctx);
    const snapshot = await rds.describeDbSnapshot(region, snapshotId).catch(awsFailure);
    if (snapshot?.status !== 'available') {
      throw fatal(
        `DB snapshot ${snapshotId} is ${snapshot?.status ?? 'gone'}: not changing ${rdsOf(ctx).instance} without it`,
      );
    }
    return snapshotId;
  };

  /**
   * Acts on a describe-first decision of a change step. Sends (through `send`) only after the
   * snapshot is re-checked, and records when the request went out: the start of the
   * write-unavailable window (the step's start when it was sent by an earlier attempt).
   */
  const actOn = async <Send extends object>(
    ctx: StepContext,
    decision: ChangeDecision<Send>,
    send: (done: (result: string) => StepResult, decided: Send) => Promise<StepResult>,
  ): Promise<StepResult> => {
    const { region, instance } = rdsOf(ctx);
    switch (decision.action) {
      case 'refuse':
        throw fatal(`${instance} not found in ${region}. ${keptSnapshot(snapshotOf(ctx))}`);
      case 'skip':
      case 'wait': {
        const requestedAtMs = ctx.step.startedAt ? Date.parse(ctx.step.startedAt) : clock.now().getTime();
        return {
          type: 'done',
          output: { result: decision.reason, requestedAtMs, snapshotId: snapshotOf(ctx) },
        };
      }
      case 'later':
        return notYet(ctx, decision.status);
      case 'send':
        break;
    }
    const snapshotId = await snapshotReady(ctx);
    const requestedAtMs = clock.now().getTime();
    return send((result) => ({ type: 'done', output: { result, requestedAtMs, snapshotId } }), decision);
  };

  /**
   * RDS serves again on the old version with nothing pending: if its events say the upgrade failed
   * (a pre-upgrade check), the run fails now with RDS's words instead of waiting for modifyTimeout.
   */
  const failIfUpgradeFailed = async (
    ctx: StepContext,
    described: InstanceSettingsDescription,
  ): Promise<void> => {
    const { region, instance, modify } = rdsOf(ctx);
    const requested = progressOfStep(ctx, 'modify').requestedAtMs;
    // RDS dates its events by AWS's clock: a margin for the bot's clock being ahead of it.
    const since = new Date((requested ?? clock.now().getTime()) - CLOCK_SKEW_MS);
    const events = await rds.instanceEvents(region, instance, since).catch(awsFailure);
    const failure = upgradeFailure(events);
    if (failure === undefined) return;
    throw fatal(
      `${instance} was not upgraded to ${modify?.EngineVersion ?? '?'}: RDS says "${failure.message}" (${failure.date}). ` +
        `It is ${described.status} on ${described.current.EngineVersion ?? 'its old version'}. ${keptSnapshot(snapshotOf(ctx))}`,
    );
  };

  return {
    'ip-rds-preflight': {
      async execute(ctx) {
        const settings = rdsOf(ctx);
        // Throttling or a passing outage is a retry, not a refusal.
        const verdict = await verdictOf(rds, settings).catch(awsFailure);
        if (verdict.blockers.length > 0) throw fatal(`preflight refused: ${verdict.blockers.join('; ')}`);
        return { type: 'done', output: { warnings: verdict.warnings } };
      },
    },

    'ip-rds-snapshot': {
      async execute(ctx): Promise<StepResult> {
        const { region, instance, snapshotTimeout } = rdsOf(ctx);
        const snapshotId = snapshotIdOf(instance, ctx.run.id);
        // Describe first: a resumed or retried attempt finds the snapshot an earlier one made.
        let snapshot = await rds.describeDbSnapshot(region, snapshotId).catch(awsFailure);
        if (snapshot === null) {
          snapshot = (await rds.createDbSnapshot(region, instance, snapshotId).catch(awsFailure)).snapshot;
        }
        if (snapshot.instanceId !== null && snapshot.instanceId !== instance) {
          throw fatal(`DB snapshot ${snapshotId} exists but is of ${snapshot.instanceId}, not ${instance}`);
        }
        if (snapshot.status === 'available') {
          return {
            type: 'done',
            output: { snapshotId, report: `:camera: DB snapshot ${snapshotId} of ${instance} is available.` },
          };
        }
        if (snapshot.status === 'failed' || snapshot.status === 'deleting') {
          throw fatal(`DB snapshot ${snapshotId} is ${snapshot.status}; nothing was changed`);
        }
        if (!ctx.humanOverride && elapsedMs(ctx) > snapshotTimeout) {
          throw needsHuman(
            `DB snapshot ${snapshotId} is still ${snapshot.status} after ${Math.round(elapsedMs(ctx) / 60_000)} min; nothing was changed. Retry to keep waiting, or abort.`,
          );
        }
        const percent = snapshot.percentProgress ?? 0;
        return waiting(ctx, {
          snapshotId,
          status: snapshot.status,
          progressNote: `:camera: DB snapshot ${snapshotId}: ${Math.floor(percent / 25) * 25}% or more`,
        });
      },
    },

    'ip-rds-modify': {
      async execute(ctx): Promise<StepResult> {
        const { region, instance } = rdsOf(ctx);
        const modify = rdsOf(ctx).modify ?? {};
        const described = await rds.describeInstanceSettings(region, instance).catch(awsFailure);
        const decision = decideModify(described, modify, maybeSentBefore(ctx));
        return actOn(ctx, decision, async (done) => {
          try {
            await rds.modifyInstance(region, instance, modify);
          } catch (error) {
            if (error instanceof AwsRefusal && error.code === 'invalid_state') {
              // Busy after all (a backup started): describe again on the next poll.
              const now = await rds.describeInstanceSettings(region, instance).catch(awsFailure);
              if (now !== null && modifyApplied(now, modify)) return done('already_applied');
              return notYet(ctx, now?.status ?? 'unknown');
            }
            return sendFailure(ctx, `ModifyDBInstance of ${instance}`)(error);
          }
          return done('modified');
        });
      },
    },

    'ip-rds-maintenance': {
      async execute(ctx): Promise<StepResult> {
        const { region, instance, maintenance } = rdsOf(ctx);
        if (!maintenance) throw fatal('target has no maintenance action');
        const described = await rds.describeInstanceSettings(region, instance).catch(awsFailure);
        const actions = await rds.pendingMaintenance(region, instance).catch(awsFailure);
        const decision = decideMaintenance(described, actions, maintenance.action, maybeSentBefore(ctx));
        return actOn(ctx, decision, async (done, { resourceArn }) => {
          await rds
            .applyMaintenance(region, resourceArn, maintenance.action)
            .catch(sendFailure(ctx, `ApplyPendingMaintenanceAction ${maintenance.action} on ${instance}`));
          return done('applied');
        });
      },
    },

    'ip-rds-reboot': {
      async execute(ctx): Promise<StepResult> {
        const { region, instance, modifyTimeout } = rdsOf(ctx);
        // Recorded before the request (so a resumed attempt without the record never sent one); a
        // later attempt never asks for a second reboot.
        const requested =
          inPlaceProgress.read(ctx).rebootRequested === true ||
          ctx.step.error?.detail?.['maybeSent'] === true;
        const described = await rds.describeInstanceSettings(region, instance).catch(awsFailure);
        const decision = decideReboot(described, requested);
        switch (decision.action) {
          case 'refuse':
            throw needsHuman(`${instance} is gone. ${keptSnapshot(snapshotOf(ctx))}`);
          case 'skip':
            return {
              type: 'done',
              output: { result: 'not_needed', parameterApplyStatus: described?.parameterApplyStatus ?? null },
            };
          case 'done':
            return {
              type: 'done',
              output: {
                result: 'rebooted',
                rebootRequested: true,
                report: `:arrows_counterclockwise: ${instance} rebooted; its parameter group is ${described?.parameterApplyStatus ?? 'in sync'}.`,
              },
            };
          case 'wait':
          case 'later': {
            if (!ctx.humanOverride && elapsedMs(ctx) > modifyTimeout) {
              throw needsHuman(
                `${instance} is ${decision.status} ${requested ? 'after the reboot was asked for' : 'and was not rebooted'}. Retry to keep waiting, or check the RDS console. ${keptSnapshot(snapshotOf(ctx))}`,
              );
            }
            return waiting(ctx, {
              rebootRequested: requested,
              waitingFor: `${instance} is ${decision.status}`,
            });
          }
          case 'send':
            break;
        }
        await ctx.saveProgress(inPlaceProgress.json({ rebootRequested: true }));
        try {
          await rds.rebootInstance(region, instance);
        } catch (error) {
          if (definitelyRefused(error)) {
            // Nothing was asked: the record goes back, so that the next look may ask.
            await ctx.saveProgress(inPlaceProgress.json({ rebootRequested: false }));
            if (error.code === 'throttled' || error.code === 'invalid_state') awsFailure(error);
            throw fatal(
              `RebootDBInstance of ${instance} was refused: ${error.message}. ${keptSnapshot(snapshotOf(ctx))}`,
              {
                cause: error,
              },
            );
          }
          throw retryable(
            `RebootDBInstance of ${instance} may have been carried out: ${(error as Error).message}`,
            {
              detail: { maybeSent: true },
              cause: error,
            },
          );
        }
        return waiting(ctx, { rebootRequested: true, rebootRequestedAtMs: clock.now().getTime() });
      },
    },

    'ip-rds-wait': {
      async execute(ctx): Promise<StepResult> {
        const settings = rdsOf(ctx);
        const { region, instance, modifyTimeout } = settings;
        const described = await rds.describeInstanceSettings(region, instance).catch(awsFailure);
        if (described === null) throw needsHuman(`${instance} is gone. ${keptSnapshot(snapshotOf(ctx))}`);
        if (FAILED_STATUSES.has(described.status)) {
          throw needsHuman(
            `${instance} went to ${described.status} while the change was applied; check it in the RDS console. ${keptSnapshot(snapshotOf(ctx))}`,
          );
        }
        let applied: boolean;
        let notYetApplied: JsonObject;
        if (settings.maintenance) {
          const actions = await rds.pendingMaintenance(region, instance).catch(awsFailure);
          applied = maintenanceApplied(described, actions, settings.maintenance.action);
          notYetApplied = { status: described.status, stillPending: actions.map((action) => action.action) };
        } else {
          const modify = settings.modify ?? {};
          applied = modifyApplied(described, modify);
          const progress = modifyProgress(described, modify);
          notYetApplied = { status: described.status, missing: progress.missing, pending: progress.pending };
          if (!applied && upgradeNotHappening(described, modify)) await failIfUpgradeFailed(ctx, described);
        }
        if (applied) {
          const rebootNote =
            described.parameterApplyStatus === 'pending-reboot'
              ? settings.reboot
                ? ' The parameter group is pending-reboot: the bot reboots it next.'
                : ' :warning: The parameter group is pending-reboot: its static parameters apply only at the next reboot (not done by the bot).'
              : '';
          return {
            type: 'done',
            output: {
              appliedAtMs: clock.now().getTime(),
              status: described.status,
              parameterApplyStatus: described.parameterApplyStatus,
              report: `:white_check_mark: ${instance} is ${described.status} with ${describeChange(settings)} applied.${rebootNote}`,
            },
          };
        }
        if (!ctx.humanOverride && elapsedMs(ctx) > modifyTimeout) {
          throw needsHuman(
            `${instance} is ${described.status} and the change is not applied after ${Math.round(elapsedMs(ctx) / 60_000)} min. Retry to keep waiting, or check the RDS console. ${keptSnapshot(snapshotOf(ctx))}`,
          );
        }
        return waiting(ctx, notYetApplied);
      },
    },
  };
}

/** Whether the change is in effect: a parameter group left pending-reboot is not. */
export function rdsChangeInEffect(ctx: StepContext): boolean {
  return (
    progressOfStep(ctx, 'reboot').result === 'rebooted' ||
    progressOfStep(ctx, 'wait-applied').parameterApplyStatus !== 'pending-reboot'
  );
}

/** What the report says about an RDS change: the snapshot, what RDS shows now, and a reboot. */
export function rdsReportLines(ctx: StepContext, inPlace: InPlaceConfig): string[] {
  const rds = inPlace.rds;
  if (!rds) return [];
  const { status } = progressOfStep(ctx, 'wait-applied');
  const rebooted = progressOfStep(ctx, 'reboot').result === 'rebooted';
  const lines = [
    `• ${rds.instance}: ${describeChange(rds)} applied${typeof status === 'string' ? `; RDS shows ${status}` : ''}.`,
  ];
  if (rebooted)
    lines.push(`• ${rds.instance} was rebooted inside the window: its parameter group is in effect.`);
  if (!rdsChangeInEffect(ctx)) {
    lines.push(
      `• :warning: *Not in effect yet:* ${rds.instance}'s parameter group is pending-reboot; its static parameters apply ` +
        'at the next reboot (set `reboot: true` to have the bot reboot inside the window).',
    );
  }
  lines.push(
    `• DB snapshot taken before the change: ${snapshotOf(ctx)} (kept; delete it when no longer needed).`,
  );
  return lines;
}
