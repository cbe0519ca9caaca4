// The stop and start of one server of a volume swap (its hook, or the instance itself) and the
// proof that its database is down, shared by the steps and their undos.
import { fatal } from '../../engine/failures';
import type { Clock } from '../../ports/clock';
import type { Ec2Port } from '../../ports/ec2';
import type { HealthChecker } from '../../ports/health';
import type { HookRunner } from '../../ports/hooks';
import type { StepContext } from '../types';
import { isEc2Power, type PowerConfig, type SwapVolume } from './config';
import { powerInstance } from './ec2-steps';
import { awsFailure } from '../shared/aws-failure';
import { runHookOn } from './hooks';
import { settingsOf } from './plan';
import type { DownProof, Side, SideProbes } from './probes';

export interface VolumeSwapDeps {
  ec2: Ec2Port;
  health: HealthChecker;
  hooks: HookRunner;
  env: NodeJS.ProcessEnv;
  /** Wall time for the measured write-unavailable window (default systemClock). */
  clock?: Clock;
}

export function volumeOf(ctx: Pick<StepContext, 'target'>): SwapVolume {
  return settingsOf(ctx.target).volume;
}

/** The Clock's now (timeouts are decisions, so testable). */
export function clockMs(ctx: StepContext): number {
  return ctx.clock.now().getTime();
}

/** The stop and start of one server: its hook, or the instance itself. */
export interface SidePower {
  /** Runs the hook, or asks EC2 to bring the instance to the state; `failure` for a hook that fails. */
  request(side: Side, power: PowerConfig, failure: (summary: string) => Error): Promise<void>;
  /** Proves the database down on `side`; with an EC2 stop the instance must show `stopped` first. */
  proveDown(side: Side): Promise<DownProof & { instance: string }>;
  /** Whether the instance runs (always, for a hook start: the server is not stopped then). */
  running(side: Side, power: PowerConfig): Promise<boolean>;
}

export function sidePower(deps: VolumeSwapDeps, volume: SwapVolume, probes: SideProbes): SidePower {
  const { ec2, hooks, env } = deps;
  const instanceState = async (side: Side): Promise<string> => {
    const instance = await ec2.describeInstance(volume.region, volume[side].instanceId).catch(awsFailure);
    if (!instance) throw fatal(`instance ${volume[side].instanceId} not found`);
    return instance.state;
  };
  return {
    async request(side, power, failure) {
      const instanceId = volume[side].instanceId;
      if (isEc2Power(power)) {
        await powerInstance(
          ec2,
          volume.region,
          instanceId,
          power.ec2 === 'stopInstance' ? 'stopped' : 'running',
        );
        return;
      }
      const outcome = await runHookOn(hooks, env, power, volume, instanceId);
      if (!outcome.ok) throw failure(outcome.summary);
    },
    async proveDown(side) {
      if (!isEc2Power(volume.stop)) return { ...(await probes.proveDown(side, false)), instance: 'running' };
      const state = await instanceState(side);
      if (state !== 'stopped') return { down: false, last: await probes.check(side), instance: state };
      return { ...(await probes.proveDown(side, true)), instance: state };
    },
    async running(side, power) {
      return !isEc2Power(power) || (await instanceState(side)) === 'running';
    },
  };
}

/** `start` undoes `stop`: an EC2 stop is undone by an EC2 start, a stop hook by the start hook. */
export function startPowerFor(volume: SwapVolume): PowerConfig {
  return isEc2Power(volume.stop) ? { ec2: 'startInstance' } : volume.start;
}
