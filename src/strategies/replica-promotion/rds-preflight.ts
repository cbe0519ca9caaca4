// Read-only checks of an RDS read-replica promotion and of a Blue/Green switchover, shared by the
// preflight steps and `/cutover plan`: the replica is promotable, how it compares with its source,
// what happens to other replicas, whether the source can be fenced over SQL (or what may be lost
// without it), and what Blue/Green's logical replication will not carry.
import { resolveSecret } from '../../config/secrets';
import type { BlueGreenDescription, RdsBlueGreenPort } from '../../ports/rds-blue-green';
import type { ReplicaLagPort } from '../../ports/rds-replica-lag';
import type { RdsReplicaPort, ReplicaDescription } from '../../ports/rds-replicas';
import type { FenceScope, ReplicationPort } from '../../ports/replication';
import type { PreflightCheck } from '../types';
import { blueGreenLimitWarnings } from './bg-limits';
import type { RdsReplicaSettings, ReplicaPromotionSettings } from './config';
import { describeBackends, managedFenceProblem } from './fence-modes';
import { otherReplicaWarnings, parityDifferences, paritySummary, parityWarnings } from './rds-parity';
import { replicaPreflight } from './rds-decisions';

export interface RdsCheckDeps {
  rds: RdsReplicaPort & RdsBlueGreenPort & ReplicaLagPort;
  replication: ReplicationPort;
  env: NodeJS.ProcessEnv;
}

/** The source's and the replica's URLs and the fence's scope, when the target gives SQL access. */
export interface RdsSql {
  primary: string;
  replica: string;
  scope: FenceScope;
}

export function rdsSqlOf(rds: RdsReplicaSettings, env: NodeJS.ProcessEnv): RdsSql | null {
  if (!rds.sql) return null;
  return {
    primary: resolveSecret(rds.sql.primary, env),
    replica: resolveSecret(rds.sql.replica, env),
    scope: { spareRoles: rds.sql.managedRoles, readOnlyDefault: false },
  };
}

function warning(name: string, detail: string): PreflightCheck {
  return { name, ok: true, warning: true, detail };
}

