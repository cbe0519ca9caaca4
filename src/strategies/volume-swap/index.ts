// The volume-swap strategy: the data stays on its EBS volumes; the volumes move to the new server.
import type { Ec2Port } from '../../ports/ec2';
import type { HealthChecker } from '../../ports/health';
import type { Clock } from '../../ports/clock';
import type { HookRunner } from '../../ports/hooks';
import { routeExecutor } from '../shared/route-hook';
import { defineStrategy, type HookUse } from '../define';
import type { Strategy } from '../types';
import { volumeSwapConfigSchema } from './config';
import { volumeSwapExecutors } from './executors';
import { hookVars } from './hooks';
import type { VolumeSwapSettings } from './config';
import { planVolumeSwap, settingsOf, VOLUME_SWAP, type VolumeSwapExecutor } from './plan';
import { volumeSwapPreflight } from './preflight';
import { SideProbes } from './probes';

export interface VolumeSwapStrategyDeps {
  ec2: Ec2Port;
  health: HealthChecker;
  hooks: HookRunner;
  env: NodeJS.ProcessEnv;
  /** Wall time for the measured write-unavailable window (default systemClock). */
  clock?: Clock;
}

export function createVolumeSwap(deps: VolumeSwapStrategyDeps): Strategy {
  return defineStrategy<VolumeSwapSettings, VolumeSwapExecutor>({
    name: VOLUME_SWAP,
    planVersion: 1,
    summary:
      'move EBS data volumes: stop on the old server, prove it down, detach, attach to the new one, start there',
    configSchema: volumeSwapConfigSchema,
    plan: planVolumeSwap,
    executors: {
      ...volumeSwapExecutors(deps),
      route: routeExecutor(
        deps.hooks,
        deps.env,
        (ctx) => {
          const { volume } = settingsOf(ctx.target);
          const { instanceId: _server, ...vars } = hookVars(volume, volume.to.instanceId);
          return vars;
        },
        (ctx) => settingsOf(ctx.target).route,
      ),
    },
    hooks: hookUses,
    preflight: async (_target, { volume }) =>
      (await volumeSwapPreflight(deps.ec2, new SideProbes(deps.health, deps.env, volume), volume)).checks,
  });
}

/** What each hook's step fills in (see the hook table in docs/hooks.md). */
function hookUses({ volume, route }: VolumeSwapSettings): HookUse[] {
  const onServer = Object.keys(hookVars(volume, volume.from.instanceId));
  const uses: HookUse[] = [];
  for (const key of ['stop', 'start', 'verifyDown'] as const) {
    const config = volume[key];
    if (config && !('ec2' in config))
      uses.push({ path: ['volume', key], command: config.command, placeholders: onServer });
  }
  if (route)
    uses.push({
      path: ['route'],
      command: route.command,
      placeholders: ['target', ...onServer.filter((name) => name !== 'instanceId')],
    });
  return uses;
}
