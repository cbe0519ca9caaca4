// Pure: what an RDS Blue/Green deployment of PostgreSQL does not carry from blue to green. Green is
// kept in sync by logical replication, which replicates neither DDL nor large objects, and cannot
// replicate UPDATE or DELETE of a table without a primary key (or replica identity). Read over SQL
// when the target gives blue's URL; otherwise said as what to check.
import type { LogicalReplicationLimits } from '../../ports/replication';

const SHOWN_TABLES = 8;

export const DDL_WARNING =
  'Blue/Green replicates with logical replication: DDL run on blue after the deployment was created ' +
  '(CREATE, ALTER, DROP) does not reach green; make no schema change until the switchover';

/** The warnings for the preflight; `limits` null when blue was not read over SQL. */
export function blueGreenLimitWarnings(limits: LogicalReplicationLimits | null): string[] {
  if (limits === null) {
    return [
      DDL_WARNING,
      'large objects are not replicated to green, nor UPDATE/DELETE of tables without a primary key: ' +
        'not checked (give sql.blue to check them)',
    ];
  }
  const warnings = [DDL_WARNING];
  const { tablesWithoutKey, largeObjects, database } = limits;
  if (tablesWithoutKey.length > 0) {
    const shown = tablesWithoutKey.slice(0, SHOWN_TABLES).join(', ');
    const more =
      tablesWithoutKey.length > SHOWN_TABLES ? ` and ${tablesWithoutKey.length - SHOWN_TABLES} more` : '';
    warnings.push(
      `${tablesWithoutKey.length} table(s) in ${database} have no primary key (nor replica identity): ${shown}${more}; ` +
        'their UPDATE and DELETE are not replicated to green (add a primary key, or REPLICA IDENTITY FULL)',
    );
  }
  if (largeObjects > 0) {
    warnings.push(
      `${largeObjects} large object(s) in ${database}: large objects are not replicated; green does not have ` +
        'those written since the deployment was created',
    );
  }
  return warnings;
}
