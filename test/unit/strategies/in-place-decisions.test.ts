// Pure describe-then-act decisions of an in-place RDS change.
import type {
  InstanceSettingsDescription,
  PendingMaintenanceAction,
} from '../../../src/ports/rds-maintenance';
import {
  decideMaintenance,
  decideModify,
  decideReboot,
  modifyApplied,
  modifyPreflight,
  upgradeFailure,
  upgradeNotHappening,
} from '../../../src/strategies/in-place/rds-decisions';

function instance(overrides: Partial<InstanceSettingsDescription> = {}): InstanceSettingsDescription {
  return {
    id: 'billing-db',
    arn: 'arn:aws:rds:eu-west-1:123456789012:db:billing-db',
    status: 'available',
    engine: 'postgres',
    current: {
      DBInstanceClass: 'db.t3.medium',
      EngineVersion: '15.5',
      AllocatedStorage: 100,
      StorageType: 'gp2',
      DBParameterGroupName: 'default.postgres15',
      MultiAZ: false,
    },
    pending: {},
    pendingModifications: false,
    parameterApplyStatus: 'in-sync',
    ...overrides,
  };
}

describe('modifyPreflight', () => {
  test('a valid change passes; values already in place are warnings', () => {
    const verdict = modifyPreflight(
      instance(),
      'billing-db',
      { DBInstanceClass: 'db.r6g.large', MultiAZ: false },
      null,
    );
    expect(verdict).toEqual({
      blockers: [],
      warnings: ['MultiAZ is already false'],
      changes: ['DBInstanceClass'],
    });
  });

  test.each([
    {
      modify: { EngineVersion: '15.3' },
      targets: null,
      blocker: 'EngineVersion 15.3 < 15.5: RDS cannot downgrade an engine',
    },
    {
      modify: { EngineVersion: '16.4' },
      targets: ['15.6', '16.4'],
      blocker: '15.5 → 16.4 is a major version upgrade: set AllowMajorVersionUpgrade: true to mean it',
    },
    {
      modify: { EngineVersion: '15.9' },
      targets: ['15.6', '15.7'],
      blocker: '15.9 is not a valid upgrade target from 15.5 (RDS lists: 15.6, 15.7)',
    },
    {
      modify: { AllocatedStorage: 105 },
      targets: null,
      blocker: 'less than the 10 % RDS requires (at least 110 GiB)',
    },
    { modify: { AllocatedStorage: 50 }, targets: null, blocker: 'RDS storage cannot shrink' },
  ])('refuses $modify', ({ modify, targets, blocker }) => {
    const verdict = modifyPreflight(instance(), 'billing-db', modify, targets);
    expect(verdict.blockers.join('; ')).toContain(blocker);
  });

  test('a major upgrade RDS lists, with the flag, passes', () => {
    const verdict = modifyPreflight(
      instance(),
      'billing-db',
      { EngineVersion: '16.4', AllowMajorVersionUpgrade: true },
      ['15.6', '16.4'],
    );
    expect(verdict.blockers).toEqual([]);
  });

  test('a missing instance is refused', () => {
    expect(modifyPreflight(null, 'billing-db', { MultiAZ: true }, null).blockers).toEqual([
      'billing-db does not exist',
    ]);
  });
});

describe('decideModify', () => {
  const modify = { DBInstanceClass: 'db.r6g.large' };

  test('sends only to an available instance that does not show the change yet', () => {
    expect(decideModify(instance(), modify, false)).toEqual({ action: 'send' });
    expect(decideModify(instance({ status: 'backing-up' }), modify, false)).toEqual({
      action: 'later',
      status: 'backing-up',
    });
  });

  test('never sends again after an attempt that may have sent it', () => {
    expect(decideModify(instance(), modify, true)).toMatchObject({ action: 'wait', reason: 'in_progress' });
  });

  test('pending or applied: does not send', () => {
    const pending = instance({ status: 'modifying', pending: modify, pendingModifications: true });
    expect(decideModify(pending, modify, false)).toMatchObject({ action: 'wait' });
    const applied = instance({ current: { ...instance().current, ...modify } });
    expect(decideModify(applied, modify, false)).toEqual({ action: 'skip', reason: 'already_applied' });
    expect(modifyApplied(applied, modify)).toBe(true);
    expect(decideModify(null, modify, false)).toEqual({ action: 'refuse', reason: 'not_found' });
  });

  test('a new parameter group still applying is not applied yet', () => {
    const applying = instance({
      current: { ...instance().current, DBParameterGroupName: 'billing-pg15' },
      parameterApplyStatus: 'applying',
    });
    expect(modifyApplied(applying, { DBParameterGroupName: 'billing-pg15' })).toBe(false);
  });
});

