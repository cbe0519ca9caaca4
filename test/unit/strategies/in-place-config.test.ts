// The in-place targets-file keys: refused at load with the path named, and the plans they give.
import { parseTargets } from '../../../src/config/targets';
import { inPlaceConfigSchema } from '../../../src/strategies/in-place/config';
import { planInPlace, snapshotIdOf } from '../../../src/strategies/in-place/plan';

const strategies = new Map([['in-place', { schema: inPlaceConfigSchema }]]);

function target(inPlace: string) {
  const yaml = `defaults: { channel: C0TEST0001, approvers: [U0APPROVER] }
targets:
  - name: billing
    strategy: in-place
    inPlace: ${inPlace}
`;
  return parseTargets(yaml, 'ip.yaml', { env: { BILLING_URL: 'postgres://u:p@db:5432/billing' }, strategies })
    .targets[0]!;
}

const rds = (rest: string) => `{ rds: { region: eu-west-1, instance: billing-db, ${rest} } }`;

test('an RDS modification plans preflight, snapshot, gate, modify, wait, verify, report', () => {
  const plan = planInPlace(target(rds('modify: { DBInstanceClass: db.r6g.large, MultiAZ: true }')));
  expect(plan.steps.map((step) => `${step.kind}:${step.name}:${step.executor ?? ''}`)).toEqual([
    'check:preflight:ip-rds-preflight',
    'action:snapshot:ip-rds-snapshot',
    'gate:approve-change:',
    'action:modify:ip-rds-modify',
    'wait:wait-applied:ip-rds-wait',
    'wait:verify:ip-health',
    'check:report:ip-report',
  ]);
  expect(plan.steps[2]).toMatchObject({
    destructive: true,
    title: 'Approve: DBInstanceClass db.r6g.large, MultiAZ true on billing-db, now',
  });
  expect(plan.steps[2]?.warning).toContain('no automatic undo');
});

test('a maintenance action plans the same shape with ApplyPendingMaintenanceAction', () => {
  const plan = planInPlace(target(rds('maintenance: { action: system-update }')));
  expect(plan.steps[3]).toMatchObject({ name: 'maintenance', executor: 'ip-rds-maintenance' });
  expect(plan.steps[3]?.title).toContain('ApplyPendingMaintenanceAction, immediate');
});

test('a self-managed change plans preflight, [snapshot hook], gate, command, verify, report', () => {
  const withSnapshot = planInPlace(
    target(
      `{ command: { command: ['./alter.sh'] }, snapshot: { command: ['./dump.sh'] }, health: env:BILLING_URL }`,
    ),
  );
  expect(withSnapshot.steps.map((step) => step.executor ?? 'gate')).toEqual([
    'ip-preflight',
    'ip-snapshot-hook',
    'gate',
    'ip-command',
    'ip-health',
    'ip-report',
  ]);
  const without = planInPlace(target(`{ command: { command: ['./alter.sh'] }, health: { tcp: "db:5432" } }`));
  expect(without.steps.map((step) => step.name)).toEqual([
    'preflight',
    'approve-change',
    'command',
    'verify',
    'report',
  ]);
});

test('reboot: true adds the reboot step after the wait; verify adds its check after the health check', () => {
  const rebooting = planInPlace(target(rds('modify: { DBParameterGroupName: billing-pg15 }, reboot: true')));
  expect(rebooting.steps.map((step) => step.name)).toEqual([
    'preflight',
    'snapshot',
    'approve-change',
    'modify',
    'wait-applied',
    'reboot',
    'verify',
    'report',
  ]);
  expect(rebooting.steps[5]).toMatchObject({ kind: 'action', executor: 'ip-rds-reboot' });
  const verified = planInPlace(
    target(
      `{ command: { command: ['./upgrade.sh'] }, health: env:BILLING_URL, verify: { sql: { url: env:BILLING_URL, query: 'SHOW server_version', matches: '^16\\.' } } }`,
    ),
  );
  expect(verified.steps.map((step) => step.name)).toEqual([
    'preflight',
    'approve-change',
    'command',
    'verify',
    'confirm-change',
    'report',
  ]);
  expect(verified.steps[4]).toMatchObject({
    kind: 'check',
    executor: 'ip-confirm',
    title: 'Confirm the change took effect: `SHOW server_version` matches /^16\\./',
  });
});

