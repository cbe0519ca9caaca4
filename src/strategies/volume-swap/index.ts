// The volume-swap strategy: the data stays on its EBS volume; the volume moves to the new server.
import type { TargetConfig } from '../../config/types';
import type { Ec2Port } from '../../ports/ec2';
import type { HealthChecker } from '../../ports/health';
import type { HookRunner } from '../../ports/hooks';
import { routeExecutor } from '../shared/route-hook';
import type { Strategy } from '../types';
import { volumeSwapConfigSchema } from './config';
import { volumeSwapExecutors, volumeSwapPreflight } from './executors';
import { planVolumeSwap, settingsOf, VOLUME_SWAP } from './plan';

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
    summary: 'move an EBS data volume: stop on the old server, detach, attach to the new one, start there',
    configSchema: volumeSwapConfigSchema,
    plan: planVolumeSwap,
    executors: {
      ...volumeSwapExecutors(deps),
      route: routeExecutor(
        deps.hooks,
        deps.env,
        (ctx) => {
          const { volume } = settingsOf(ctx.target);
          return { 'to.instanceId': volume.to.instanceId, volumeId: volume.volumeId, device: volume.device };
        },
        (ctx) => settingsOf(ctx.target).route,
      ),
    },
    preflight: (target: TargetConfig) => volumeSwapPreflight(deps.ec2, settingsOf(target).volume),
  };
}