describe('decideMaintenance', () => {
  const action = (optInStatus: string | null = null): PendingMaintenanceAction => ({
    resourceArn: 'arn:aws:rds:eu-west-1:123456789012:db:billing-db',
    action: 'system-update',
    description: 'New OS patch',
    optInStatus,
    autoAppliedAfter: null,
    forcedApplyDate: null,
    currentApplyDate: null,
  });

  test('applies a listed action by the resource ARN; an opted-in or vanished one is not sent', () => {
    expect(decideMaintenance(instance(), [action()], 'system-update', false)).toEqual({
      action: 'send',
      resourceArn: 'arn:aws:rds:eu-west-1:123456789012:db:billing-db',
    });
    expect(decideMaintenance(instance(), [action('immediate')], 'system-update', false)).toMatchObject({
      action: 'wait',
    });
    expect(decideMaintenance(instance(), [action()], 'system-update', true)).toMatchObject({
      action: 'wait',
    });
    expect(decideMaintenance(instance(), [], 'system-update', false)).toEqual({
      action: 'skip',
      reason: 'already_applied',
    });
  });
});

describe('decideReboot: a pending-reboot parameter group is rebooted once', () => {
  const pendingReboot = instance({ parameterApplyStatus: 'pending-reboot' });
  test.each([
    { what: 'nothing waits for a reboot', seen: instance(), requested: false, action: 'skip' },
    { what: 'pending-reboot and available', seen: pendingReboot, requested: false, action: 'send' },
    {
      what: 'pending-reboot while backing up',
      seen: { ...pendingReboot, status: 'backing-up' },
      requested: false,
      action: 'later',
    },
    { what: 'asked for, not visible yet', seen: pendingReboot, requested: true, action: 'wait' },
    {
      what: 'asked for, rebooting',
      seen: { ...pendingReboot, status: 'rebooting' },
      requested: true,
      action: 'wait',
    },
    { what: 'asked for, back and in sync', seen: instance(), requested: true, action: 'done' },
    { what: 'gone', seen: null, requested: false, action: 'refuse' },
  ])('$what: $action', ({ seen, requested, action }) => {
    expect(decideReboot(seen, requested).action).toBe(action);
  });
});

describe('an engine upgrade that will not happen', () => {
  const upgrade = { EngineVersion: '16.4', AllowMajorVersionUpgrade: true };
  test('available on the old version with nothing pending: not happening', () => {
    expect(upgradeNotHappening(instance(), upgrade)).toBe(true);
  });
  test.each([
    {
      what: 'still pending',
      seen: instance({ pending: { EngineVersion: '16.4' }, pendingModifications: true }),
    },
    { what: 'upgrading', seen: instance({ status: 'upgrading' }) },
    { what: 'done', seen: instance({ current: { ...instance().current, EngineVersion: '16.4' } }) },
  ])('$what: not a failure', ({ seen }) => {
    expect(upgradeNotHappening(seen, upgrade)).toBe(false);
  });
  test('no version asked for: never', () => {
    expect(upgradeNotHappening(instance(), { DBInstanceClass: 'db.r6g.large' })).toBe(false);
  });

  test('the newest event that says an upgrade failed is the reason; others are not', () => {
    const events = [
      { date: '2026-12-07T10:00:00.000Z', message: 'Finished DB Instance backup', categories: ['backup'] },
      {
        date: '2026-12-07T10:01:00.000Z',
        message:
          'Database instance is in a state that cannot be upgraded: PreUpgrade checks failed: reg* types',
        categories: ['notification'],
      },
      { date: '2026-12-07T10:02:00.000Z', message: 'DB instance restarted', categories: ['availability'] },
    ];
    expect(upgradeFailure(events)?.date).toBe('2026-12-07T10:01:00.000Z');
    expect(upgradeFailure(events.filter((event) => !event.message.includes('upgrade')))).toBeUndefined();
  });
});
