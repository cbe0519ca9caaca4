// Every schema version, in order. Migrations are TS modules that embed their SQL, so the tsc build
// output is complete without copying .sql files. Never edit an applied migration: add a new one.
import { migration001 } from './001_initial';
import { migration002 } from './002_slack_messages';
import { migration003 } from './003_lagging_replicas';
import { migration004 } from './004_scheduled_runs';
import { migration005 } from './005_plan_version';
import type { Migration } from './types';

export type { Migration } from './types';

export const MIGRATIONS: readonly Migration[] = [
  migration001,
  migration002,
  migration003,
  migration004,
  migration005,
];
