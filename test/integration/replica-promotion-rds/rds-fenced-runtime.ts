// Shared by the fenced RDS suites: the targets (a fenced promotion of the pair's emulated instances,
// the same instances without a fence, a Blue/Green deployment whose blue is the pair's primary),
// the real strategy on PgReplication and a given AwsRdsAdapter, and a fresh pair behind a fresh
// emulated RDS. Secrets resolve at use from one env object the pair's URLs are written into.
import type { AwsRdsAdapter } from '../../../src/adapters/aws/rds-adapter';
import { ProcessHookRunner } from '../../../src/adapters/hooks/process-hook-runner';
import { PgReplication } from '../../../src/adapters/postgres/pg-replication';
import type { TargetsConfig } from '../../../src/config/types';
import { createReplicaPromotion } from '../../../src/strategies/replica-promotion';
import type { Strategy } from '../../../src/strategies/types';
import type { AwsEmulator } from '../../support/services/aws/emulator';
import { APPROVER, strategyTargets } from '../../support/runtimes/harness';
import type { PgPair } from '../../support/services/pg-pair';
import {
  addPairInstances,
  botUrls,
  REPLICA_ID,
  setUpRdsRoles,
  SOURCE_ID,
  startRdsLikePair,
} from './rds-pair';
import { promotionPhases } from './rds-runtime';

export const FENCED_TARGET = 'orders-rds-sql';
/** The same instances without SQL access: promoted with no fence (allowDataLoss). */
export const UNFENCED_TARGET = 'orders-rds-unfenced';
/** A Blue/Green deployment whose blue is the pair's primary, read over SQL by the preflight. */
export const BLUE_GREEN_TARGET = 'orders-bg';
/** Plan order of a fenced RDS promotion (planReplicaPromotion). */
export const FENCED_STEP = {
  preflight: 0,
  waitLag: 1,
  gate: 2,
  recheck: 3,
  prepare: 4,
  promote: 5,
  report: 6,
} as const;

const YAML = `
defaults: { channel: C0TEST0001, approvers: [${APPROVER}] }
targets:
  - name: ${FENCED_TARGET}
    strategy: replica-promotion
    rds:
      region: eu-west-1
      primary: ${SOURCE_ID}
      replica: ${REPLICA_ID}
      promoteTimeout: 2m
      catchUpTimeout: 3s
      # postgres plays rdsadmin here; the standby streams as rdsrepladmin.
      sql: { primary: env:RDS_SOURCE_URL, replica: env:RDS_REPLICA_URL, managedRoles: [postgres, rdsrepladmin] }
    lagPollInterval: 50ms
    route: { command: ['/bin/echo', 'routing to {standby.host}:{standby.port}'], timeout: 10s }
  - name: ${UNFENCED_TARGET}
    strategy: replica-promotion
    rds: { region: eu-west-1, primary: ${SOURCE_ID}, replica: ${REPLICA_ID}, promoteTimeout: 2m, allowDataLoss: true }
    maxLag: { seconds: 5 }
    lagPollInterval: 50ms
  - name: ${BLUE_GREEN_TARGET}
    strategy: replica-promotion
    rdsBlueGreen: { region: eu-west-1, deployment: bgd-orders, sql: { blue: env:RDS_SOURCE_URL } }
`;

/** Where the targets' secrets resolve; freshRdsPair writes the pair's URLs into it. */
export function fencedTargetEnv(): NodeJS.ProcessEnv {
  return { RDS_SOURCE_URL: 'postgres://unset', RDS_REPLICA_URL: 'postgres://unset' };
}

export function fencedStrategy(rds: AwsRdsAdapter, env: NodeJS.ProcessEnv): Strategy {
  return createReplicaPromotion({
    replication: new PgReplication(),
    rds,
    hooks: new ProcessHookRunner(),
    env,
  });
}

/** The targets file above, validated by the real loader against the strategy's schema. */
export function fencedTargets(strategy: Strategy, env: NodeJS.ProcessEnv): TargetsConfig {
  return strategyTargets(strategy, YAML, { env, file: 'rds-fenced.yaml' });
}

/**
 * A fresh pair behind a fresh emulated RDS: the promotion takes two looks `modifying` and one
 * `rebooting` (the standby is promoted then), and the promoted instance stays `backing-up` long after.
 */
export async function freshRdsPair(
  emulator: AwsEmulator,
  env: NodeJS.ProcessEnv,
  pairs: PgPair[],
): Promise<PgPair> {
  const pair = await startRdsLikePair();
  pairs.push(pair);
  await setUpRdsRoles(pair);
  const { rds } = emulator.reset({
    rds: { ...promotionPhases({ modifying: 2, rebooting: 1 }), promoteBackingUpMs: 3_600_000 },
  });
  addPairInstances(rds, pair);
  const urls = botUrls(pair);
  env['RDS_SOURCE_URL'] = urls.source;
  env['RDS_REPLICA_URL'] = urls.replica;
  return pair;
}
