import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';

import {
  decidePromotion,
  decideSwitchover,
  lagWithin,
  promotionVerified,
  resourceIdFromArn,
  sameDbInstance,
} from '../../../src/strategies/replica-promotion/rds-decisions';
import { classifyAwsError } from '../../../src/adapters/aws/errors';
import { AwsRefusal } from '../../../src/ports/aws-refusal';
import type { BlueGreenDescription } from '../../../src/ports/rds-blue-green';
import type { ReplicaDescription } from '../../../src/ports/rds-replicas';
import { rdsError, useAwsEmulator } from '../../support/services/aws/emulator';
import { fastRdsClient } from '../../support/services/aws/fast-retry-clients';

const emulator = useAwsEmulator();
// One attempt: each error arrives as the SDK built it from the emulator's answer.
const client = fastRdsClient('eu-west-1', 1);

afterAll(() => client.destroy());

/** What the SDK throws when RDS answers `code` with `status` (or, with no code, a real lookup). */
async function fromTheWire(code: string | null, status = 400): Promise<unknown> {
  const { rds } = emulator().reset();
  if (code !== null) rds.failNext('DescribeDBInstances', rdsError(code, status, 'm'));
  return client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'orders' })).then(
    () => {
      throw new Error('expected an error');
    },
    (error: unknown) => error,
  );
}

const replica = (overrides: Partial<ReplicaDescription> = {}): ReplicaDescription => ({
  id: 'orders-replica',
  status: 'available',
  sourceId: 'orders',
  pendingModifications: false,
  replicaIds: [],
  ...overrides,
});

const deployment = (overrides: Partial<BlueGreenDescription> = {}): BlueGreenDescription => ({
  id: 'bgd-1',
  name: 'orders-bg',
  status: 'AVAILABLE',
  statusDetails: null,
  source: 'arn:aws:rds:eu-west-1:123456789012:db:orders',
  target: 'arn:aws:rds:eu-west-1:123456789012:db:orders-green',
  switchoverReady: true,
  members: [],
  tasks: [],
  ...overrides,
});

describe('classifyAwsError', () => {
  it.each([
    ['DBInstanceNotFound (404, a real lookup)', null, 404, 'DBInstanceNotFoundFault', 'not_found', false],
    [
      'InvalidDBInstanceState',
      'InvalidDBInstanceState',
      400,
      'InvalidDBInstanceStateFault',
      'invalid_state',
      false,
    ],
    [
      'InvalidBlueGreenDeploymentStateFault',
      'InvalidBlueGreenDeploymentStateFault',
      400,
      'InvalidBlueGreenDeploymentStateFault',
      'invalid_state',
      false,
    ],
    ['Throttling', 'Throttling', 400, 'Throttling', 'throttled', true],
    ['HTTP 429', 'SomethingNew', 429, 'SomethingNew', 'throttled', true],
    ['AccessDenied', 'AccessDenied', 403, 'AccessDenied', 'unauthorized', false],
    ['ExpiredToken', 'ExpiredToken', 400, 'ExpiredToken', 'unauthorized', false],
    ['a 500', 'InternalFailure', 500, 'InternalFailure', 'other', true],
    ['a validation error', 'InvalidParameterValue', 400, 'InvalidParameterValue', 'other', false],
  ] as const)('%s from the wire', async (_label, code, status, name, refusalCode, retryable) => {
    const error = await fromTheWire(code, status);
    const refusal = classifyAwsError(error);
    expect(refusal).toBeInstanceOf(AwsRefusal);
    expect(refusal).toMatchObject({ code: refusalCode, retryable, awsCode: name, httpStatusCode: status });
    expect(refusal.cause).toBe(error);
  });

  it.each([
    [
      'RequestLimitExceeded (by name only)',
      'throttled',
      true,
      Object.assign(new Error('x'), { name: 'RequestLimitExceeded' }),
    ],
    [
      'missing credentials',
      'unauthorized',
      false,
      Object.assign(new Error('Could not load credentials'), { name: 'CredentialsProviderError' }),
    ],
    ['a socket reset', 'other', true, Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['a string', 'other', false, 'boom'],
  ])('%s (thrown before any answer) -> %s', (_label, code, retryable, error) => {
    const refusal = classifyAwsError(error);
    expect(refusal).toBeInstanceOf(AwsRefusal);
    expect(refusal).toMatchObject({ code, retryable });
    expect(refusal.cause).toBe(error);
  });

  it('keeps the request id and passes an AwsRefusal through', async () => {
    const { rds } = emulator().reset();
    rds.deny('DescribeDBInstances');
    const refusal = classifyAwsError(
      await client.send(new DescribeDBInstancesCommand({})).catch((error: unknown) => error),
    );
    expect(refusal.requestId).toBe(rds.calls[0]?.requestId);
    expect(refusal.message).toMatch(/^AccessDenied: User: /);
    expect(classifyAwsError(refusal)).toBe(refusal);
  });
});

describe('decisions', () => {
  it('matches a source given as identifier or ARN', () => {
    expect(sameDbInstance('orders', 'orders')).toBe(true);
    expect(sameDbInstance('arn:aws:rds:us-east-1:123456789012:db:orders', 'orders')).toBe(true);
    expect(sameDbInstance('arn:aws:rds:us-east-1:123456789012:db:orders-2', 'orders')).toBe(false);
    expect(sameDbInstance(null, 'orders')).toBe(false);
    expect(resourceIdFromArn('arn:aws:rds:eu-west-1:123456789012:db:orders-green')).toBe('orders-green');
  });

  it('decides promotion from the world and the executor record', () => {
    expect(decidePromotion(replica())).toEqual({ action: 'promote' });
    expect(decidePromotion(replica(), true)).toMatchObject({ action: 'wait' });
    expect(decidePromotion(replica({ status: 'modifying' }))).toMatchObject({
      action: 'wait',
      status: 'modifying',
    });
    expect(decidePromotion(replica({ sourceId: null }))).toMatchObject({ action: 'skip' });
    expect(decidePromotion(null)).toMatchObject({ action: 'refuse', reason: 'not_found' });
    expect(promotionVerified(replica({ sourceId: null }))).toBe(true);
    expect(promotionVerified(replica({ sourceId: null, status: 'rebooting' }))).toBe(false);
  });

  it('decides switchover', () => {
    expect(decideSwitchover(deployment())).toEqual({ action: 'switch' });
    expect(decideSwitchover(deployment(), true)).toMatchObject({ action: 'wait' });
    expect(decideSwitchover(deployment({ switchoverReady: false }))).toMatchObject({ reason: 'not_ready' });
    expect(decideSwitchover(deployment({ status: 'SWITCHOVER_IN_PROGRESS' }))).toMatchObject({
      action: 'wait',
    });
    expect(decideSwitchover(deployment({ status: 'SWITCHOVER_COMPLETED' }))).toMatchObject({
      action: 'skip',
    });
    expect(decideSwitchover(deployment({ status: 'SWITCHOVER_FAILED' }))).toMatchObject({ reason: 'failed' });
    expect(decideSwitchover(null)).toMatchObject({ reason: 'not_found' });
  });

  it('accepts lag only when known and within the limit', () => {
    expect(lagWithin(2, 5)).toBe(true);
    expect(lagWithin(6, 5)).toBe(false);
    expect(lagWithin(null, 5)).toBe(false);
  });
});
