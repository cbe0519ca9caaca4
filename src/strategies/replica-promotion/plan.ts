// Pure planning: which steps a replica promotion takes for a target, in order.
import type { TargetConfig } from '../../config/types';
import { settingsReader, type PlanOf, type PlannedStep } from '../define';
import { replicaPromotionConfigSchema, type ReplicaPromotionSettings } from './config';

export const STRATEGY_NAME = 'replica-promotion';

/** The executors of a self-managed PostgreSQL promotion (postgres-executors.ts). */
export type PostgresExecutor =
  | 'pg-preflight'
  | 'pg-wait-lag'
  | 'pg-recheck-lag'
  | 'pg-prepare'
  | 'pg-unprepare'
  | 'pg-unfence'
  | 'pg-fence-and-promote'
  | 'pg-rejoin'
  | 'pg-report';

/** RDS read-replica promotion without SQL access, and RDS Blue/Green (rds-executors.ts). */
export type RdsExecutor =
  | 'rds-preflight'
  | 'rds-wait-lag'
  | 'rds-recheck-lag'
  | 'rds-promote'
  | 'rds-wait-promoted'
  | 'bg-preflight'
  | 'bg-switchover'
  | 'bg-wait';

/** RDS read-replica promotion fenced over SQL (rds-fenced.ts). */
export type RdsFencedExecutor = 'rds-prepare' | 'rds-fence-and-promote' | 'rds-unfence' | 'rds-report';

export type ReplicaPromotionExecutor = PostgresExecutor | RdsExecutor | RdsFencedExecutor | 'route';

type StepSpec = PlannedStep<ReplicaPromotionExecutor>;

/**
 * Fence, catch-up and promotion are one step: the write-unavailable window then holds no step
 * dispatch, and its executor resumes by looking at both servers (see postgres-executors.ts).
 */
export const FENCE_AND_PROMOTE_STEP = 'fence-and-promote';

export const NO_WAY_BACK =
  'After promotion there is no automatic way back: the old primary stays fenced (or stopped) until it is re-attached as a standby of the new one.';

/** What the plan says about redundancy after the cutover. */
function redundancyWarning(settings: ReplicaPromotionSettings): string {
  return settings.rejoin
    ? 'The rejoin hook then makes the old primary a standby of the new one; the bot waits until it streams.'
    : 'Redundancy is not restored by the bot: the old primary must be re-attached as a standby (pg_rewind) by a person.';
}

/** What the fence does to the old primary and its clients, for the approval prompt. */
function fenceExplain(settings: ReplicaPromotionSettings): string {
  return settings.postgres?.fence.mode === 'stop'
    ? 'stop the primary with the stop hook (clients get connection errors until traffic is routed)'
    : 'fence the primary (no role but the bot’s and replication may log in; every other session is ended)';
}

export const settingsOf = settingsReader<ReplicaPromotionSettings>(
  STRATEGY_NAME,
  replicaPromotionConfigSchema,
);

function routeStep(settings: ReplicaPromotionSettings): StepSpec[] {
  if (!settings.route) return [];
  return [
    { name: 'route-traffic', kind: 'action', title: 'Route traffic to the new primary', executor: 'route' },
  ];
}

function selfManaged(target: TargetConfig, settings: ReplicaPromotionSettings): StepSpec[] {
  return [
    {
      name: 'preflight',
      kind: 'check',
      title: 'Preflight: primary, standby and replication',
      executor: 'pg-preflight',
    },
    {
      name: 'wait-for-lag',
      kind: 'wait',
      title: 'Wait until replication lag is under the limit',
      executor: 'pg-wait-lag',
    },
    {
      name: 'approve-promotion',
      kind: 'gate',
      title: 'Approve: fence the primary and promote the standby',
      destructive: true,
      explain: `${fenceExplain(settings)} of ${target.name}, wait until the standby has replayed everything, and promote the standby`,
      warning: `${NO_WAY_BACK} ${redundancyWarning(settings)}`,
    },
    { name: 'recheck-lag', kind: 'check', title: 'Re-check lag after approval', executor: 'pg-recheck-lag' },
    {
      name: 'prepare',
      kind: 'check',
      title:
        'Prepare: prepared transactions, sessions the fence cannot stop, the standby’s synchronous standbys',
      executor: 'pg-prepare',
      compensation: {
        executor: 'pg-unprepare',
        title: 'Give the standby its synchronous_standby_names back',
      },
    },
    {
      name: FENCE_AND_PROMOTE_STEP,
      kind: 'action',
      title: `${settings.pgbouncer ? 'Pause PgBouncer, ' : ''}${
        settings.postgres?.fence.mode === 'stop' ? 'stop' : 'fence'
      } the old primary, let the standby replay its last WAL, promote the standby${
        settings.route || settings.pgbouncer ? ', route traffic to it' : ''
      }${settings.pgbouncer ? ', resume' : ''}`,
      executor: 'pg-fence-and-promote',
      // Undone only while the standby is not promoted (the undo refuses otherwise).
      compensation: { executor: 'pg-unfence', title: 'Unfence the old primary' },
      maxRetries: 3,
    },
    // The route hook and PgBouncer's switch run inside fence-and-promote: inside the measured window.
    ...(settings.rejoin
      ? [
          {
            name: 'rejoin',
            kind: 'action' as const,
            title: 'Rejoin the old primary as a standby of the new one (redundancy restored)',
            executor: 'pg-rejoin' as const,
          },
        ]
      : []),
    { name: 'report', kind: 'check', title: 'Report', executor: 'pg-report' },
  ];
}

