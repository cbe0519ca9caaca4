// The in-place strategy: change a rarely-updated database where it stands, inside a window, after a
// snapshot. RDS (ModifyDBInstance or a pending maintenance action) or a self-managed command.
import { systemClock, type Clock } from '../../ports/clock';
import type { HealthChecker } from '../../ports/health';
import type { HookRunner } from '../../ports/hooks';
import type { RdsMaintenancePort } from '../../ports/rds-maintenance';
import type { ReplicationPort } from '../../ports/replication';
import { defineStrategy, type HookUse } from '../define';
import type { Strategy } from '../types';
import { inPlaceConfigSchema, type InPlaceSettings } from './config';
import { inPlaceCommandPreflight, inPlaceExecutors } from './executors';
import { IN_PLACE, planInPlace, type InPlaceExecutor } from './plan';
import { inPlaceRdsExecutors, inPlaceRdsPreflight } from './rds-executors';

export interface InPlaceStrategyDeps {
  rds: RdsMaintenancePort;
  health: HealthChecker;
  hooks: HookRunner;
  env: NodeJS.ProcessEnv;
  /** Runs a `verify.sql` query (the builtin strategies pass the PostgreSQL port). */
  replication?: Pick<ReplicationPort, 'queryValue'>;
  /** Wall time for the measured write-unavailable window (default systemClock). */
  clock?: Clock;
}

export function createInPlace(deps: InPlaceStrategyDeps): Strategy {
  const clock = deps.clock ?? systemClock;
  return defineStrategy<InPlaceSettings, InPlaceExecutor>({
    name: IN_PLACE,
    planVersion: 1,
    summary:
      'change the database where it stands (RDS ModifyDBInstance, a maintenance action, or a command), after a snapshot',
    configSchema: inPlaceConfigSchema,
    plan: planInPlace,
    executors: {
      ...inPlaceExecutors({
        health: deps.health,
        hooks: deps.hooks,
        env: deps.env,
        clock,
        ...(deps.replication ? { replication: deps.replication } : {}),
      }),
      ...inPlaceRdsExecutors({ rds: deps.rds, clock }),
    },
    hooks: hookUses,
    preflight: (_target, { inPlace }) =>
      inPlace.rds ? inPlaceRdsPreflight(deps.rds, inPlace.rds) : inPlaceCommandPreflight(deps, inPlace),
  });
}

/** Every in-place hook gets `{target}` (see the hook table in docs/hooks.md). */
function hookUses({ inPlace }: InPlaceSettings): HookUse[] {
  const placeholders = ['target'];
  const uses: HookUse[] = [];
  if (inPlace.snapshot)
    uses.push({ path: ['inPlace', 'snapshot'], command: inPlace.snapshot.command, placeholders });
  if (inPlace.command)
    uses.push({ path: ['inPlace', 'command'], command: inPlace.command.command, placeholders });
  if (inPlace.verify?.hook)
    uses.push({ path: ['inPlace', 'verify', 'hook'], command: inPlace.verify.hook.command, placeholders });
  return uses;
}
