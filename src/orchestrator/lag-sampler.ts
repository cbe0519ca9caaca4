// Samples replication lag of every active run whose strategy can measure it, stores the sample
// (the progress message's sparkline and ETA read them back) and tells observers.
import type { TargetConfig } from '../config/types';
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { RunStore } from '../ports/run-store';
import type { StrategyRegistry } from '../strategies/types';
import type { RunService } from './run-service';

export class LagSampler {
  constructor(
    private readonly deps: {
      store: RunStore;
      runs: RunService;
      strategies: StrategyRegistry;
      findTarget(name: string): TargetConfig | undefined;
      clock: Clock;
      log: Logger;
    },
  ) {}

  async sampleOnce(): Promise<number> {
    const active = await this.deps.store.listActiveRuns();
    let sampled = 0;
    await Promise.all(
      active.map(async (run) => {
        const strategy = this.deps.strategies.get(run.strategy);
        const target = this.deps.findTarget(run.target);
        if (!strategy?.sampleLag || !target) return;
        try {
          const lag = await strategy.sampleLag(target);
          await this.deps.store.recordLagSample({
            runId: run.id,
            at: this.deps.clock.now().toISOString(),
            bytes: lag.bytes,
            seconds: lag.seconds,
            ...(lag.laggingReplicas === undefined ? {} : { laggingReplicas: lag.laggingReplicas }),
          });
          sampled += 1;
          this.deps.runs.notify(run, 'lag_sample');
        } catch (error) {
          this.deps.log.debug({ runId: run.id, err: error }, 'lag sample failed');
        }
      }),
    );
    return sampled;
  }
}
