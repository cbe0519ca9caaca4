// The RDS parts of a replica promotion that need no database: the targets-file keys, the two plans
// (fenced over SQL, or without a fence and accepting data loss), parity, what Blue/Green's logical
// replication does not carry, what the managed fence needs, and when the Blue/Green switchover step
// says it sent its request (the executor on the real adapter, the AWS emulator behind it).
import { AwsRdsAdapter } from '../../../src/adapters/aws/rds-adapter';
import { parseTargets } from '../../../src/config/targets';
import type { TargetConfig } from '../../../src/config/types';
import { classify } from '../../../src/engine/failures';
import { createRun } from '../../../src/engine/transition';
import type { StepRecord } from '../../../src/engine/types';
import type { Logger } from '../../../src/ports/logger';
import type { ReplicaDescription } from '../../../src/ports/rds-replicas';
import type { FenceSurvey, ReplicationPort } from '../../../src/ports/replication';
import { blueGreenLimitWarnings, DDL_WARNING } from '../../../src/strategies/replica-promotion/bg-limits';
import { replicaPromotionConfigSchema } from '../../../src/strategies/replica-promotion/config';
import { managedFenceProblem } from '../../../src/strategies/replica-promotion/fence-modes';
import { planReplicaPromotion } from '../../../src/strategies/replica-promotion/plan';
import { rdsExecutors } from '../../../src/strategies/replica-promotion/rds-executors';
import {
  otherReplicaWarnings,
  parityDifferences,
} from '../../../src/strategies/replica-promotion/rds-parity';
import type { StepContext } from '../../../src/strategies/types';
import { useAwsEmulator } from '../../support/services/aws/emulator';
import { ManualClock } from '../../support/fakes/manual-clock';

const strategies = new Map([['replica-promotion', { schema: replicaPromotionConfigSchema }]]);
const env = {
  SRC: 'postgres://bot@src:5432/app',
  REP: 'postgres://bot@rep:5432/app',
  BLUE: 'postgres://bot@b/app',
};

function target(section: string): TargetConfig {
  return parseTargets(
    `defaults: { channel: C0TEST0001, approvers: [U0APPROVER] }
targets:
  - name: orders
    strategy: replica-promotion
    ${section}
`,
    'rp.yaml',
    { env, strategies },
  ).targets[0]!;
}

const rds = (rest = '') =>
  `rds: { region: eu-west-1, primary: orders-primary, replica: orders-replica${rest} }`;

describe('targets file', () => {
  test('sql gives the fence its URLs and RDS’s own roles by default', () => {
    expect(target(rds(', sql: { primary: env:SRC, replica: env:REP }')).settings).toMatchObject({
      rds: {
        sql: { managedRoles: ['rdsadmin', 'rdsrepladmin', 'rdstopmgr'] },
        catchUpTimeout: 60_000,
        allowDataLoss: false,
      },
    });
  });

  test.each([
    {
      what: 'allowDataLoss beside sql',
      section: rds(', allowDataLoss: true, sql: { primary: env:SRC, replica: env:REP }'),
      error: /targets\[0\]\.rds\.allowDataLoss: is for targets without sql/,
    },
    {
      what: 'a URL given inline',
      section: rds(", sql: { primary: 'postgres://u:p@src/app', replica: env:REP }"),
      error: /targets\[0\]\.rds\.sql\.primary/,
    },
    {
      what: 'an unknown key under sql',
      section: rds(', sql: { primary: env:SRC, replica: env:REP, superuser: true }'),
      error: /targets\[0\]\.rds\.sql\.superuser: unknown key/,
    },
  ])('refused at load: $what', ({ section, error }) => {
    expect(() => target(section)).toThrow(error);
  });
});

