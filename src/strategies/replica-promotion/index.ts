// The replica-promotion strategy: keep a standby in sync, fence the old primary, wait until the
// standby has replayed everything, promote it, route traffic to it.
import { resolveSecret } from '../../config/secrets';
import { systemClock, type Clock } from '../../ports/clock';
import type { HookRunner } from '../../ports/hooks';
import type { RdsBlueGreenPort } from '../../ports/rds-blue-green';
import type { ReplicaLagPort } from '../../ports/rds-replica-lag';
import type { RdsReplicaPort } from '../../ports/rds-replicas';
import type { PoolerPort } from '../../ports/pooler';
import type { ReplicationPort } from '../../ports/replication';
import { defineStrategy, type HookUse } from '../define';
import type { Strategy } from '../types';
import { replicaPromotionConfigSchema, type ReplicaPromotionSettings } from './config';
import { planReplicaPromotion, settingsOf, STRATEGY_NAME, type ReplicaPromotionExecutor } from './plan';
import { endpointsOf, postgresExecutors, preflightChecks } from './postgres-executors';
import { rdsExecutors, rdsPreflight } from './rds-executors';
import { rdsFencedExecutors } from './rds-fenced';
import { rdsSqlOf } from './rds-preflight';
import { endpointPlaceholders, endpointVars, routeExecutor } from '../shared/route-hook';

export interface ReplicaPromotionDeps {
  replication: ReplicationPort;
  /** PgBouncer's admin console, for targets with `pgbouncer`. */
  pooler?: PoolerPort;
  rds: RdsReplicaPort & RdsBlueGreenPort & ReplicaLagPort;
  hooks: HookRunner;
  env: NodeJS.ProcessEnv;
  /** Wall time for measured windows (default systemClock); injectable for tests. */
  clock?: Clock;
}

export function createReplicaPromotion(deps: ReplicaPromotionDeps): Strategy {
  const { replication, env } = deps;
  return defineStrategy<ReplicaPromotionSettings, ReplicaPromotionExecutor>({
    name: STRATEGY_NAME,
    planVersion: 1,
    summary: 'promote a standby: fence the primary, wait for zero lag, promote, route traffic',
    configSchema: replicaPromotionConfigSchema,
    plan: planReplicaPromotion,
    executors: {
      ...postgresExecutors({
        replication,
        hooks: deps.hooks,
        env,
        ...(deps.pooler ? { pooler: deps.pooler } : {}),
        ...(deps.clock ? { clock: deps.clock } : {}),
      }),
      ...rdsExecutors({ rds: deps.rds, replication, env }),
      ...rdsFencedExecutors({
        rds: deps.rds,
        replication,
        hooks: deps.hooks,
        env,
        clock: deps.clock ?? systemClock,
      }),
      route: routeExecutor(
        deps.hooks,
        env,
        (ctx) => {
          const postgres = settingsOf(ctx.target).postgres;
          if (!postgres) return {};
          return {
            ...endpointVars('standby', resolveSecret(postgres.standby, env)),
            ...endpointVars('primary', resolveSecret(postgres.primary, env)),
          };
        },
        (ctx) => settingsOf(ctx.target).route,
      ),
    },
    async preflight(target, settings) {
      if (settings.postgres) {
        const { primary, standby } = endpointsOf({ target }, env);
        const run = () => preflightChecks(replication, primary, standby, settings.postgres?.fence);
        return replication.withSessions ? replication.withSessions(run) : run();
      }
      return rdsPreflight({ rds: deps.rds, replication, env }, settings);
    },
    async sampleLag(target, settings) {
      if (settings.postgres) {
        const { primary, standby } = endpointsOf({ target }, env);
        return replication.lag(primary, standby);
      }
      const rdsSql = settings.rds ? rdsSqlOf(settings.rds, env) : null;
      if (rdsSql) return replication.lag(rdsSql.primary, rdsSql.replica);
      if (settings.rds) {
        const seconds = await deps.rds.replicaLagSeconds(settings.rds.region, settings.rds.replica);
        return { bytes: seconds === null ? null : 0, seconds };
      }
      return { bytes: null, seconds: null };
    },
    hooks: hookUses,
    lagLimit(_target, { maxLag }) {
      return {
        ...(maxLag.bytes !== undefined ? { maxBytes: maxLag.bytes } : {}),
        ...(maxLag.seconds !== undefined ? { maxSeconds: maxLag.seconds } : {}),
      };
    },
  });
}

/** What each hook's step fills in (see the hook table in docs/hooks.md). */
function hookUses(settings: ReplicaPromotionSettings): HookUse[] {
  const endpoints = ['target', ...endpointPlaceholders('primary'), ...endpointPlaceholders('standby')];
  const uses: HookUse[] = [];
  if (settings.postgres) {
    const { fence } = settings.postgres;
    if (fence.mode === 'stop') {
      uses.push({
        path: ['postgres', 'fence', 'stop'],
        command: fence.stop.command,
        placeholders: endpoints,
      });
      uses.push({
        path: ['postgres', 'fence', 'start'],
        command: fence.start.command,
        placeholders: endpoints,
      });
    }
    if (settings.rejoin)
      uses.push({ path: ['rejoin'], command: settings.rejoin.command, placeholders: endpoints });
  }
  if (settings.route) {
    // Without SQL access to an RDS pair (or for Blue/Green) the bot has no URL to take a host from.
    const withUrls = settings.postgres !== undefined || settings.rds?.sql !== undefined;
    uses.push({
      path: ['route'],
      command: settings.route.command,
      placeholders: withUrls ? endpoints : ['target'],
    });
  }
  return uses;
}
