import type { Migration } from './types';

// Runs unqualified: `migrate` sets `search_path` to the target schema for the migration's transaction.
// Allowed state values mirror RunState / StepState in src/engine/types.ts.
export const migration001: Migration = {
  version: 1,
  name: 'initial',
  sql: `
CREATE TABLE runs (
  id uuid PRIMARY KEY,
  target text NOT NULL,
  strategy text NOT NULL,
  state text NOT NULL
    CHECK (state IN ('running', 'awaiting_approval', 'compensating', 'succeeded', 'failed', 'aborted')),
  requested_by text NOT NULL,
  channel text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  finished_at timestamptz,
  current_step integer NOT NULL DEFAULT -1 CHECK (current_step >= -1),
  outcome text,
  abort_requested jsonb CHECK (abort_requested IS NULL OR jsonb_typeof(abort_requested) = 'object'),
  unwind_to text CHECK (unwind_to IN ('aborted', 'failed')),
  policy jsonb NOT NULL CHECK (jsonb_typeof(policy) = 'object'),
  version integer NOT NULL DEFAULT 1
);

-- One active run per target, enforced here and nowhere else.
CREATE UNIQUE INDEX runs_one_active_per_target ON runs (target)
  WHERE state IN ('running', 'awaiting_approval', 'compensating');
CREATE INDEX runs_created_at_idx ON runs (created_at, id);

CREATE TABLE steps (
  run_id uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  idx integer NOT NULL CHECK (idx >= 0),
  spec jsonb NOT NULL CHECK (jsonb_typeof(spec) = 'object'),
  state text NOT NULL CHECK (state IN ('pending', 'queued', 'running', 'awaiting_approval', 'succeeded', 'failed',
    'skipped', 'compensating', 'compensated', 'compensation_failed')),
  attempt integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
  retries integer NOT NULL DEFAULT 0 CHECK (retries >= 0),
  started_at timestamptz,
  finished_at timestamptz,
  not_before timestamptz,
  output jsonb CHECK (output IS NULL OR jsonb_typeof(output) = 'object'),
  error jsonb CHECK (error IS NULL OR jsonb_typeof(error) = 'object'),
  gate jsonb CHECK (gate IS NULL OR jsonb_typeof(gate) = 'object'),
  human_override boolean NOT NULL DEFAULT false,
  PRIMARY KEY (run_id, idx)
);

CREATE TABLE approvals (
  id bigserial PRIMARY KEY,
  run_id uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  step integer NOT NULL,
  round integer NOT NULL,
  user_id text NOT NULL,
  at timestamptz NOT NULL,
  seen jsonb NOT NULL DEFAULT '{}'::jsonb,
  UNIQUE (run_id, step, round, user_id)
);

-- No foreign key on run_id: refusals that name an unknown run are audited too.
CREATE TABLE audit_events (
  id bigserial PRIMARY KEY,
  run_id uuid,
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  type text NOT NULL,
  payload jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_events_run_idx ON audit_events (run_id, id);

CREATE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP;
END;
$fn$;

CREATE TRIGGER audit_events_no_update_or_delete
  BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate
  BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

CREATE TABLE lag_samples (
  id bigserial PRIMARY KEY,
  run_id uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  at timestamptz NOT NULL,
  bytes bigint,
  seconds double precision
);
CREATE INDEX lag_samples_run_at_idx ON lag_samples (run_id, at);

CREATE TABLE slack_deliveries (
  key text PRIMARY KEY,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX slack_deliveries_received_at_idx ON slack_deliveries (received_at);
`,
};
