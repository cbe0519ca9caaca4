// Describe-then-act decisions of an in-place RDS change. Pure functions of what the RdsPort reports:
// is the change valid now, has it been asked for already, is it applied.
import type {
  RdsEvent,
  InstanceModification,
  InstanceSettingsDescription,
  ModifiableKey,
  ModifiableValues,
  PendingMaintenanceAction,
} from '../../ports/rds-maintenance';
import { MODIFIABLE_KEYS } from './config';

export interface Verdict {
  /** Reasons not to go on; empty means go. */
  blockers: string[];
  /** Worth showing, not a reason to stop. */
  warnings: string[];
}

/** Statuses in which the instance serves and a change counts as applied (storage keeps optimizing). */
const SERVING = new Set(['available', 'storage-optimization']);

function requested(modify: InstanceModification): [ModifiableKey, string | number | boolean][] {
  return MODIFIABLE_KEYS.flatMap((key) => {
    const value = modify[key];
    return value === undefined ? [] : [[key, value] as [ModifiableKey, string | number | boolean]];
  });
}

/** `16.4` → [16, 4]; a suffix such as `-R1` is ignored for the direction. */
function versionParts(version: string): number[] {
  return version
    .split(/[.-]/)
    .map((part) => Number.parseInt(part, 10))
    .filter(Number.isFinite);
}