function failure(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Every check of an RDS read-replica promotion; a check with ok false refuses the run. */
export async function rdsReplicaChecks(
  deps: RdsCheckDeps,
  settings: ReplicaPromotionSettings,
): Promise<PreflightCheck[]> {
  try {
    return (await rdsReplicaReview(deps, settings)).checks;
  } catch (error) {
    return [{ name: 'AWS reachable', ok: false, detail: failure(error) }];
  }
}

/** The checks and the replica as RDS describes it; AWS errors are thrown (the step retries them). */
export async function rdsReplicaReview(
  deps: RdsCheckDeps,
  settings: ReplicaPromotionSettings,
): Promise<{ checks: PreflightCheck[]; replica: ReplicaDescription | null }> {
  const rds = settings.rds!;
  const { region, primary, replica } = rds;
  const [described, source] = await Promise.all([
    deps.rds.describeReplica(region, replica),
    deps.rds.describeReplica(region, primary),
  ]);
  const verdict = replicaPreflight(described, primary);
  const checks: PreflightCheck[] = [
    {
      name: `${replica} is a promotable replica of ${primary}`,
      ok: verdict.blockers.length === 0,
      detail: verdict.blockers.join('; ') || 'available, replicating',
    },
    ...verdict.warnings.map((text) => warning('warning', text)),
  ];
  // Refused already: the rest (parity, SQL, lag) would only add noise to the refusal.
  if (described === null || verdict.blockers.length > 0) return { checks, replica: described };
  if (source !== null) {
    const differences = parityDifferences(source, described);
    checks.push({ name: 'parity', ok: true, detail: paritySummary(differences) });
    checks.push(...parityWarnings(differences, primary, replica).map((text) => warning('parity', text)));
  } else {
    checks.push(warning('parity', `${primary} was not found: nothing to compare ${replica} with`));
  }
  const fenced = rds.sql !== undefined;
  checks.push(
    ...otherReplicaWarnings(source, described, { fenced }).map((text) => warning('replicas', text)),
  );
  const sql = rdsSqlOf(rds, deps.env);
  if (sql === null) checks.push(await dataLossCheck(deps, rds));
  else checks.push(...(await sqlChecks(deps.replication, sql, source, described)));
  return { checks, replica: described };
}

/** Without SQL access: refused unless the target accepts data loss; then how much, by ReplicaLag. */
async function dataLossCheck(deps: RdsCheckDeps, rds: RdsReplicaSettings): Promise<PreflightCheck> {
  if (!rds.allowDataLoss) {
    return {
      name: 'no write lost',
      ok: false,
      detail:
        `no SQL access to ${rds.primary}: the bot can neither fence it nor prove that ${rds.replica} has every write. ` +
        'Give rds.sql (the PostgreSQL URLs of source and replica), or set allowDataLoss: true to promote without a fence',
    };
  }
  const lag = await deps.rds.replicaLagSeconds(rds.region, rds.replica).catch(() => null);
  return warning(
    'data loss accepted',
    `allowDataLoss: ${rds.primary} is not fenced; writes ${rds.replica} has not replayed are lost: ReplicaLag ` +
      `${lag === null ? 'unknown' : `${lag} s`} now, plus every write made to ${rds.primary} until clients are routed`,
  );
}

function endpointOf(url: string): string | null {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}`;
  } catch {
    return null;
  }
}

/** The URL reaches the instance RDS describes (a proxy or a CNAME may differ: a warning). */
function sameEndpoint(name: string, url: string, instance: ReplicaDescription | null): PreflightCheck | null {
  if (!instance?.endpoint) return null;
  const described = `${instance.endpoint.address}:${instance.endpoint.port}`;
  const reached = endpointOf(url);
  if (reached === described) return null;
  return warning(
    `${name} endpoint`,
    `the URL reaches ${reached ?? 'an unparsable address'}, RDS names ${instance.id}'s endpoint ${described}: ` +
      'make sure it is the same database (a proxy or a DNS alias is fine)',
  );
}

async function sqlChecks(
  replication: ReplicationPort,
  sql: RdsSql,
  source: ReplicaDescription | null,
  replica: ReplicaDescription,
): Promise<PreflightCheck[]> {
  const run = () => sqlChecksOn(replication, sql, source, replica);
  return replication.withSessions ? replication.withSessions(run) : run();
}

