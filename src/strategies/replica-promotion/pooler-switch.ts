// PgBouncer in front of the primary, as the fence-and-promote step drives it: PAUSE every instance
// before the fence (clients then wait instead of failing), and once the new primary takes commits,
// RELOAD (the route hook has repointed it), RESUME and prove a commit through each instance. Any
// failure after the PAUSE ends with a RESUME: clients are never left paused by the bot, and no gate
// waits for a person while they are. A probe per instance writes through it the whole time, so the
// report can say what a client saw: its longest stall and its errors.
import { resolveSecret } from '../../config/secrets';
import { needsHuman, retryable } from '../../engine/failures';
import type { Clock } from '../../ports/clock';
import type { ClientFigures, PoolerPort, WriteProbe } from '../../ports/pooler';
import type { StepContext } from '../types';
import type { PgBouncerSettings } from './config';
import { progressJson, type FenceProgress, type PoolerRecord } from './fence-modes';

export interface PoolerSwitch {
  /** Records that it pauses, then PAUSEs every instance; needs-human (all resumed) when one cannot. */
  pause(ctx: StepContext, progress: FenceProgress): Promise<FenceProgress>;
  /** Starts the probes of this attempt (the PAUSE of an earlier attempt may still hold). */
  startProbes(runId: string): void;
  /** Stops this attempt's probes; their figures are added to the progress. */
  stopProbes(progress: FenceProgress): Promise<FenceProgress>;
  /** RESUMEs every instance, whatever happened; what could not be resumed is in the result. */
  release(progress: FenceProgress): Promise<FenceProgress>;
  /** After the new primary takes commits (and the route hook ran): RELOAD, RESUME, commit through each. */
  switchOver(progress: FenceProgress): Promise<FenceProgress>;
}

interface Instance {
  admin: string;
  client: string | null;
}

/** The pooler part of the step's progress. */
export function poolerProgress(progress: FenceProgress): PoolerRecord {
  return progress.pgbouncer ?? {};
}

function withPooler(progress: FenceProgress, patch: PoolerRecord): FenceProgress {
  return { ...progress, pgbouncer: { ...poolerProgress(progress), ...patch } };
}

function merge(a: ClientFigures | undefined, b: ClientFigures): ClientFigures {
  if (!a) return b;
  const errorKinds = { ...a.errorKinds };
  for (const [kind, count] of Object.entries(b.errorKinds))
    errorKinds[kind] = (errorKinds[kind] ?? 0) + count;
  return {
    writes: a.writes + b.writes,
    errors: a.errors + b.errors,
    longestStallMs: Math.max(a.longestStallMs, b.longestStallMs),
    errorKinds,
  };
}

export function poolerSwitch(
  settings: PgBouncerSettings,
  deps: {
    pooler: PoolerPort;
    env: NodeJS.ProcessEnv;
    clock: Clock;
    verify: (url: string) => Promise<void>;
  },
): PoolerSwitch {
  const { pooler, env, clock } = deps;
  const instances = (): Instance[] =>
    settings.instances.map((instance) => ({
      admin: resolveSecret(instance.admin, env),
      client: instance.client ? resolveSecret(instance.client, env) : null,
    }));
  let probes: WriteProbe[] = [];

  const resumeAll = async (): Promise<string[]> => {
    const failures: string[] = [];
    await Promise.all(
      instances().map((instance, index) =>
        pooler.resume(instance.admin, settings.databases).catch((error: Error) => {
          failures.push(`PgBouncer #${index + 1}: ${error.message}`);
        }),
      ),
    );
    return failures;
  };

  const self: PoolerSwitch = {
    async pause(ctx, progress) {
      const pausedAtMs = poolerProgress(progress).pausedAtMs ?? clock.now().getTime();
      // Durable before the PAUSE: a later attempt or the undo knows clients may be paused.
      let current = withPooler(progress, { paused: true, pausedAtMs });
      await ctx.saveProgress(progressJson(current));
      self.startProbes(ctx.run.id);
      try {
        await Promise.all(
          instances().map((instance) =>
            pooler.pause(instance.admin, settings.databases, settings.pauseTimeout),
          ),
        );
      } catch (error) {
        current = await self.stopProbes(await self.release(current));
        await ctx.saveProgress(progressJson(current)).catch(() => undefined);
        throw needsHuman(
          `${(error as Error).message}. Nothing is fenced and every PgBouncer is resumed. ` +
            'Let the long transactions finish (in session pooling, PAUSE waits for clients to disconnect), then retry, or abort.',
          { detail: { decision: 'pause_timeout' } },
        );
      }
      return current;
    },

    startProbes(runId) {
      probes = instances()
        .filter((instance): instance is Instance & { client: string } => instance.client !== null)
        .map((instance) => pooler.startWriteProbe(instance.client, runId));
    },

    async stopProbes(progress) {
      const stopped = await Promise.all(probes.splice(0).map((probe) => probe.stop()));
      let figures = poolerProgress(progress).figures;
      for (const seen of stopped) figures = merge(figures, seen);
      return figures ? withPooler(progress, { figures }) : progress;
    },

    async release(progress) {
      const failures = await resumeAll();
      return withPooler(progress, {
        paused: failures.length > 0,
        resumedAtMs: clock.now().getTime(),
        ...(failures.length > 0 ? { resumeFailures: failures } : {}),
      });
    },

    async switchOver(progress) {
      try {
        await Promise.all(instances().map((instance) => pooler.reload(instance.admin)));
      } catch (error) {
        const released = await self.release(progress);
        throw needsHuman(
          `could not RELOAD PgBouncer after the route hook (${(error as Error).message}); every PgBouncer is resumed, ` +
            'and may still point at the old primary, which takes no writes. Check its configuration, then retry.',
          { detail: { decision: 'pooler_reload', resumed: !poolerProgress(released).paused } },
        );
      }
      const current = await self.release(progress);
      const failures = poolerProgress(current).resumeFailures ?? [];
      if (failures.length > 0) throw retryable(`could not RESUME: ${failures.join('; ')}`);
      // A committed write through every instance: the route works as clients use it.
      for (const instance of instances()) {
        if (instance.client === null) continue;
        try {
          await deps.verify(instance.client);
        } catch (error) {
          throw needsHuman(
            `a commit through PgBouncer did not complete after the switch (${(error as Error).message}): clients may not reach the new primary. ` +
              'Check the route, then retry. The old primary stays fenced.',
            { detail: { decision: 'route_verify' } },
          );
        }
      }
      return withPooler(current, { verifiedAtMs: clock.now().getTime() });
    },
  };
  return self;
}
