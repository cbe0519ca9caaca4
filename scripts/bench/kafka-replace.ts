// Figure 6: the time to replace one Kafka broker, from the start of its replace hook until the
// broker counts as recovered: back as a member, in the ISR of every partition it holds, the
// cluster fully replicated, and that reading held for `healthyFor` (3 s: the test cluster's
// broker.session.timeout.ms) over at least three readings. Real Kafka 4.4 brokers
// (test/support/services/kafka-cluster.ts, one controller and three brokers), an empty disk each time (the
// broker re-replicates about 1 MB a partition), a light acks=all producer throughout.
//
// Bot: the real rolling-replace strategy in the real runtime, one broker per run; the time is from
// the replace step's record of the hook's start (replaceStartedAtMs, saved right before the hook)
// to the end of the recover step. Script: a minimal one doing the same steps with the same
// adapter and poll interval: read the cluster, run the same hook while watching for the broker to
// leave, then read every 200 ms until it is back holding everything and fully replicated, and keep
// reading until that has held for 3 s. Rounds alternate bot and script and take the brokers in
// turn; each starts from a fully replicated cluster with the leaders on their preferred replicas.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { KafkaWireAdmin } from '../../src/adapters/clusters/kafka-admin';
import { KafkaClusterHealth } from '../../src/adapters/clusters/kafka-health';
import { ProcessHookRunner } from '../../src/adapters/hooks/process-hook-runner';
import type { Run } from '../../src/engine/types';
import { clusterHealthFor } from '../../src/main/adapters';
import type { ClusterHealth } from '../../src/ports/cluster-health';
import { createRollingReplace } from '../../src/strategies/rolling-replace';
import {
  createTopics,
  kafkaNodeCtlHook,
  produceBulk,
  startKafkaCluster,
  startProducerLoad,
  type KafkaCluster,
} from '../../test/support/services/kafka-cluster';
import { APPROVER, REQUESTER, sleep, startBenchBotFor, summarize, whileOpen, type BenchBot } from './common';
import type { FigureOptions, Row } from './common';

const CHANNEL = 'C0BENCHKAFKA';
const TOPIC = 'orders';
const POLL_MS = 200;
const HEALTHY_FOR_MS = 3_000;
const HEALTHY_READINGS = 3;
const BROKERS = ['1', '2', '3'];
const run = promisify(execFile);

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function gone(health: ClusterHealth, broker: string): boolean {
  const node = health.nodes?.find((reading) => reading.id === broker);
  return !node || node.incarnation === null || !node.holdsAll;
}

/** The minimal script: the bot's steps in a straight line. Returns [hook start, recovered]. */
async function scriptReplace(
  health: KafkaClusterHealth,
  hook: { command: string[]; cwd: string; env?: Record<string, string> },
  broker: string,
): Promise<{ t0: number; t1: number }> {
  if (!(await health.health()).fullyReplicated) throw new Error('not fully replicated before the script');
  let left = false;
  let hookDone = false;
  const watch = (async () => {
    while (!hookDone && !left) {
      const reading = await health.health().catch(() => null);
      left = reading !== null && gone(reading, broker);
      if (!left) await sleep(250);
    }
  })();
  const [program, ...args] = hook.command.map((arg) => arg.replace('{node}', broker));
  const t0 = Date.now();
  await run(program!, args, { cwd: hook.cwd, env: { ...process.env, ...hook.env } });
  hookDone = true;
  await watch;
  let readings = 0;
  let since = 0;
  for (;;) {
    const reading = await health.health().catch(() => null);
    const node = reading?.nodes?.find((candidate) => candidate.id === broker);
    if (reading && gone(reading, broker)) left = true;
    const healthy = Boolean(left && reading?.fullyReplicated && node?.holdsAll);
    readings = healthy ? readings + 1 : 0;
    if (readings === 1) since = Date.now();
    if (healthy && readings >= HEALTHY_READINGS && Date.now() - since >= HEALTHY_FOR_MS) break;
    await sleep(healthy ? Math.min(POLL_MS, 1_000) : POLL_MS);
  }
  return { t0, t1: Date.now() };
}

