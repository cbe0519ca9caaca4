import {
  DBInstanceNotFoundFault,
  InvalidBlueGreenDeploymentStateFault,
  InvalidDBInstanceStateFault,
} from '@aws-sdk/client-rds';

import {
  decidePromotion,
  decideSwitchover,
  lagWithin,
  promotionVerified,
  resourceIdFromArn,
  sameDbInstance,
} from '../../../src/strategies/replica-promotion/rds-decisions';
import { classifyAwsError } from '../../../src/adapters/aws/errors';
import { AwsRefusal } from '../../../src/ports/rds';
import type { BlueGreenDescription, ReplicaDescription } from '../../../src/ports/rds';
import { accessDeniedError, awsError, throttlingError } from '../../support/aws/rds-model';

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
  const meta = { $metadata: { httpStatusCode: 400 }, message: 'm' };
  it.each([
    [
      'DBInstanceNotFoundFault',
      new DBInstanceNotFoundFault({ ...meta, $metadata: { httpStatusCode: 404 } }),
      'not_found',
      false,
    ],
    ['InvalidDBInstanceStateFault', new InvalidDBInstanceStateFault(meta), 'invalid_state', false],
    [
      'InvalidBlueGreenDeploymentStateFault',
      new InvalidBlueGreenDeploymentStateFault(meta),
      'invalid_state',
      false,
    ],
    ['Throttling', throttlingError(), 'throttled', true],
    [
      'RequestLimitExceeded (by name only)',
      Object.assign(new Error('x'), { name: 'RequestLimitExceeded' }),
      'throttled',
      true,
    ],
    ['HTTP 429', awsError('SomethingNew', 429, 'slow down'), 'throttled', true],
    ['AccessDenied', accessDeniedError(), 'unauthorized', false],
    ['ExpiredToken', awsError('ExpiredToken', 400, 'expired'), 'unauthorized', false],
    [
      'missing credentials',
      Object.assign(new Error('Could not load credentials'), { name: 'CredentialsProviderError' }),
      'unauthorized',
      false,
    ],
    ['a 500', awsError('InternalFailure', 500, 'oops'), 'other', true],
    ['a socket reset', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'other', true],
    ['a validation error', awsError('InvalidParameterValue', 400, 'bad'), 'other', false],
    ['a string', 'boom', 'other', false],
  ])('%s -> %s', (_label, error, code, retryable) => {
    const refusal = classifyAwsError(error);
    expect(refusal).toBeInstanceOf(AwsRefusal);
    expect(refusal).toMatchObject({ code, retryable });
    expect(refusal.cause).toBe(error);
  });

  it('keeps the request id and passes an AwsRefusal through', () => {
    const refusal = classifyAwsError(accessDeniedError());
    expect(refusal.requestId).toBe('req-AccessDenied');
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
