// The example targets file in the repository is what newcomers copy: it must load as it is.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTargets } from '../../../src/config/targets';
import { builtinStrategies, configSchemasOf, type StrategyPorts } from '../../../src/strategies';

test('cutover.example.yaml loads with every env: reference set', () => {
  const text = readFileSync(join(__dirname, '../../../cutover.example.yaml'), 'utf8');
  const env = Object.fromEntries(
    [...text.matchAll(/env:([A-Z0-9_]+)/g)].map((m) => [m[1], 'postgres://127.0.0.1:1/db']),
  );
  // Loading never touches the ports: strategies only use them when a run does.
  const strategies = builtinStrategies({} as StrategyPorts);
  const { targets } = parseTargets(text, 'cutover.example.yaml', {
    env,
    strategies: configSchemasOf(strategies),
  });
  expect(targets.length).toBeGreaterThan(0);
  const orders = targets.find((target) => target.name === 'orders-db');
  expect(orders).toMatchObject({ strategy: 'replica-promotion', requireWindow: true, cooldownMs: 3_600_000 });
  expect(orders?.windows).toEqual([{ cron: '0 2 * * SUN', durationMs: 2 * 3_600_000, timezone: 'UTC' }]);
});

test('examples/targets.example.yaml (every hook script wired) loads with every env: reference set', () => {
  const text = readFileSync(join(__dirname, '../../../examples/targets.example.yaml'), 'utf8');
  const env = Object.fromEntries(
    [...text.matchAll(/env:([A-Z0-9_]+)/g)].map((m) => [m[1], 'postgres://bot@127.0.0.1:1/db']),
  );
  const strategies = builtinStrategies({} as StrategyPorts);
  const { targets } = parseTargets(text, 'examples/targets.example.yaml', {
    env,
    strategies: configSchemasOf(strategies),
  });
  expect(targets.map((target) => target.strategy)).toContain('replica-promotion');
});
