// The production adapters behind the strategies' ports.
import { AwsEc2Adapter } from '../adapters/aws/ec2-adapter';
import { AwsRdsAdapter } from '../adapters/aws/rds-adapter';
import { ProbeHealthChecker } from '../adapters/health/probe-health-checker';
import { ProcessHookRunner } from '../adapters/hooks/process-hook-runner';
import { PgReplication } from '../adapters/postgres/pg-replication';
import { secretValues } from '../config/secrets';
import type { TargetsConfig } from '../config/types';
import type { StrategyPorts } from '../strategies';

/**
 * `targets()` is read lazily: the strategies exist before the targets file is loaded (the loader
 * validates entries with their schemas), and hook output must be redacted of every target secret.
 */
export function productionPorts(env: NodeJS.ProcessEnv, targets: () => TargetsConfig | null): StrategyPorts {
  return {
    replication: new PgReplication(),
    rds: new AwsRdsAdapter(),
    ec2: new AwsEc2Adapter(),
    health: new ProbeHealthChecker(),
    hooks: new ProcessHookRunner({ secrets: () => secretValues(targets()?.targets ?? [], env) }),
    env,
  };
}
