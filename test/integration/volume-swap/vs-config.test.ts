// Bad input in the targets file: parseTargets rejects it with the path named, before any AWS call.
import { ConfigError } from '../../../src/config/errors';
import {
  closeDatabases,
  createDatabases,
  Ec2World,
  FROM,
  HookFiles,
  targetsYaml,
  VOL,
  volumeSwap,
  vsEnv,
  vsTargets,
} from './vs-runtime';

const world = new Ec2World();
const hooks = new HookFiles();

afterAll(async () => {
  await world.close();
  hooks.remove();
});

function problemsOf(yaml: string, env: NodeJS.ProcessEnv): string {
  const strategy = volumeSwap(world.adapter(), env);
  try {
    vsTargets(strategy, yaml, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('parseTargets accepted the file');
}

test.each([
  { what: 'a malformed volume id', from: VOL, to: 'vol-XYZ', path: 'targets[0].volume.volumeId' },
  { what: 'a malformed from instance id', from: FROM, to: 'i-12', path: 'targets[0].volume.from.instanceId' },
])('$what is rejected with its path, and AWS is never called', async ({ from, to, path }) => {
  world.reset();
  const dbs = await createDatabases();
  const yaml = targetsYaml(dbs, hooks);
  // Only the first target (orders-vol) is broken: its own id is replaced where the path points.
  const [head, ...rest] = yaml.split('- name: ledger-vol');
  const broken = [
    head?.replace(
      path.endsWith('volumeId') ? `volumeId: ${from}` : `from: { instanceId: ${from} }`,
      path.endsWith('volumeId') ? `volumeId: ${to}` : `from: { instanceId: ${to} }`,
    ),
    ...rest,
  ].join('- name: ledger-vol');
  const message = problemsOf(broken, vsEnv(dbs));
  await closeDatabases(dbs);
  expect(message).toContain(`${path}:`);
  expect(message).toMatch(
    path.endsWith('volumeId') ? /expected an EBS volume id/ : /expected an EC2 instance id/,
  );
  expect(world.ec2.calls).toEqual([]);
});
