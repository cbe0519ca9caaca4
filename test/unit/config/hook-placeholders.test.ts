// A hook naming a placeholder its step does not fill in is refused when the targets file loads,
// with where it is and what is available there: never met by the step mid-cutover (a route hook
// with a typo would otherwise fail after pg_promote, inside the write-unavailable window).
import { ConfigError } from '../../../src/config/errors';
import { parseTargets } from '../../../src/config/targets';
import { builtinStrategies, configSchemasOf, type StrategyPorts } from '../../../src/strategies';

const strategies = configSchemasOf(builtinStrategies({} as StrategyPorts));
const env = { PRIMARY: 'postgres://bot@10.0.0.1/app', STANDBY: 'postgres://bot@10.0.0.2/app' };

function load(target: string): ReturnType<typeof parseTargets> {
  const text = `defaults: { channel: C0TEST0001, approvers: [U0APPROVER] }\ntargets:\n${target}`;
  return parseTargets(text, 'targets.yaml', { env, strategies });
}

function problems(target: string): string {
  try {
    load(target);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('the file loaded');
}

const promotion = (extra: string) => `  - name: orders-db
    strategy: replica-promotion
    postgres: { primary: env:PRIMARY, standby: env:STANDBY }
${extra}`;

test('a route hook with a misspelt placeholder: refused at load, naming the place and the choices', () => {
  const message = problems(promotion("    route: { command: ['./repoint.sh', '--host={standby.hots}'] }"));
  expect(message).toContain('route.command[1]');
  expect(message).toContain(
    'has unknown placeholder {standby.hots}; available here: {target}, {primary.host}',
  );
  expect(message).toContain('{standby.host}, {standby.port}, {standby.database}');
});

test('the placeholders each step fills in are accepted, and {{literal}} braces are not placeholders', () => {
  const { targets } = load(
    promotion(
      "    route: { command: ['./repoint.sh', '{target}', '{standby.host}:{standby.port}', '{{not-a-placeholder}}'] }\n" +
        "    rejoin: { command: ['./rejoin.sh', '{primary.host}', '{standby.database}'] }",
    ),
  );
  expect(targets).toHaveLength(1);
});

test('the stop fence hooks, the volume, cluster and in-place hooks are checked too', () => {
  expect(
    problems(
      promotion(
        "    postgres: { primary: env:PRIMARY, standby: env:STANDBY, fence: { mode: stop, stop: { command: ['./stop.sh', '{node}'] }, start: { command: ['./start.sh'] } } }",
      ).replace('    postgres: { primary: env:PRIMARY, standby: env:STANDBY }\n', ''),
    ),
  ).toContain('postgres.fence.stop.command[1]: has unknown placeholder {node}');

  expect(
    problems(`  - name: vs
    strategy: volume-swap
    volume:
      region: eu-west-1
      volumeId: vol-0123456789abcdef0
      device: /dev/sdf
      from: { instanceId: i-0123456789abcdef0 }
      to: { instanceId: i-0fedcba9876543210 }
      stop: { command: ['./stop.sh', '{instanceId}', '{target}'] }
      start: { command: ['./start.sh', '{instanceId}'] }
      health: { tcp: '{instanceId}.internal:5432' }`),
  ).toContain('volume.stop.command[2]: has unknown placeholder {target}; available here: {instanceId}');

  expect(
    problems(`  - name: kafka
    strategy: rolling-replace
    cluster:
      kind: kafka
      brokers: ['127.0.0.1:9092']
      nodes: [{ id: '1' }, { id: '2' }, { id: '3' }]
      replace: { command: ['./replace.sh', '{node}', '{nodes}'] }`),
  ).toContain(
    'cluster.replace.command[2]: has unknown placeholder {nodes}; available here: {node}, {index}, {target}',
  );

  expect(
    problems(`  - name: legacy
    strategy: in-place
    inPlace:
      command: { command: ['./upgrade.sh', '{target}', '{host}'] }
      verify: { hook: { command: ['./verify.sh'] } }`),
  ).toContain('inPlace.command.command[2]: has unknown placeholder {host}; available here: {target}');
});