/** What an RDS promotion without a fence may lose, for the gate and the plan's warnings. */
export function rdsDataLossWarning(settings: ReplicaPromotionSettings): string {
  const rds = settings.rds!;
  const limit = settings.maxLag.seconds ?? 5;
  return (
    `No fence (no SQL access): ${rds.primary} keeps taking writes until traffic is routed, and what ${rds.replica} has not ` +
    `replayed when it stops replicating is lost: about the ReplicaLag at the re-check (under ${limit} s, CloudWatch's ` +
    'one-minute maximum) plus every write made after it. The report gives the reading.'
  );
}

function rdsFenced(target: TargetConfig, settings: ReplicaPromotionSettings): StepSpec[] {
  const rds = settings.rds!;
  return [
    {
      name: 'approve-promotion',
      kind: 'gate',
      title: `Approve: fence ${rds.primary} and promote ${rds.replica}`,
      destructive: true,
      explain:
        `fence the RDS source ${rds.primary} of ${target.name} (its application roles cannot log in, their sessions end), ` +
        `wait until ${rds.replica} has replayed its last WAL, promote ${rds.replica} (PromoteReadReplica) and route traffic ` +
        'once it takes a commit',
      warning:
        'Promotion of an RDS read replica cannot be undone; the replica stops replicating for good. The old source stays fenced: ' +
        'no application role may log in to it any more, nor to its other read replicas (the fence reaches them through WAL).',
    },
    { name: 'recheck-lag', kind: 'check', title: 'Re-check lag after approval', executor: 'rds-recheck-lag' },
    {
      name: 'prepare',
      kind: 'check',
      title: 'Prepare: prepared transactions, sessions the fence cannot stop',
      executor: 'rds-prepare',
    },
    {
      name: FENCE_AND_PROMOTE_STEP,
      kind: 'action',
      title: `Fence ${rds.primary}, let ${rds.replica} replay its last WAL, promote ${rds.replica}${
        settings.route ? ', route traffic to it' : ''
      }`,
      executor: 'rds-fence-and-promote',
      // Undone only while no promotion was requested (the undo refuses otherwise).
      compensation: { executor: 'rds-unfence', title: `Unfence ${rds.primary}` },
      maxRetries: 3,
    },
    { name: 'report', kind: 'check', title: 'Report', executor: 'rds-report' },
  ];
}

function rdsUnfenced(target: TargetConfig, settings: ReplicaPromotionSettings): StepSpec[] {
  const rds = settings.rds!;
  return [
    {
      name: 'approve-promotion',
      kind: 'gate',
      title: `Approve: promote ${rds.replica} without a fence (writes can be lost)`,
      destructive: true,
      // Approving accepts the loss the target allows: the approver types the setting, not just the name.
      confirmPhrase: 'allowDataLoss',
      explain: `promote the RDS read replica ${rds.replica} of ${target.name} to a standalone primary (the instance reboots), accepting data loss`,
      warning: `${rdsDataLossWarning(settings)} Promotion cannot be undone; the replica stops replicating for good.`,
    },
    { name: 'recheck-lag', kind: 'check', title: 'Re-check lag after approval', executor: 'rds-recheck-lag' },
    { name: 'promote-replica', kind: 'action', title: `Promote ${rds.replica}`, executor: 'rds-promote' },
    {
      name: 'wait-available',
      kind: 'wait',
      title: `Wait until ${rds.replica} is standalone and serving`,
      executor: 'rds-wait-promoted',
    },
    ...routeStep(settings),
  ];
}

function rdsReplica(target: TargetConfig, settings: ReplicaPromotionSettings): StepSpec[] {
  const rds = settings.rds!;
  return [
    {
      name: 'preflight',
      kind: 'check',
      title: `Preflight: ${rds.replica} replicates ${rds.primary}`,
      executor: 'rds-preflight',
    },
    {
      name: 'wait-for-lag',
      kind: 'wait',
      title: 'Wait until replica lag is under the limit',
      executor: 'rds-wait-lag',
    },
    ...(rds.sql ? rdsFenced(target, settings) : rdsUnfenced(target, settings)),
  ];
}

function blueGreen(target: TargetConfig, settings: ReplicaPromotionSettings): StepSpec[] {
  const bg = settings.rdsBlueGreen!;
  return [
    {
      name: 'preflight',
      kind: 'check',
      title: `Preflight: ${bg.deployment} is ready`,
      executor: 'bg-preflight',
    },
    {
      name: 'approve-switchover',
      kind: 'gate',
      title: `Approve: switch ${target.name} over to green`,
      destructive: true,
      explain: `switch the Blue/Green deployment ${bg.deployment} over to green`,
      warning:
        'After switchover, blue is renamed and no longer receives writes; going back means a new deployment.',
    },
    { name: 'switchover', kind: 'action', title: 'Switch over', executor: 'bg-switchover' },
    {
      name: 'wait-switchover',
      kind: 'wait',
      title: 'Wait for the switchover to complete',
      executor: 'bg-wait',
    },
    ...routeStep(settings),
  ];
}

export function planReplicaPromotion(
  target: TargetConfig,
  settings: ReplicaPromotionSettings = settingsOf(target),
): PlanOf<ReplicaPromotionExecutor> {
  const steps = settings.postgres
    ? selfManaged(target, settings)
    : settings.rds
      ? rdsReplica(target, settings)
      : blueGreen(target, settings);
  return {
    strategy: STRATEGY_NAME,
    target: target.name,
    steps,
    warnings: settings.postgres
      ? [`${NO_WAY_BACK} ${redundancyWarning(settings)}`]
      : settings.rds && !settings.rds.sql
        ? [NO_WAY_BACK, rdsDataLossWarning(settings)]
        : [NO_WAY_BACK],
  };
}