describe('plans', () => {
  test('with SQL access: fence, catch up and promote as one step, undone only before the request', () => {
    const plan = planReplicaPromotion(target(rds(', sql: { primary: env:SRC, replica: env:REP }')));
    expect(plan.steps.map((step) => `${step.kind}:${step.name}:${step.executor ?? ''}`)).toEqual([
      'check:preflight:rds-preflight',
      'wait:wait-for-lag:rds-wait-lag',
      'gate:approve-promotion:',
      'check:recheck-lag:rds-recheck-lag',
      'check:prepare:rds-prepare',
      'action:fence-and-promote:rds-fence-and-promote',
      'check:report:rds-report',
    ]);
    expect(plan.steps[2]?.title).toBe('Approve: fence orders-primary and promote orders-replica');
    expect(plan.steps[5]?.compensation).toEqual({ executor: 'rds-unfence', title: 'Unfence orders-primary' });
    expect(plan.warnings?.join(' ')).not.toContain('No fence');
  });

  test('without: the gate and the plan say that writes can be lost, and how much', () => {
    const plan = planReplicaPromotion(target(`${rds(', allowDataLoss: true')}\n    maxLag: { seconds: 3 }`));
    expect(plan.steps.map((step) => step.name)).toEqual([
      'preflight',
      'wait-for-lag',
      'approve-promotion',
      'recheck-lag',
      'promote-replica',
      'wait-available',
    ]);
    expect(plan.steps[2]?.title).toBe('Approve: promote orders-replica without a fence (writes can be lost)');
    expect(plan.steps[2]?.warning).toContain('the ReplicaLag at the re-check (under 3 s');
    expect(plan.warnings).toHaveLength(2);
  });
});

function instance(id: string, overrides: Partial<ReplicaDescription> = {}): ReplicaDescription {
  return {
    id,
    status: 'available',
    sourceId: null,
    pendingModifications: false,
    replicaIds: [],
    instanceClass: 'db.r6g.large',
    engineVersion: '15.5',
    multiAZ: true,
    backupRetentionPeriod: 7,
    deletionProtection: true,
    parameterGroup: 'orders-pg15',
    ...overrides,
  };
}

describe('parity', () => {
  test('an identical replica: nothing to say', () => {
    expect(parityDifferences(instance('a'), instance('b', { sourceId: 'a' }))).toEqual([]);
  });

  test('each difference with what it means for the new primary; unknown counts as different', () => {
    const rows = parityDifferences(
      instance('a'),
      instance('b', { multiAZ: false, backupRetentionPeriod: 0, deletionProtection: undefined }),
    );
    expect(rows).toEqual([
      expect.objectContaining({ setting: 'Multi-AZ', source: 'on', replica: 'off' }),
      expect.objectContaining({ setting: 'backup retention', source: '7 days', replica: '0 days' }),
      expect.objectContaining({ setting: 'deletion protection', source: 'on', replica: 'unknown' }),
    ]);
  });

  test('other replicas of the source: with a fence, they get it through WAL', () => {
    const source = instance('a', { replicaIds: ['b', 'c'] });
    const [warning] = otherReplicaWarnings(source, instance('b', { sourceId: 'a' }), { fenced: true });
    expect(warning).toBe(
      'c also replicates a: they keep following the old source (RDS cannot re-point a read replica), get its fence ' +
        'through WAL (no application role can log in to them afterwards); recreate them as replicas of the new primary',
    );
    expect(
      otherReplicaWarnings(instance('a', { replicaIds: ['b'] }), instance('b'), { fenced: true }),
    ).toEqual([]);
  });
});

describe('Blue/Green logical replication', () => {
  test('read over SQL: tables without a key and large objects named; DDL always said', () => {
    const warnings = blueGreenLimitWarnings({
      database: 'ledger',
      tablesWithoutKey: Array.from({ length: 10 }, (_, i) => `public.t${i}`),
      largeObjects: 2,
    });
    expect(warnings[0]).toBe(DDL_WARNING);
    expect(warnings[1]).toMatch(/^10 table\(s\) in ledger have no primary key .*public\.t7 and 2 more;/);
    expect(warnings[2]).toMatch(/^2 large object\(s\) in ledger/);
    expect(blueGreenLimitWarnings({ database: 'ledger', tablesWithoutKey: [], largeObjects: 0 })).toEqual([
      DDL_WARNING,
    ]);
  });
});

