import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { z } from 'zod';

import { secretRefSchema } from '../../../src/config/secrets';
import {
  ConfigError,
  loadTargetsFile,
  parseTargets,
  strategySettingsProblems,
  type StrategyConfigSchema,
} from '../../../src/config/targets';
import { SecretRef } from '../../../src/config/types';
import { durationSchema, sizeSchema } from '../../../src/config/units';

const strategies: ReadonlyMap<string, StrategyConfigSchema> = new Map([
  [
    'replica-promotion',
    {
      schema: z
        .object({
          postgres: z.object({ primary: secretRefSchema, standby: secretRefSchema }).strict(),
          maxLag: z.object({ bytes: sizeSchema, seconds: z.number() }).strict().optional(),
        })
        .strict(),
    },
  ],
  ['in-place', { schema: z.object({ snapshotTimeout: durationSchema.optional() }).strict() }],
]);

const env = {
  ORDERS_PRIMARY_URL: 'postgres://primary',
  ORDERS_STANDBY_URL: 'postgres://standby',
  BILLING_PRIMARY_URL: 'postgres://billing-primary',
  BILLING_STANDBY_URL: 'postgres://billing-standby',
};

const fixture = (name: string) => join(__dirname, 'fixtures', name);

/** The problems of the ConfigError thrown by `load`. */
function problemsOf(load: () => unknown): readonly string[] {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.message).toBe(configError.problems.join('\n'));
    return configError.problems;
  }
  throw new Error('expected a ConfigError');
}

const parse = (text: string, options = { env, strategies }) =>
  parseTargets(text, '/etc/cutover.yaml', options);