export async function benchKafkaReplace(options: FigureOptions): Promise<Row[]> {
  const rounds = options.quick ? 2 : 4;
  const cluster: KafkaCluster = await startKafkaCluster();
  let bot: BenchBot | null = null;
  const closeCluster = (): Promise<void> => cluster.destroy();
  const done = whileOpen(closeCluster);
  const kafka = cluster.client('bench-kafka');
  let stopLoad: (() => Promise<void>) | null = null;
  try {
    const admin = kafka.admin();
    await admin.connect();
    await createTopics(admin, [
      { topic: TOPIC, partitions: 3, replicationFactor: 3, config: { 'min.insync.replicas': '2' } },
    ]);
    await admin.disconnect();
    await produceBulk(kafka, TOPIC, 3000, 1024);
    const load = await startProducerLoad(kafka, TOPIC, { intervalMs: 50 });
    stopLoad = () => load.stop();
    const hook = kafkaNodeCtlHook(cluster, 'replace', { emptyDisk: ['all'] });
    const health = new KafkaClusterHealth({
      admin: new KafkaWireAdmin({ brokers: cluster.bootstrap, clientId: 'bench-script' }),
      topics: [TOPIC],
      nodes: BROKERS,
    });
    const settled = async (): Promise<void> => {
      await until(
        'fully replicated',
        120_000,
        async () => (await health.health()).fullyReplicated || undefined,
      );
      await until('leaders on their preferred replicas', 60_000, async () =>
        (await health.electPreferredLeaders()).elected.length === 0 ? true : undefined,
      );
    };

    // One target per bot round (a run within the cooldown of the last one on its target is refused).
    const names = Array.from({ length: rounds + 1 }, (_, i) => `kafka-replace-${i}`);
    const brokerOf = (round: number): string => BROKERS[round % BROKERS.length]!;
    const yaml = [
      `defaults:\n  channel: ${CHANNEL}\n  approvers: [${APPROVER}]\ntargets:`,
      ...names.map(
        (name, i) => `  - name: ${name}
    strategy: rolling-replace
    cluster: { kind: kafka, brokers: ${JSON.stringify(cluster.bootstrap)}, topics: [${TOPIC}], nodes: [{ id: '${brokerOf(i)}' }],
      replace: ${JSON.stringify({ ...hook, timeout: '120s' })}, pollInterval: ${POLL_MS}ms, healthyFor: ${HEALTHY_FOR_MS}ms, recoverTimeout: 5m }`,
      ),
      '',
    ].join('\n');
    const env = {};
    const strategy = createRollingReplace({
      clusterHealth: (settings) => clusterHealthFor(settings, env),
      hooks: new ProcessHookRunner(),
      env,
    });
    bot = await startBenchBotFor('kafka', strategy, yaml, env);
    const botTimes: number[] = [];
    const scriptTimes: number[] = [];
    const botSteps: Record<string, number>[] = [];

    const botRound = async (round: number): Promise<void> => {
      await settled();
      const runtime = (bot as BenchBot).runtime;
      const name = names[round] as string;
      const started = await runtime.runs.start({
        target: runtime.findTarget(name)!,
        requestedBy: REQUESTER,
        channel: CHANNEL,
      });
      if (!started.ok) throw new Error(`the replacement did not start: ${started.message}`);
      const runId = started.run.id;
      const gated = await until('the approval gate', 60_000, async () => {
        const current = await runtime.store.getRun(runId);
        if (current && !['running', 'awaiting_approval'].includes(current.state))
          throw new Error(`run ended ${current.state} before the gate: ${current.outcome}`);
        return current?.state === 'awaiting_approval' ? current : undefined;
      });
      const gate = gated.steps[gated.currentStep]!;
      const approved = await runtime.runs.approve(runId, gate.index, gate.gate?.round ?? 1, APPROVER, {
        typed: name,
      });
      if (!approved.ok) throw new Error(`approval refused: ${approved.error}`);
      const finished: Run = await until('the run to finish', 300_000, async () => {
        const current = await runtime.store.getRun(runId);
        return current && ['succeeded', 'failed', 'aborted'].includes(current.state) ? current : undefined;
      });
      if (finished.state !== 'succeeded')
        throw new Error(`the replacement ended ${finished.state}: ${finished.outcome ?? ''}`);
      const replace = finished.steps.find((step) => step.spec.name === 'replace-1')!;
      const recover = finished.steps.find((step) => step.spec.name === 'recover-1')!;
      const t0 = Number(replace.output?.['replaceStartedAtMs']);
      botTimes.push(Date.parse(recover.finishedAt!) - t0);
      botSteps.push({
        replaceHook: Date.parse(replace.finishedAt!) - t0,
        recover: Date.parse(recover.finishedAt!) - Date.parse(recover.startedAt!),
      });
    };

    const scriptRound = async (round: number): Promise<void> => {
      await settled();
      const { t0, t1 } = await scriptReplace(health, hook, brokerOf(round));
      scriptTimes.push(t1 - t0);
    };

    // Warm-up: one bot run (first strategy use, JIT), not counted.
    await botRound(rounds);
    botTimes.length = 0;
    botSteps.length = 0;
    for (let round = 0; round < rounds; round++) {
      if (round % 2 === 0) {
        await botRound(round);
        await scriptRound(round + 1);
      } else {
        await scriptRound(round + 1);
        await botRound(round);
      }
      options.log(
        `kafka replace round ${round + 1}/${rounds}: bot ${botTimes.at(-1)} ms, script ${scriptTimes.at(-1)} ms`,
      );
    }
    await load.stop();
    stopLoad = null;
    await bot.runtime.notifier?.flush({ timeoutMs: 10_000 }).catch(() => undefined);
    await strategy.close?.();

    const subject = summarize(botTimes);
    const baseline = summarize(scriptTimes);
    const ratio = subject.p50 / baseline.p50;
    return [
      {
        figure: 'kafka-replace',
        metric: `one broker replaced on an empty disk, hook start → recovered (held ${HEALTHY_FOR_MS / 1000} s), real Kafka 4.4, ${rounds} each`,
        unit: 'ms',
        subject,
        baseline,
        ratio: { value: ratio, of: 'p50' },
        goal: 'p50 ≤ 1.25× script',
        verdict: ratio <= 1.25 ? 'met' : 'missed',
        details: {
          botSamples: botTimes,
          scriptSamples: scriptTimes,
          botSteps,
          acked: load.acked.length,
          producerFailures: load.failures,
          pollMs: POLL_MS,
          healthyForMs: HEALTHY_FOR_MS,
        },
      },
    ];
  } finally {
    await stopLoad?.().catch(() => undefined);
    await bot?.close();
    done();
    await closeCluster();
  }
}