describe('the managed fence: what the bot’s role must be able to do', () => {
  const survey = (overrides: Partial<FenceSurvey>): FenceSurvey => ({
    botRole: 'cutover_bot',
    botIsSuperuser: false,
    rolesToLock: ['app'],
    rolesKept: ['cutover_bot'],
    others: [],
    preparedXacts: [],
    botCanCreateRoles: true,
    botCanSignal: true,
    unlockable: [],
    ...overrides,
  });

  test.each([
    { what: 'an rds_superuser member', overrides: {}, problem: null },
    { what: 'a superuser', overrides: { botIsSuperuser: true, botCanSignal: false }, problem: null },
    {
      what: 'neither right (or an adapter that does not say)',
      overrides: { botCanCreateRoles: undefined, botCanSignal: false },
      problem:
        /needs CREATEROLE \(to make the application roles NOLOGIN\) and membership in pg_signal_backend/,
    },
    {
      what: 'a role it cannot lock',
      overrides: { unlockable: [{ role: 'admin', reason: 'a superuser' }] },
      problem: /cannot be locked out by the bot's role cutover_bot: admin \(a superuser\)/,
    },
  ])('$what', ({ overrides, problem }) => {
    const found = managedFenceProblem(survey(overrides));
    if (problem === null) expect(found).toBeNull();
    else expect(found).toMatch(problem);
  });
});

describe('Blue/Green: the request time is recorded only when the request goes out', () => {
  const emulator = useAwsEmulator();
  const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
  const bg = target('rdsBlueGreen: { region: eu-west-1, deployment: bgd-abc123 }');

  function switchoverStep(): {
    step: StepRecord;
    ctx: (clock: ManualClock, resumed?: boolean) => StepContext;
  } {
    const clock = new ManualClock();
    const run = createRun({
      id: '0b7e5c1a-2d3f-4a5b-8c9d-0e1f2a3b4c5d',
      plan: planReplicaPromotion(bg),
      requestedBy: 'U0REQUESTER',
      channel: 'C0TEST0001',
      policy: { approvalTimeoutMs: 60_000, requiredApprovals: 1, allowSelfApproval: false },
      at: clock.now().toISOString(),
    });
    const step = run.steps.find((candidate) => candidate.spec.name === 'switchover')!;
    return {
      step,
      ctx: (at, resumed = false) => ({
        run,
        step,
        target: bg,
        attempt: step.attempt,
        resumed,
        humanOverride: false,
        clock: at,
        log: silent,
        saveProgress: (output) => {
          step.output = output;
          return Promise.resolve();
        },
      }),
    };
  }

  function executor(adapter: AwsRdsAdapter) {
    return rdsExecutors({ rds: adapter, replication: {} as ReplicationPort, env: {} })['bg-switchover'];
  }

  test('a lost answer: the retry sends nothing and keeps the time the request went out', async () => {
    const { rds } = emulator().reset();
    rds.addInstance('orders-blue').addInstance('orders-green');
    rds.addBlueGreen('bgd-abc123', {
      source: 'orders-blue',
      target: 'orders-green',
      switchover: { result: 'completed', durationMs: 3_600_000 },
    });
    rds.loseNextResponse('SwitchoverBlueGreenDeployment');
    const adapter = new AwsRdsAdapter();
    try {
      const { step, ctx } = switchoverStep();
      const first = new ManualClock('2026-12-07T02:00:00.000Z');
      const failure = await executor(adapter)
        .execute(ctx(first))
        .then(
          () => null,
          (error: unknown) => classify(error),
        );
      expect(failure).toMatchObject({ class: 'retryable', detail: { maybeSent: true } });
      step.error = failure;

      const later = new ManualClock('2026-12-07T02:05:00.000Z');
      const retried = await executor(adapter).execute(ctx(later));
      expect(retried).toEqual({
        type: 'done',
        output: { result: 'in_progress', requestedAtMs: first.now().getTime() },
      });
      expect(rds.count('SwitchoverBlueGreenDeployment')).toBe(1);
    } finally {
      adapter.destroy();
    }
  });

  test('a resumed attempt that finds no record says no request time (none is known)', async () => {
    const { rds } = emulator().reset();
    rds.addInstance('orders-blue').addInstance('orders-green');
    rds.addBlueGreen('bgd-abc123', { source: 'orders-blue', target: 'orders-green' });
    const adapter = new AwsRdsAdapter();
    try {
      const { ctx } = switchoverStep();
      const resumed = await executor(adapter).execute(ctx(new ManualClock(), true));
      expect(resumed).toEqual({ type: 'done', output: { result: 'in_progress' } });
      expect(rds.count('SwitchoverBlueGreenDeployment')).toBe(0);
    } finally {
      adapter.destroy();
    }
  });
});
