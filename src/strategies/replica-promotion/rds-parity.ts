// Pure: what the promoted replica will be beside its source (instance class, engine version,
// Multi-AZ, backups, deletion protection, parameter group), and what happens to the instances that
// replicate either of them. Shown before the approval; a difference is a warning, never a refusal:
// people may promote a smaller replica on purpose.
import type { ReplicaDescription } from '../../ports/rds-replicas';
import { sameDbInstance } from './rds-decisions';

export interface ParityRow {
  setting: string;
  source: string;
  replica: string;
  /** Why a difference matters once the replica is the primary. */
  consequence: string;
}

type Shown = string | number | boolean | undefined;

function shown(value: Shown, unit = ''): string {
  if (value === undefined) return 'unknown';
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  return `${value}${unit}`;
}

/** The settings that differ (or that RDS did not report for one side), with their consequence. */
export function parityDifferences(source: ReplicaDescription, replica: ReplicaDescription): ParityRow[] {
  const rows: [string, Shown, Shown, string, string?][] = [
    [
      'instance class',
      source.instanceClass,
      replica.instanceClass,
      'the new primary runs on the replica’s class',
    ],
    [
      'engine version',
      source.engineVersion,
      replica.engineVersion,
      'the new primary runs the replica’s version',
    ],
    [
      'Multi-AZ',
      source.multiAZ,
      replica.multiAZ,
      'the new primary has no standby in another zone until it is modified to Multi-AZ',
    ],
    [
      'backup retention',
      source.backupRetentionPeriod,
      replica.backupRetentionPeriod,
      'PromoteReadReplica keeps 1 day of automated backups unless it is set afterwards',
      ' days',
    ],
    [
      'deletion protection',
      source.deletionProtection,
      replica.deletionProtection,
      'the new primary can be deleted by mistake until deletion protection is turned on',
    ],
    [
      'parameter group',
      source.parameterGroup,
      replica.parameterGroup,
      'the new primary keeps the replica’s parameters',
    ],
  ];
  return rows
    .filter(([, a, b]) => a === undefined || b === undefined || a !== b)
    .map(([setting, a, b, consequence, unit]) => ({
      setting,
      source: shown(a, unit),
      replica: shown(b, unit),
      consequence,
    }));
}

/** "instance class: source db.r6g.large, replica db.t3.medium (the new primary ...)" per difference. */
export function parityWarnings(rows: readonly ParityRow[], sourceId: string, replicaId: string): string[] {
  return rows.map(
    (row) => `${row.setting}: ${sourceId} ${row.source}, ${replicaId} ${row.replica} (${row.consequence})`,
  );
}

/** One line for the preflight: every compared setting the same, or how many differ. */
export function paritySummary(rows: readonly ParityRow[]): string {
  return rows.length === 0
    ? 'the replica matches its source: instance class, engine version, Multi-AZ, backup retention, deletion protection, parameter group'
    : `${rows.length} setting(s) differ: ${rows.map((row) => row.setting).join(', ')}`;
}

/**
 * What happens to the other instances replicating the source (they keep following the old source,
 * and with a fence they get its locked logins through WAL) and to the replica's own replicas.
 */
export function otherReplicaWarnings(
  source: ReplicaDescription | null,
  replica: ReplicaDescription,
  options: { fenced: boolean },
): string[] {
  const warnings: string[] = [];
  const siblings = (source?.replicaIds ?? []).filter((id) => !sameDbInstance(id, replica.id));
  if (siblings.length > 0) {
    warnings.push(
      `${siblings.join(', ')} also replicate${siblings.length === 1 ? 's' : ''} ${source?.id ?? 'the source'}: ` +
        'they keep following the old source (RDS cannot re-point a read replica)' +
        (options.fenced
          ? ', get its fence through WAL (no application role can log in to them afterwards)'
          : ', and stop receiving writes once clients move') +
        '; recreate them as replicas of the new primary',
    );
  }
  if (replica.replicaIds.length > 0) {
    warnings.push(
      `${replica.replicaIds.join(', ')} replicate${replica.replicaIds.length === 1 ? 's' : ''} ${replica.id}: ` +
        'they go on replicating it as the new primary',
    );
  }
  return warnings;
}
