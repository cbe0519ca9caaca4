// Pure planning of an in-place change: preflight, snapshot, gate, the change, wait, verify, report.
import type { TargetConfig } from '../../config/types';
import { settingsReader, type PlanOf, type PlannedStep } from '../define';
import { inPlaceConfigSchema, type InPlaceRds, type InPlaceSettings, type InPlaceVerify } from './config';

export const IN_PLACE = 'in-place';

/** The executors of an in-place change through a command (executors.ts). */
export type InPlaceCommandExecutor =
  'ip-preflight' | 'ip-snapshot-hook' | 'ip-command' | 'ip-health' | 'ip-confirm' | 'ip-report';

/** The executors of an RDS in-place change (rds-executors.ts). */
export type InPlaceRdsExecutor =
  | 'ip-rds-preflight'
  | 'ip-rds-snapshot'
  | 'ip-rds-modify'
  | 'ip-rds-maintenance'
  | 'ip-rds-reboot'
  | 'ip-rds-wait';

export type InPlaceExecutor = InPlaceCommandExecutor | InPlaceRdsExecutor;

type Step = PlannedStep<InPlaceExecutor>;

const inPlaceSettingsOf = settingsReader<InPlaceSettings>(IN_PLACE, inPlaceConfigSchema);

/** The target's `inPlace` section. */
export function settingsOf(target: Pick<TargetConfig, 'strategy' | 'settings'>): InPlaceSettings['inPlace'] {
  return inPlaceSettingsOf(target).inPlace;
}

/**
 * The DB snapshot of a run: deterministic, so a retried or resumed CreateDBSnapshot finds the one
 * an earlier attempt made instead of making a second. `cutover-<instance>-<first 8 of the run id>`.
 */
export function snapshotIdOf(instance: string, runId: string): string {
  const suffix = runId
    .replace(/[^a-zA-Z0-9]/g, '')
    .slice(0, 8)
    .toLowerCase();
  return `cutover-${instance}-${suffix}`.replace(/--+/g, '-');
}

/** `DBInstanceClass db.r6g.large, MultiAZ true` */
export function describeChange(rds: InPlaceRds): string {
  if (rds.maintenance) return `pending maintenance action ${rds.maintenance.action} (opt-in immediate)`;
  return Object.entries(rds.modify ?? {})
    .map(([key, value]) => `${key} ${String(value)}`)
    .join(', ');
}

const GATE_WARNING =
  'Approving applies the change now (ApplyImmediately / opt-in immediate): expect the database to be unavailable while RDS applies it (a reboot or a failover). There is no automatic undo; the snapshot is kept for a manual restore.';

function rdsSteps(target: TargetConfig, rds: InPlaceRds): Step[] {
  const change = describeChange(rds);
  const what = rds.maintenance ? 'maintenance' : 'modify';
  return [
    {
      name: 'preflight',
      kind: 'check',
      title: `Preflight: ${rds.instance} available, nothing pending, ${rds.maintenance ? `${rds.maintenance.action} pending` : 'the change is new'}`,
      executor: 'ip-rds-preflight',
    },
    {
      name: 'snapshot',
      kind: 'action',
      title: `DB snapshot of ${rds.instance}`,
      executor: 'ip-rds-snapshot',
    },
    {
      name: 'approve-change',
      kind: 'gate',
      title: `Approve: ${change} on ${rds.instance}, now`,
      destructive: true,
      explain: `apply ${change} to ${rds.instance} (${target.name}) immediately, then wait until RDS shows it applied and the database is healthy`,
      warning: GATE_WARNING,
    },
    {
      name: what,
      kind: 'action',
      title: rds.maintenance
        ? `Apply ${rds.maintenance.action} to ${rds.instance} (ApplyPendingMaintenanceAction, immediate)`
        : `Modify ${rds.instance}: ${change} (ModifyDBInstance, ApplyImmediately)`,
      executor: rds.maintenance ? 'ip-rds-maintenance' : 'ip-rds-modify',
    },
    {
      name: 'wait-applied',
      kind: 'wait',
      title: `Wait until ${rds.instance} is available with the change applied`,
      executor: 'ip-rds-wait',
    },
    ...(rds.reboot
      ? [
          {
            name: 'reboot',
            kind: 'action' as const,
            title: `Reboot ${rds.instance} if its parameter group is pending-reboot (RebootDBInstance), and wait`,
            executor: 'ip-rds-reboot' as const,
          },
        ]
      : []),
  ];
}

/** What the optional verify step checks, in a few words. */
function verifyTitle(verify: InPlaceVerify): string {
  if (verify.sql) {
    const expected =
      verify.sql.equals !== undefined ? `= ${verify.sql.equals}` : `matches /${verify.sql.matches}/`;
    return `Confirm the change took effect: \`${verify.sql.query}\` ${expected}`;
  }
  return 'Confirm the change took effect (verify hook)';
}

function commandSteps(target: TargetConfig, hasSnapshot: boolean): Step[] {
  const steps: Step[] = [
    {
      name: 'preflight',
      kind: 'check',
      title: `Preflight: ${target.name} is healthy before the change`,
      executor: 'ip-preflight',
    },
  ];
  if (hasSnapshot) {
    steps.push({
      name: 'snapshot',
      kind: 'action',
      title: `Snapshot hook for ${target.name}`,
      executor: 'ip-snapshot-hook',
    });
  }
  steps.push(
    {
      name: 'approve-change',
      kind: 'gate',
      title: `Approve: run the change command on ${target.name}, now`,
      destructive: true,
      explain: `run the configured change command for ${target.name}, then wait until its health check passes`,
      warning:
        'The database may be unavailable while the command runs. There is no automatic undo; restore from the snapshot by hand if needed.',
    },
    {
      name: 'command',
      kind: 'action',
      title: `Run the change command on ${target.name}`,
      executor: 'ip-command',
    },
  );
  return steps;
}

export function planInPlace(
  target: TargetConfig,
  { inPlace }: InPlaceSettings = inPlaceSettingsOf(target),
): PlanOf<InPlaceExecutor> {
  const steps = inPlace.rds
    ? rdsSteps(target, inPlace.rds)
    : commandSteps(target, inPlace.snapshot !== undefined);
  steps.push(
    {
      name: 'verify',
      kind: 'wait',
      title: inPlace.health
        ? `Health check of ${target.name}`
        : `Verify ${target.name} (no health check configured)`,
      executor: 'ip-health',
    },
    ...(inPlace.verify
      ? [
          {
            name: 'confirm-change',
            kind: 'check' as const,
            title: verifyTitle(inPlace.verify),
            executor: 'ip-confirm' as const,
          },
        ]
      : []),
    { name: 'report', kind: 'check', title: 'Report', executor: 'ip-report' },
  );
  return {
    strategy: IN_PLACE,
    target: target.name,
    steps,
    warnings: ['No automatic undo: a failed change leaves the snapshot for a manual restore.'],
  };
}
