// The volume-swap strategy: the data stays on its EBS volumes; the volumes move to the new server.
import type { TargetConfig } from '../../config/types';
import type { Ec2Port } from '../../ports/ec2';
import type { HealthChecker } from '../../ports/health';
import type { HookRunner } from '../../ports/hooks';
import { routeExecutor } from '../shared/route-hook';
import type { Strategy } from '../types';
import { volumeSwapConfigSchema } from './config';
import { volumeSwapExecutors } from './executors';
import { hookVars } from './hooks';
import { planVolumeSwap, settingsOf, VOLUME_SWAP } from './plan';
import { volumeSwapPreflight } from './preflight';
import { SideProbes } from './probes';

export interface VolumeSwapStrategyDeps {
  ec2: Ec2Port;
  health: HealthChecker;
  hooks: HookRunner;
  env: NodeJS.ProcessEnv;
  nowMs?: () => number;
}

export function createVolumeSwap(deps: VolumeSwapStrategyDeps): Strategy {
  return {
    name: VOLUME_SWAP,
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
    preflight: async (target: TargetConfig) => {
      const { volume } = settingsOf(target);
      return (await volumeSwapPreflight(deps.ec2, new SideProbes(deps.health, deps.env, volume), volume))
        .checks;
    },
  };
}