describe('loadTargetsFile', () => {
  it('reads a good file, applying defaults and overrides', () => {
    const path = fixture('good.yaml');
    const config = loadTargetsFile(path, { env, strategies });
    expect(config.path).toBe(path);
    expect(config.targets).toEqual([
      {
        name: 'orders-db',
        strategy: 'replica-promotion',
        channel: 'C0123456789',
        approvers: ['U0AAAAAAA', 'S0DBAONCALL'],
        approvalTimeoutMs: 10 * 60_000,
        requiredApprovals: 1,
        allowSelfApproval: false,
        windows: [{ cron: '0 2 * * SUN', durationMs: 2 * 3_600_000, timezone: 'UTC' }],
        requireWindow: false,
        cooldownMs: 0,
        reminderMs: 15 * 60_000,
        settings: {
          postgres: {
            primary: new SecretRef('ORDERS_PRIMARY_URL'),
            standby: new SecretRef('ORDERS_STANDBY_URL'),
          },
        },
      },
      {
        name: 'billing-db',
        strategy: 'replica-promotion',
        channel: 'G0BILLING01',
        approvers: ['U0BBBBBBB', 'W0CCCCCCC'],
        approvalTimeoutMs: 90 * 60_000,
        requiredApprovals: 2,
        allowSelfApproval: true,
        windows: [],
        requireWindow: false,
        cooldownMs: 0,
        reminderMs: 15 * 60_000,
        settings: {
          postgres: {
            primary: new SecretRef('BILLING_PRIMARY_URL'),
            standby: new SecretRef('BILLING_STANDBY_URL'),
          },
        },
      },
    ]);
  });

  it('returns a deep-frozen config whose SecretRefs still work', () => {
    const config = loadTargetsFile(fixture('good.yaml'), { env, strategies });
    const [orders] = config.targets;
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.targets)).toBe(true);
    expect(Object.isFrozen(orders)).toBe(true);
    expect(Object.isFrozen(orders?.approvers)).toBe(true);
    expect(Object.isFrozen(orders?.windows[0])).toBe(true);
    expect(Object.isFrozen(orders?.settings)).toBe(true);
    const postgres = orders?.settings.postgres as { primary: SecretRef };
    expect(Object.isFrozen(postgres)).toBe(true);
    expect(() => {
      (orders as { name: string }).name = 'other';
    }).toThrow(TypeError);
    expect(postgres.primary).toBeInstanceOf(SecretRef);
    expect(postgres.primary.toString()).toBe('env:ORDERS_PRIMARY_URL');
    expect(JSON.stringify(postgres)).toBe(
      '{"primary":"env:ORDERS_PRIMARY_URL","standby":"env:ORDERS_STANDBY_URL"}',
    );
    // The shared prototype is not frozen: other SecretRefs are unaffected.
    expect(Object.isFrozen(SecretRef.prototype)).toBe(false);
  });

  it('says how to fix a missing file', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cutover-')), 'cutover.yaml');
    expect(problemsOf(() => loadTargetsFile(path, { env, strategies }))).toEqual([
      `${path}: targets file not found — create it (./cutover.yaml by default) or set CUTOVER_CONFIG to its path`,
    ]);
  });

  it('names file, line and column of a YAML syntax error', () => {
    // Written at run time: a broken YAML fixture would trip `prettier --check`.
    const path = join(mkdtempSync(join(tmpdir(), 'cutover-')), 'cutover.yaml');
    writeFileSync(path, 'targets:\n  - name: orders-db\n    approvers: [U0AAAAAAA\n    strategy: in-place\n');
    const [problem, ...rest] = problemsOf(() => loadTargetsFile(path, { env, strategies }));
    expect(rest).toEqual([]);
    expect(problem).toMatch(new RegExp(`^${path}: line 4, column \\d+: YAML syntax error: \\S`));
  });

  it('reports an unknown strategy and lists the known ones', () => {
    const path = fixture('unknown-strategy.yaml');
    expect(problemsOf(() => loadTargetsFile(path, { env, strategies }))).toEqual([
      `${path}: targets[0].strategy: unknown strategy "foo" (known: in-place, replica-promotion)`,
    ]);
  });

  it('reports an unset secret variable with its path', () => {
    const path = fixture('missing-env.yaml');
    const { ORDERS_STANDBY_URL: _unset, ...rest } = env;
    expect(problemsOf(() => loadTargetsFile(path, { env: rest, strategies }))).toEqual([
      `${path}: targets[1].postgres.standby: environment variable ORDERS_STANDBY_URL is not set`,
    ]);
  });

  it('reports an empty secret variable', () => {
    const path = fixture('missing-env.yaml');
    expect(
      problemsOf(() => loadTargetsFile(path, { env: { ...env, BILLING_PRIMARY_URL: '' }, strategies })),
    ).toEqual([`${path}: targets[0].postgres.primary: environment variable BILLING_PRIMARY_URL is empty`]);
  });

  it('refuses a negative duration', () => {
    const path = fixture('negative-duration.yaml');
    expect(problemsOf(() => loadTargetsFile(path, { env, strategies }))).toEqual([
      `${path}: targets[0].approvalTimeout: must not be negative, got "-5m"`,
    ]);
  });

  it('refuses an inline secret without repeating it', () => {
    const path = fixture('inline-secret.yaml');
    const problems = problemsOf(() => loadTargetsFile(path, { env, strategies }));
    expect(problems).toEqual([
      `${path}: targets[0].postgres.standby: must be an env:NAME reference; secrets are never written inline in the targets file`,
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('refuses duplicate target names', () => {
    const path = fixture('duplicate-names.yaml');
    expect(problemsOf(() => loadTargetsFile(path, { env, strategies }))).toEqual([
      `${path}: targets[2].name: duplicate target name "orders-db" (also targets[0])`,
    ]);
  });

  it('refuses mistyped keys in defaults and targets, suggesting the right one', () => {
    const path = fixture('typo.yaml');
    expect(problemsOf(() => loadTargetsFile(path, { env, strategies }))).toEqual([
      `${path}: defaults.aprovers: unknown key (did you mean "approvers"?)`,
      `${path}: targets[0].requiredAprovals: unknown key (did you mean "requiredApprovals"?)`,
    ]);
  });
});

describe('parseTargets', () => {
  const head = 'defaults:\n  channel: C0123456789\n  approvers: [U0AAAAAAA]\ntargets:\n';

  it('applies the built-in defaults', () => {
    const [target] = parse(
      'targets:\n  - { name: a, strategy: in-place, channel: C1, approvers: [S1] }\n',
    ).targets;
    expect(target).toMatchObject({
      approvalTimeoutMs: 15 * 60_000,
      requiredApprovals: 1,
      allowSelfApproval: false,
      windows: [],
      requireWindow: false,
      cooldownMs: 0,
      reminderMs: 15 * 60_000,
      settings: {},
    });
  });

  it('lets a target override every default', () => {
    const text =
      'defaults: { channel: C1, approvers: [U1], approvalTimeout: 5m, requiredApprovals: 1, allowSelfApproval: true }\n' +
      'targets:\n' +
      '  - { name: a, strategy: in-place }\n' +
      '  - { name: b, strategy: in-place, channel: C2, approvers: [U2, U3], approvalTimeout: 1m, requiredApprovals: 2, allowSelfApproval: false }\n';
    const [a, b] = parse(text).targets;
    expect(a).toMatchObject({
      channel: 'C1',
      approvers: ['U1'],
      approvalTimeoutMs: 300_000,
      requiredApprovals: 1,
      allowSelfApproval: true,
    });
    expect(b).toMatchObject({
      channel: 'C2',
      approvers: ['U2', 'U3'],
      approvalTimeoutMs: 60_000,
      requiredApprovals: 2,
      allowSelfApproval: false,
    });
  });

  it('collects every problem in one error, one line each', () => {
    const text =
      'defaults: { requiredApprovals: 0 }\n' +
      'targets:\n' +
      '  - name: Bad_Name\n' +
      '    strategy: in-place\n' +
      '    channel: "#ops"\n' +
      '    approvers: ["@bob"]\n' +
      '  - name: b\n' +
      '    strategy: replica-promotion\n' +
      '    postgres: { primary: env:ORDERS_PRIMARY_URL }\n' +
      '    maxLag: { bytes: 16XB, seconds: 5 }\n' +
      '    windows: [{ cron: "0 2 * *", duration: 2h, timezone: Mars/Base }]\n';
    expect(problemsOf(() => parse(text))).toEqual([
      '/etc/cutover.yaml: defaults.requiredApprovals: must be a whole number of at least 1, got 0',
      '/etc/cutover.yaml: targets[0].name: must be a target name of lowercase letters, digits, ".", "_" and "-" (at most 63, starting with a letter or digit), got "Bad_Name"',
      '/etc/cutover.yaml: targets[0].channel: must be a Slack channel id such as C0123456789 (C or G, then capital letters and digits; not a #name), got "#ops"',
      '/etc/cutover.yaml: targets[0].approvers[0]: must be a Slack user id (U… or W…) or user-group id (S…), such as U0AAAAAAA (not an @name), got "@bob"',
      '/etc/cutover.yaml: targets[1].windows[0].cron: must be a cron expression with 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), got "0 2 * *"',
      '/etc/cutover.yaml: targets[1].windows[0].timezone: must be an IANA time zone such as UTC or Europe/Berlin, got "Mars/Base"',
      '/etc/cutover.yaml: targets[1].postgres.standby: is required',
      '/etc/cutover.yaml: targets[1].maxLag.bytes: expected a size such as 16MB, 512kB or 1GB, got "16XB"',
    ]);
  });

  it('reports missing secrets even next to other problems, with the index of the entry', () => {
    const text =
      `${head}  - { name: a, strategy: in-place, channel: nope }\n` +
      '  - name: b\n' +
      '    strategy: replica-promotion\n' +
      '    channel: nope\n' +
      '    postgres: { primary: env:ORDERS_PRIMARY_URL, standby: env:UNSET_URL }\n';
    expect(problemsOf(() => parse(text)).map((line) => line.split(': ')[1])).toEqual([
      'targets[0].channel',
      'targets[1].channel',
      'targets[1].postgres.standby',
    ]);
  });

  it('requires a channel and approvers after defaults', () => {
    expect(problemsOf(() => parse('targets:\n  - { name: a, strategy: in-place }\n'))).toEqual([
      '/etc/cutover.yaml: targets[0].channel: is required (set it on the target or in defaults.channel)',
      '/etc/cutover.yaml: targets[0].approvers: is required (set it on the target or in defaults.approvers)',
    ]);
    expect(problemsOf(() => parse(`${head}  - { name: a, strategy: in-place, approvers: [] }\n`))).toEqual([
      '/etc/cutover.yaml: targets[0].approvers: must list at least one approver',
    ]);
  });

  it('refuses more required approvals than listed users, but not when groups are listed', () => {
    expect(
      problemsOf(() => parse(`${head}  - { name: a, strategy: in-place, requiredApprovals: 2 }\n`)),
    ).toEqual([
      '/etc/cutover.yaml: targets[0].requiredApprovals: requires 2 approvals but only 1 approver(s) are listed',
    ]);
    const text = `${head}  - { name: a, strategy: in-place, requiredApprovals: 3, approvers: [U1, S1] }\n`;
    expect(parse(text).targets[0]?.requiredApprovals).toBe(3);
  });

  it('refuses a bare number where a duration is expected', () => {
    expect(
      problemsOf(() => parse(`${head}  - { name: a, strategy: in-place, approvalTimeout: 30 }\n`)),
    ).toEqual([
      '/etc/cutover.yaml: targets[0].approvalTimeout: expected a duration such as 30s, 15m or 2h, got 30 (add a unit, e.g. 30s or 30m)',
    ]);
  });

  it.each([
    ['', 'the file is empty; expected a mapping with a "targets" list'],
    ['- a\n', 'expected a mapping with a "targets" list at the top level'],
    ['defaults: {}\n', 'targets: is required (a list of targets)'],
    ['targets: []\n', 'targets: must list at least one target'],
    ['targets: [42]\n', 'targets[0]: must be a mapping with at least "name" and "strategy"'],
    ['target: []\ntargets: [{}]\n', 'target: unknown key (did you mean "targets"?)'],
  ])('explains a malformed file %j', (text, problem) => {
    expect(problemsOf(() => parse(text))[0]).toBe(`/etc/cutover.yaml: ${problem}`);
  });

  it('reports each YAML error with line and column', () => {
    expect(problemsOf(() => parse('a: 1\na: 2\n'))).toEqual([
      '/etc/cutover.yaml: line 2, column 1: YAML syntax error: Map keys must be unique',
    ]);
  });
});

describe('parseTargets: maintenance windows, requireWindow, cooldown, reminder', () => {
  const head = 'defaults:\n  channel: C0123456789\n  approvers: [U0AAAAAAA]\ntargets:\n';
  const target = (keys: string) => `${head}  - { name: a, strategy: in-place, ${keys} }\n`;

  it('reads windows, requireWindow, cooldown and reminder', () => {
    const text =
      `${head}  - name: a\n` +
      '    strategy: in-place\n' +
      '    requireWindow: true\n' +
      '    cooldown: 1d\n' +
      '    reminder: 30m\n' +
      '    windows:\n' +
      '      - { cron: "0 2 * * SUN", duration: 2h, timezone: Europe/Berlin }\n' +
      '      - { cron: " 30 22 * * 1-5 ", duration: 1h30m, timezone: America/New_York }\n';
    expect(parse(text).targets[0]).toMatchObject({
      requireWindow: true,
      cooldownMs: 86_400_000,
      reminderMs: 30 * 60_000,
      windows: [
        { cron: '0 2 * * SUN', durationMs: 7_200_000, timezone: 'Europe/Berlin' },
        { cron: '30 22 * * 1-5', durationMs: 5_400_000, timezone: 'America/New_York' },
      ],
    });
  });

  it('takes requireWindow, cooldown and reminder from defaults; a target overrides them', () => {
    const text =
      'defaults: { channel: C1, approvers: [U1], requireWindow: true, cooldown: 6h, reminder: 5m }\n' +
      'targets:\n' +
      '  - { name: a, strategy: in-place, windows: [{ cron: "0 2 * * *", duration: 1h, timezone: UTC }] }\n' +
      '  - { name: b, strategy: in-place, requireWindow: false, cooldown: 0s, reminder: 0s }\n';
    const [a, b] = parse(text).targets;
    expect(a).toMatchObject({ requireWindow: true, cooldownMs: 6 * 3_600_000, reminderMs: 5 * 60_000 });
    expect(b).toMatchObject({ requireWindow: false, cooldownMs: 0, reminderMs: 0, windows: [] });
  });

  it.each([
    [
      'an out-of-range field',
      'windows: [{ cron: "61 2 * * *", duration: 1h, timezone: UTC }]',
      'targets[0].windows[0].cron: is not a valid cron expression (Constraint error, got value 61 expected range 0-59), got "61 2 * * *"',
    ],
    [
      'an unknown day name',
      'windows: [{ cron: "0 2 * * FOO", duration: 1h, timezone: UTC }]',
      'targets[0].windows[0].cron: is not a valid cron expression (Validation error, cannot resolve alias "foo"), got "0 2 * * FOO"',
    ],
    [
      'a date that never comes',
      'windows: [{ cron: "0 2 30 2 *", duration: 1h, timezone: UTC }]',
      'targets[0].windows[0].cron: is not a valid cron expression (Invalid explicit day of month definition), got "0 2 30 2 *"',
    ],
    [
      'too few fields',
      'windows: [{ cron: "0 2 * *", duration: 1h, timezone: UTC }]',
      'targets[0].windows[0].cron: must be a cron expression with 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), got "0 2 * *"',
    ],
    [
      'an unknown time zone',
      'windows: [{ cron: "0 2 * * *", duration: 1h, timezone: Europe/Atlantis }]',
      'targets[0].windows[0].timezone: must be an IANA time zone such as UTC or Europe/Berlin, got "Europe/Atlantis"',
    ],
    [
      'a missing time zone',
      'windows: [{ cron: "0 2 * * *", duration: 1h }]',
      'targets[0].windows[0].timezone: is required (an IANA time zone such as UTC or Europe/Berlin)',
    ],
    [
      'a zero duration',
      'windows: [{ cron: "0 2 * * *", duration: 0m, timezone: UTC }]',
      'targets[0].windows[0].duration: must be longer than zero, got "0m"',
    ],
    [
      'a negative duration',
      'windows: [{ cron: "0 2 * * *", duration: -1h, timezone: UTC }]',
      'targets[0].windows[0].duration: must not be negative, got "-1h"',
    ],
    [
      'a mistyped window key',
      'windows: [{ cron: "0 2 * * *", duration: 1h, timezone: UTC, tz: UTC }]',
      'targets[0].windows[0].tz: unknown key',
    ],
    ['windows that are not a list', 'windows: "0 2 * * *"', 'targets[0].windows: must be a list of windows'],
    [
      'requireWindow that is not a boolean',
      'requireWindow: yes please',
      'targets[0].requireWindow: must be true or false',
    ],
    ['a negative cooldown', 'cooldown: -1h', 'targets[0].cooldown: must not be negative, got "-1h"'],
    [
      'a reminder without unit',
      'reminder: 15',
      'targets[0].reminder: expected a duration such as 30s, 15m or 2h, got 15 (add a unit, e.g. 15s or 15m)',
    ],
    [
      'requireWindow without windows',
      'requireWindow: true',
      'targets[0].requireWindow: is true, so the target needs at least one entry in windows',
    ],
    [
      'requireWindow with an empty list of windows',
      'requireWindow: true, windows: []',
      'targets[0].requireWindow: is true, so the target needs at least one entry in windows',
    ],
  ])('refuses %s, naming the path', (_what, keys, problem) => {
    expect(problemsOf(() => parse(target(keys)))).toEqual([`/etc/cutover.yaml: ${problem}`]);
  });

  it('names the target that inherits requireWindow from defaults without having windows', () => {
    const text =
      'defaults: { channel: C1, approvers: [U1], requireWindow: true }\n' +
      'targets:\n' +
      '  - { name: a, strategy: in-place, windows: [{ cron: "0 2 * * *", duration: 1h, timezone: UTC }] }\n' +
      '  - { name: b, strategy: in-place }\n';
    expect(problemsOf(() => parse(text))).toEqual([
      '/etc/cutover.yaml: targets[1].windows: must list at least one window: defaults.requireWindow is true',
    ]);
  });

  it('reports the problems of every window at once', () => {
    const text = target(
      'windows: [{ cron: "0 25 * * *", duration: 1h, timezone: UTC }, { cron: "0 2 * * *", duration: 1h, timezone: UTC }, { cron: "0 2 * * *", duration: 2x, timezone: Mars/Base }]',
    );
    expect(problemsOf(() => parse(text))).toEqual([
      '/etc/cutover.yaml: targets[0].windows[0].cron: is not a valid cron expression (Constraint error, got value 25 expected range 0-23), got "0 25 * * *"',
      '/etc/cutover.yaml: targets[0].windows[2].duration: expected a duration such as 30s, 15m or 2h, got "2x"',
      '/etc/cutover.yaml: targets[0].windows[2].timezone: must be an IANA time zone such as UTC or Europe/Berlin, got "Mars/Base"',
    ]);
  });

  it('refuses windows in defaults: windows belong to a target', () => {
    const text =
      'defaults: { channel: C1, approvers: [U1], windows: [] }\ntargets:\n  - { name: a, strategy: in-place }\n';
    expect(problemsOf(() => parse(text))[0]).toMatch(/^\/etc\/cutover\.yaml: defaults\.windows: unknown key/);
  });
});

describe('parseTargets: operators', () => {
  it('has none unless set: anyone in the channel may start', () => {
    const [target] = parse(
      'targets:\n  - { name: a, strategy: in-place, channel: C1, approvers: [U1] }\n',
    ).targets;
    expect(target).not.toHaveProperty('operators');
  });

  it('takes operators from defaults; a target replaces the list', () => {
    const text =
      'defaults: { channel: C1, approvers: [U1], operators: [S0OPS, U0DANA] }\n' +
      'targets:\n' +
      '  - { name: a, strategy: in-place }\n' +
      '  - { name: b, strategy: in-place, operators: [U0LEE] }\n';
    const [a, b] = parse(text).targets;
    expect(a?.operators).toEqual(['S0OPS', 'U0DANA']);
    expect(b?.operators).toEqual(['U0LEE']);
  });

  it('refuses an empty list, duplicates and names instead of ids', () => {
    const problems = problemsOf(() =>
      parse(
        'defaults: { channel: C1, approvers: [U1] }\n' +
          'targets:\n' +
          '  - { name: a, strategy: in-place, operators: [] }\n' +
          '  - { name: b, strategy: in-place, operators: [U0LEE, U0LEE] }\n' +
          '  - { name: c, strategy: in-place, operators: ["@dana"] }\n',
      ),
    );
    expect(problems).toEqual([
      '/etc/cutover.yaml: targets[0].operators: must list at least one operator',
      '/etc/cutover.yaml: targets[1].operators[1]: duplicate operator U0LEE',
      expect.stringMatching(/^\/etc\/cutover\.yaml: targets\[2\]\.operators\[0\]: must be a Slack user id/),
    ]);
  });
});

describe('strategySettingsProblems (--strategy)', () => {
  const [orders] = parse(
    'targets:\n' +
      '  - name: orders-db\n    strategy: replica-promotion\n    channel: C1\n    approvers: [U1]\n' +
      '    postgres: { primary: env:ORDERS_PRIMARY_URL, standby: env:ORDERS_STANDBY_URL }\n',
  ).targets;
  const schemaOf = (name: string) => strategies.get(name)!.schema;

  it('has nothing to say about the target’s own strategy', () => {
    expect(strategySettingsProblems(orders!, 'replica-promotion', schemaOf('replica-promotion'))).toEqual([]);
  });

  it('names what another strategy cannot take from the settings', () => {
    expect(strategySettingsProblems(orders!, 'in-place', schemaOf('in-place'))).toEqual([
      expect.stringMatching(/^postgres: /),
    ]);
  });
});