async function sqlChecksOn(
  replication: ReplicationPort,
  sql: RdsSql,
  source: ReplicaDescription | null,
  replica: ReplicaDescription,
): Promise<PreflightCheck[]> {
  const [primaryFacts, replicaFacts] = await Promise.all([
    replication.describe(sql.primary).catch((error: unknown) => new Error(failure(error))),
    replication.describe(sql.replica).catch((error: unknown) => new Error(failure(error))),
  ]);
  const checks: PreflightCheck[] = [
    primaryFacts instanceof Error
      ? {
          name: 'source over SQL',
          ok: false,
          transient: true,
          detail: `does not answer: ${primaryFacts.message}`,
        }
      : {
          name: 'source over SQL',
          ok: !primaryFacts.inRecovery,
          detail: primaryFacts.inRecovery
            ? 'in recovery: not a primary'
            : `PostgreSQL ${primaryFacts.serverVersion}`,
        },
    replicaFacts instanceof Error
      ? {
          name: 'replica over SQL',
          ok: false,
          transient: true,
          detail: `does not answer: ${replicaFacts.message}`,
        }
      : {
          name: 'replica over SQL',
          ok: replicaFacts.inRecovery,
          detail: replicaFacts.inRecovery
            ? `replaying at ${replicaFacts.lsn}`
            : 'not in recovery (promoted?)',
        },
  ];
  for (const check of [
    sameEndpoint('source', sql.primary, source),
    sameEndpoint('replica', sql.replica, replica),
  ]) {
    if (check) checks.push(check);
  }
  if (primaryFacts instanceof Error || replicaFacts instanceof Error) return checks;
  const same = primaryFacts.systemIdentifier === replicaFacts.systemIdentifier;
  checks.push({
    name: 'same database cluster',
    ok: same && primaryFacts.timeline === replicaFacts.timeline,
    detail: !same
      ? `system identifiers differ (${primaryFacts.systemIdentifier}, ${replicaFacts.systemIdentifier}): the URLs name different databases`
      : primaryFacts.timeline !== replicaFacts.timeline
        ? `source on timeline ${primaryFacts.timeline}, replica on ${replicaFacts.timeline}`
        : `system identifier ${primaryFacts.systemIdentifier}, timeline ${primaryFacts.timeline}`,
  });
  const receiver = await replication.walReceiver(sql.replica).catch(() => null);
  checks.push({
    name: 'replica streams',
    ok: receiver?.status === 'streaming',
    detail: `its WAL receiver is ${receiver?.status ?? 'not running'}`,
  });
  let survey;
  try {
    survey = await replication.surveyFence(sql.primary, sql.scope);
  } catch (error) {
    checks.push({
      name: 'fence',
      ok: false,
      detail: `could not read what the fence would do: ${failure(error)}`,
    });
    return checks;
  }
  const problem = managedFenceProblem(survey);
  checks.push({
    name: 'fence',
    ok: problem === null,
    detail:
      problem ??
      `${survey.rolesToLock.length} role(s) cannot log in during the window (${survey.rolesToLock.slice(0, 8).join(', ') || 'none'}); ` +
        `left alone: ${sql.scope.spareRoles?.join(', ') || 'none'}`,
  });
  if (survey.preparedXacts.length > 0) {
    checks.push(
      warning(
        'prepared transactions',
        `${survey.preparedXacts.length} on the source (${survey.preparedXacts
          .slice(0, 5)
          .map((xact) => xact.gid)
          .join(', ')}): the run stops for a decision before fencing`,
      ),
    );
  }
  const kept = survey.others.filter(
    (backend) => backend.role !== null && survey.rolesKept.includes(backend.role),
  );
  if (kept.length > 0) {
    checks.push(
      warning(
        'sessions the fence cannot keep out',
        `${describeBackends(kept)}: the bot's own role could log in again and write; the run stops before fencing while they are open`,
      ),
    );
  }
  return checks;
}

/** Blue/Green: the deployment is ready, and what its logical replication will not carry. */
export async function blueGreenChecks(
  deps: RdsCheckDeps,
  settings: NonNullable<ReplicaPromotionSettings['rdsBlueGreen']>,
): Promise<PreflightCheck[]> {
  try {
    return (await blueGreenReview(deps, settings)).checks;
  } catch (error) {
    return [{ name: 'AWS reachable', ok: false, detail: failure(error) }];
  }
}

/** The checks and the deployment as RDS describes it; AWS errors are thrown (the step retries them). */
export async function blueGreenReview(
  deps: RdsCheckDeps,
  settings: NonNullable<ReplicaPromotionSettings['rdsBlueGreen']>,
): Promise<{ checks: PreflightCheck[]; deployment: BlueGreenDescription | null }> {
  const { region, deployment } = settings;
  const found = await deps.rds.describeBlueGreen(region, deployment);
  const checks: PreflightCheck[] = [
    {
      name: `${deployment} ready to switch over`,
      ok: found?.switchoverReady ?? false,
      detail: found ? `${found.status}${found.statusDetails ? `: ${found.statusDetails}` : ''}` : 'not found',
    },
  ];
  if (!found?.switchoverReady) return { checks, deployment: found };
  let limits = null;
  if (settings.sql && deps.replication.logicalReplicationLimits) {
    try {
      limits = await deps.replication.logicalReplicationLimits(resolveSecret(settings.sql.blue, deps.env));
    } catch (error) {
      checks.push(warning('blue over SQL', `could not check it (${failure(error)})`));
    }
  }
  checks.push(...blueGreenLimitWarnings(limits).map((text) => warning('logical replication', text)));
  return { checks, deployment: found };
}
