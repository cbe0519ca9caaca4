import type { Migration } from './types';

// Runs unqualified: `migrate` sets `search_path` to the target schema for the migration's transaction.
// One row per Slack message the notifier creates for a run (`progress`, `gate:<step>:<round>`): the
// primary key makes creation exactly-once across processes; `ts` is null until the claimer has posted.
export const migration002: Migration = {
  version: 2,
  name: 'slack_messages',
  sql: `
CREATE TABLE slack_messages (
  run_id uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  key text NOT NULL CHECK (key <> ''),
  channel text,
  ts text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, key)
);
`,
};
