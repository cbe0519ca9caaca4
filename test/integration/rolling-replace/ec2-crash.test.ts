// A worker dies between RunInstances and recording its answer: EC2 launched the replacement, the
// launch step never reported. Simulated as in volume-swap/vs-crash.test.ts: runtime A's adapter
// sends RunInstances (EC2 launches) and then never returns; A's worker is force-closed (its
// job lock lapses) and A shut down. Runtime B on the same schema and queue picks the stalled job up;
// the launch step resumes with no instance recorded, calls RunInstances again with the same
// ClientToken, gets the same instance back from EC2, and the run finishes with one instance per node.
import { AwsEc2Adapter } from '../../../src/adapters/aws/ec2-adapter';
import { fastEc2Client } from '../../support/services/aws/fast-retry-clients';
import type { InstanceDescription, LaunchRequest } from '../../../src/ports/ec2';
import { launchClientToken } from '../../../src/strategies/rolling-replace/ec2-executors';
import { APPROVER, REQUESTER } from '../../support/runtimes/harness';
import { CrashAndResume, CrashPoint } from '../../support/runtimes/in-process-crash';
import { freshSchemaName } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import { untilRunState } from '../../support/runtimes/run-state';
import { Ec2World } from '../volume-swap/vs-runtime';
import {
  actions,
  ClusterFollowingEc2,
  NODE_IDS,
  OLD,
  rrStrategy,
  standardWorld,
  startRrRuntime,
  targetYaml,
  TEMPLATE,
} from './ec2-rr-runtime';

const schema = freshSchemaName('t_rr_ec2_crash');
const queueName = freshQueueName('rr-ec2-crash');
const world = new Ec2World();
const cluster = new ClusterFollowingEc2(
  () => world.ec2,
  OLD.map((instanceId, index) => ({ id: NODE_IDS[index]!, instanceId })),
);
const crash = new CrashAndResume(schema);
const TARGETS = targetYaml('brokers', 2, '');

class DiesAfterLaunch extends AwsEc2Adapter {
  private readonly point = new CrashPoint();
  readonly launchAccepted = this.point.reached;

  override async runInstance(region: string, request: LaunchRequest): Promise<InstanceDescription> {
    await super.runInstance(region, request);
    return this.point.hang();
  }
}

afterAll(async () => {
  await crash.cleanUp();
  await world.close();
});

test('resumed after a crash past RunInstances: the same ClientToken returns the same instance, one per node', async () => {
  const ec2 = standardWorld(world.reset());
  const dying = new DiesAfterLaunch({ ec2Client: (region) => fastEc2Client(region) });
  const first = await startRrRuntime({
    schema,
    queueName,
    strategy: rrStrategy(dying, cluster),
    targets: TARGETS,
    lockDurationMs: 1_000,
    stalledIntervalMs: 500,
  });
  crash.keep(first);

  const outcome = await first.runs.start({ target: first.findTarget('brokers')!, requestedBy: REQUESTER });
  if (!outcome.ok) throw new Error(outcome.message);
  const run = outcome.run;
  await untilRunState(first.store, run.id, ['awaiting_approval']);
  expect((await first.runs.approve(run.id, 1, 1, APPROVER)).ok).toBe(true);

  await dying.launchAccepted;
  const crashed = await first.store.getRun(run.id);
  const launch = crashed?.steps.find((step) => step.spec.name === 'launch-1');
  expect(launch).toMatchObject({ state: 'running' });
  expect(launch?.output?.['instanceId']).toBeUndefined();
  expect(ec2.launched).toHaveLength(1);

  await crash.crash(first);
  dying.destroy();

  const second = await startRrRuntime({
    schema,
    queueName,
    strategy: rrStrategy(world.adapter(), cluster),
    targets: TARGETS,
    stalledIntervalMs: 300,
  });
  crash.keep(second);

  const done = await untilRunState(second.store, run.id, ['succeeded', 'failed', 'aborted'], 60_000);
  expect(done.state).toBe('succeeded');
  const tokenA = launchClientToken(run.id, 'a');
  // RunInstances for node a twice (the crash, the resumed attempt), both with the same token.
  expect(actions(ec2)).toEqual([
    `RunInstances ${TEMPLATE} token=${tokenA}`,
    `RunInstances ${TEMPLATE} token=${tokenA}`,
    `StopInstances ${OLD[0]}`,
    `RunInstances ${TEMPLATE} token=${launchClientToken(run.id, 'b')}`,
    `StopInstances ${OLD[1]}`,
  ]);
  expect(ec2.launched).toHaveLength(2);
  expect(done.steps.find((step) => step.spec.name === 'launch-1')?.output?.['instanceId']).toBe(
    ec2.launched[0],
  );
});