function compareVersions(a: string, b: string): number {
  const left = versionParts(a);
  const right = versionParts(b);
  for (let i = 0; i < Math.max(left.length, right.length); i += 1) {
    const diff = (left[i] ?? 0) - (right[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** The major version as RDS counts it: `16` for PostgreSQL 16.x, `8.0` for MySQL 8.0.x. */
function majorOf(version: string, engine: string | null): string {
  const parts = version.split('.');
  const major = engine !== null && /postgres/.test(engine) && Number(parts[0]) >= 10 ? 1 : 2;
  return parts.slice(0, major).join('.');
}

function pendingText(instance: InstanceSettingsDescription): string {
  const keys = Object.keys(instance.pending);
  return keys.length > 0 ? keys.join(', ') : 'see PendingModifiedValues';
}

/** The instance exists, is available and has nothing pending: the common part of both preflights. */
export function instanceReady(instance: InstanceSettingsDescription | null, id: string): Verdict {
  if (instance === null) return { blockers: [`${id} does not exist`], warnings: [] };
  const blockers: string[] = [];
  const warnings: string[] = [];
  if (instance.status !== 'available') blockers.push(`${id} is ${instance.status}, not available`);
  if (instance.pendingModifications) {
    blockers.push(
      `${id} already has pending modifications (${pendingText(instance)}): apply or cancel them first, so this run changes only what it says`,
    );
  }
  if (instance.parameterApplyStatus === 'pending-reboot') {
    warnings.push(`${id}'s parameter group is pending a reboot from an earlier change`);
  }
  return { blockers, warnings };
}

/**
 * Is the modification valid now? Available, nothing pending, at least one value differs, storage
 * does not shrink (and grows by RDS's 10 % minimum), the engine version goes up along a valid
 * upgrade path (`upgradeTargets`: DescribeDBEngineVersions; null when RDS did not say).
 */
export function modifyPreflight(
  instance: InstanceSettingsDescription | null,
  id: string,
  modify: InstanceModification,
  upgradeTargets: string[] | null,
): Verdict & { changes: ModifiableKey[] } {
  const verdict = instanceReady(instance, id);
  if (instance === null) return { ...verdict, changes: [] };
  const { blockers, warnings } = verdict;
  const changes: ModifiableKey[] = [];
  for (const [key, value] of requested(modify)) {
    const current = instance.current[key];
    if (current === value) warnings.push(`${key} is already ${String(value)}`);
    else changes.push(key);
  }
  if (changes.length === 0) {
    blockers.push(`nothing to change: ${id} already has ${describeValues(modify)}`);
  }
  const storage = modify.AllocatedStorage;
  const currentStorage = instance.current.AllocatedStorage;
  if (storage !== undefined && currentStorage !== undefined && storage !== currentStorage) {
    if (storage < currentStorage) {
      blockers.push(`AllocatedStorage ${storage} GiB < ${currentStorage} GiB: RDS storage cannot shrink`);
    } else if (storage < Math.ceil((currentStorage * 11) / 10)) {
      blockers.push(
        `AllocatedStorage ${storage} GiB grows ${currentStorage} GiB by less than the 10 % RDS requires (at least ${Math.ceil((currentStorage * 11) / 10)} GiB)`,
      );
    }
  }
  const version = modify.EngineVersion;
  const currentVersion = instance.current.EngineVersion;
  if (version !== undefined && currentVersion !== undefined && version !== currentVersion) {
    blockers.push(...engineVersionBlockers(instance, currentVersion, version, modify, upgradeTargets));
  }
  return { blockers, warnings, changes };
}

function engineVersionBlockers(
  instance: InstanceSettingsDescription,
  from: string,
  to: string,
  modify: InstanceModification,
  upgradeTargets: string[] | null,
): string[] {
  if (compareVersions(to, from) < 0) return [`EngineVersion ${to} < ${from}: RDS cannot downgrade an engine`];
  const major = majorOf(to, instance.engine) !== majorOf(from, instance.engine);
  const blockers: string[] = [];
  if (major && modify.AllowMajorVersionUpgrade !== true) {
    blockers.push(
      `${from} → ${to} is a major version upgrade: set AllowMajorVersionUpgrade: true to mean it`,
    );
  }
  if (upgradeTargets !== null && !upgradeTargets.includes(to)) {
    const shown = upgradeTargets.slice(0, 8).join(', ') || 'none';
    blockers.push(`${to} is not a valid upgrade target from ${from} (RDS lists: ${shown})`);
  }
  return blockers;
}

export function describeValues(values: ModifiableValues): string {
  return requested(values)
    .map(([key, value]) => `${key} ${String(value)}`)
    .join(', ');
}

/** Requested values the instance does not show yet, and requested keys RDS holds as pending. */
export function modifyProgress(
  instance: InstanceSettingsDescription,
  modify: InstanceModification,
): { missing: ModifiableKey[]; pending: ModifiableKey[] } {
  const missing: ModifiableKey[] = [];
  const pending: ModifiableKey[] = [];
  for (const [key, value] of requested(modify)) {
    if (instance.current[key] !== value) missing.push(key);
    if (instance.pending[key] !== undefined) pending.push(key);
  }
  if (modify.DBParameterGroupName !== undefined && instance.parameterApplyStatus === 'applying') {
    pending.push('DBParameterGroupName');
  }
  return { missing, pending };
}

/** Applied and settled: serving, nothing of ours pending, every requested value visible. */
export function modifyApplied(instance: InstanceSettingsDescription, modify: InstanceModification): boolean {
  const progress = modifyProgress(instance, modify);
  return SERVING.has(instance.status) && progress.missing.length === 0 && progress.pending.length === 0;
}

/** What a change step does after describing: send the request, or why not. */
export type ChangeDecision<Send extends object = object> =
  | ({ action: 'send' } & Send)
  | { action: 'skip'; reason: 'already_applied' }
  /** Asked for already (RDS is on it, or an earlier attempt may have sent it): do not send; wait. */
  | { action: 'wait'; reason: 'in_progress'; status: string }
  /** Busy with something else (backing-up, ...): not yet. */
  | { action: 'later'; status: string }
  | { action: 'refuse'; reason: 'not_found' };

/**
 * `previouslyAttempted`: an earlier attempt of the step may have sent ModifyDBInstance (its worker
 * died, or the answer was lost). Then it is never sent again: RDS may show the old values for a
 * while after accepting it.
 */
export function decideModify(
  instance: InstanceSettingsDescription | null,
  modify: InstanceModification,
  previouslyAttempted: boolean,
): ChangeDecision {
  if (instance === null) return { action: 'refuse', reason: 'not_found' };
  if (modifyApplied(instance, modify)) return { action: 'skip', reason: 'already_applied' };
  const progress = modifyProgress(instance, modify);
  if (previouslyAttempted || progress.pending.length > 0 || progress.missing.length === 0) {
    return { action: 'wait', reason: 'in_progress', status: instance.status };
  }
  if (instance.status !== 'available') return { action: 'later', status: instance.status };
  return { action: 'send' };
}

/** The pending action named `action`, if RDS lists it. */
export function findAction(
  actions: readonly PendingMaintenanceAction[],
  action: string,
): PendingMaintenanceAction | undefined {
  return actions.find((candidate) => candidate.action === action);
}

export function maintenancePreflight(
  instance: InstanceSettingsDescription | null,
  id: string,
  actions: readonly PendingMaintenanceAction[],
  action: string,
): Verdict {
  const verdict = instanceReady(instance, id);
  const found = findAction(actions, action);
  if (found === undefined) {
    const listed = actions.map((candidate) => candidate.action).join(', ') || 'none';
    verdict.blockers.push(`no pending ${action} for ${id}: nothing to apply (pending actions: ${listed})`);
  } else if (found.optInStatus === 'immediate') {
    verdict.blockers.push(`${action} on ${id} is already opted in (immediate): RDS is applying it`);
  } else if (found.description !== null) {
    verdict.warnings.push(`${action}: ${found.description}`);
  }
  return verdict;
}

export function decideMaintenance(
  instance: InstanceSettingsDescription | null,
  actions: readonly PendingMaintenanceAction[],
  action: string,
  previouslyAttempted: boolean,
): ChangeDecision<{ resourceArn: string }> {
  if (instance === null) return { action: 'refuse', reason: 'not_found' };
  const found = findAction(actions, action);
  if (found === undefined) return { action: 'skip', reason: 'already_applied' };
  if (previouslyAttempted || found.optInStatus === 'immediate') {
    return { action: 'wait', reason: 'in_progress', status: instance.status };
  }
  if (instance.status !== 'available') return { action: 'later', status: instance.status };
  return { action: 'send', resourceArn: found.resourceArn || instance.arn || instance.id };
}

/** Applied: serving, the action no longer pending, nothing else pending. */
export function maintenanceApplied(
  instance: InstanceSettingsDescription,
  actions: readonly PendingMaintenanceAction[],
  action: string,
): boolean {
  return (
    SERVING.has(instance.status) &&
    !instance.pendingModifications &&
    findAction(actions, action) === undefined
  );
}

/** Statuses an instance does not leave by itself. */
export const FAILED_STATUSES: ReadonlySet<string> = new Set([
  'failed',
  'incompatible-parameters',
  'incompatible-restore',
  'incompatible-option-group',
  'incompatible-network',
  'storage-full',
  'deleting',
  'deleted',
]);

/**
 * An engine upgrade that is not going to happen: RDS serves again on the old version with nothing
 * pending (its pre-upgrade check failed). Waiting on would only run into modifyTimeout.
 */
export function upgradeNotHappening(
  instance: InstanceSettingsDescription,
  modify: InstanceModification,
): boolean {
  const version = modify.EngineVersion;
  return (
    version !== undefined &&
    SERVING.has(instance.status) &&
    instance.current.EngineVersion !== version &&
    instance.pending.EngineVersion === undefined
  );
}

/** The newest RDS event that says an upgrade failed (its pre-upgrade check, say), if any. */
export function upgradeFailure(events: readonly RdsEvent[]): RdsEvent | undefined {
  return [...events]
    .reverse()
    .find(
      (event) =>
        /upgrad|pre-?check/i.test(event.message) &&
        /fail|cannot|could not|unable|incompatib/i.test(event.message),
    );
}

/** What the reboot step does after describing the instance. */
export type RebootDecision =
  | { action: 'send' }
  /** Nothing waits for a reboot (the parameter group is in sync): no reboot. */
  | { action: 'skip' }
  /** Rebooting, or the request may not show yet: look again. */
  | { action: 'wait'; status: string }
  /** Rebooted: available, the parameter group in sync. */
  | { action: 'done' }
  /** Busy with something else before any reboot was asked for. */
  | { action: 'later'; status: string }
  | { action: 'refuse' };

/** `requested`: a reboot was (perhaps) asked for already; it is never asked for twice. */
export function decideReboot(
  instance: InstanceSettingsDescription | null,
  requested: boolean,
): RebootDecision {
  if (instance === null) return { action: 'refuse' };
  const pending = instance.parameterApplyStatus === 'pending-reboot';
  if (requested) {
    return instance.status === 'available' && !pending
      ? { action: 'done' }
      : { action: 'wait', status: instance.status };
  }
  if (!pending) return { action: 'skip' };
  if (instance.status !== 'available') return { action: 'later', status: instance.status };
  return { action: 'send' };
}