test.each([
  {
    what: 'a verify with both sql and hook',
    inPlace: `{ command: { command: ['./x.sh'] }, health: env:BILLING_URL, verify: { sql: { url: env:BILLING_URL, query: 'SELECT 1', equals: '1' }, hook: { command: ['./check.sh'] } } }`,
    error: /targets\[0\]\.inPlace\.verify: give one of sql/,
  },
  {
    what: 'a verify query with neither equals nor matches',
    inPlace: `{ command: { command: ['./x.sh'] }, health: env:BILLING_URL, verify: { sql: { url: env:BILLING_URL, query: 'SELECT 1' } } }`,
    error: /targets\[0\]\.inPlace\.verify\.sql: give one of equals or matches/,
  },
  {
    what: 'a verify URL given inline',
    inPlace: `{ command: { command: ['./x.sh'] }, health: env:BILLING_URL, verify: { sql: { url: 'postgres://u:p@db/x', query: 'SELECT 1', equals: '1' } } }`,
    error: /targets\[0\]\.inPlace\.verify\.sql\.url/,
  },
  {
    what: 'a verify pattern that is no regular expression',
    inPlace: `{ command: { command: ['./x.sh'] }, health: env:BILLING_URL, verify: { sql: { url: env:BILLING_URL, query: 'SELECT 1', matches: '(' } } }`,
    error: /targets\[0\]\.inPlace\.verify\.sql\.matches: must be a regular expression/,
  },
])('refused at load: $what', ({ inPlace, error }) => {
  expect(() => target(inPlace)).toThrow(error);
});

test.each([
  {
    what: 'an unknown modify key',
    inPlace: rds('modify: { DBInstanceClass: db.r6g.large, MasterUserPassword: hunter2 }'),
    error: /targets\[0\]\.inPlace\.rds\.modify\.MasterUserPassword: unknown key/,
  },
  {
    what: 'a malformed instance class',
    inPlace: rds('modify: { DBInstanceClass: r6g.large }'),
    error: /targets\[0\]\.inPlace\.rds\.modify\.DBInstanceClass: expected an instance class/,
  },
  {
    what: 'a modify naming nothing to change',
    inPlace: rds('modify: {}'),
    error: /targets\[0\]\.inPlace\.rds\.modify: names nothing to change/,
  },
  {
    what: 'AllowMajorVersionUpgrade without EngineVersion',
    inPlace: rds('modify: { DBInstanceClass: db.r6g.large, AllowMajorVersionUpgrade: true }'),
    error:
      /targets\[0\]\.inPlace\.rds\.modify\.AllowMajorVersionUpgrade: only means something with EngineVersion/,
  },
  {
    what: 'storage below the RDS minimum',
    inPlace: rds('modify: { AllocatedStorage: 10 }'),
    error: /targets\[0\]\.inPlace\.rds\.modify\.AllocatedStorage: RDS storage is at least 20 GiB/,
  },
  {
    what: 'both modify and maintenance',
    inPlace: rds('modify: { MultiAZ: true }, maintenance: { action: system-update }'),
    error: /targets\[0\]\.inPlace\.rds: has both modify and maintenance/,
  },
  {
    what: 'neither modify nor maintenance',
    inPlace: rds('snapshotTimeout: 1h'),
    error: /targets\[0\]\.inPlace\.rds: needs modify/,
  },
  {
    what: 'an unknown maintenance action',
    inPlace: rds('maintenance: { action: reboot }'),
    error: /targets\[0\]\.inPlace\.rds\.maintenance\.action/,
  },
  {
    what: 'a maintenance opt-in other than immediate',
    inPlace: rds('maintenance: { action: db-upgrade, optIn: next-maintenance }'),
    error: /targets\[0\]\.inPlace\.rds\.maintenance\.optIn/,
  },
  {
    what: 'both rds and command',
    inPlace: `{ rds: { region: eu-west-1, instance: billing-db, modify: { MultiAZ: true } }, command: { command: ['./x.sh'] } }`,
    error: /targets\[0\]\.inPlace: has both rds and command/,
  },
  {
    what: 'a command without a health check',
    inPlace: `{ command: { command: ['./alter.sh'] } }`,
    error: /targets\[0\]\.inPlace\.health: is required with command/,
  },
  {
    what: 'a snapshot hook on an RDS target',
    inPlace: `{ rds: { region: eu-west-1, instance: billing-db, modify: { MultiAZ: true } }, snapshot: { command: ['./dump.sh'] } }`,
    error: /targets\[0\]\.inPlace\.snapshot: is for a self-managed database/,
  },
  {
    what: 'a malformed instance identifier',
    inPlace: `{ rds: { region: eu-west-1, instance: billing--db, modify: { MultiAZ: true } } }`,
    error: /targets\[0\]\.inPlace\.rds\.instance/,
  },
  {
    what: 'a shell line as the command',
    inPlace: `{ command: { command: "psql -c 'VACUUM FULL'" }, health: env:BILLING_URL }`,
    error: /targets\[0\]\.inPlace\.command\.command: command is an argv array/,
  },
])('$what is refused at load with its path', ({ inPlace, error }) => {
  expect(() => target(inPlace)).toThrow(error);
});

test('the snapshot id is deterministic from the run id and a valid RDS identifier', () => {
  const runId = '3f2a9c1e-7b4d-4e2a-9a1b-0c9d8e7f6a5b';
  expect(snapshotIdOf('billing-db', runId)).toBe('cutover-billing-db-3f2a9c1e');
  expect(snapshotIdOf('billing-db', runId)).toBe(snapshotIdOf('billing-db', runId));
  expect(snapshotIdOf('billing-db', runId)).toMatch(/^[a-zA-Z](?:[a-zA-Z0-9]|-(?!-))*[a-zA-Z0-9]$/);
});
