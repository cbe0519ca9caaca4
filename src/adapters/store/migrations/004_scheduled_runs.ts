import type { Migration } from './types';

// Scheduled runs: a run can wait in state `scheduled` for its time. It holds no target lock (the
// active-run index leaves it out); one scheduled run per target keeps the list unambiguous.
// `reminded_at` is claimed by the one process that posts the reminder.
export const migration004: Migration = {
  version: 4,
  name: 'scheduled_runs',
  sql: `
ALTER TABLE runs DROP CONSTRAINT runs_state_check;
ALTER TABLE runs ADD CONSTRAINT runs_state_check
  CHECK (state IN ('scheduled', 'running', 'awaiting_approval', 'compensating', 'succeeded', 'failed', 'aborted'));
ALTER TABLE runs ADD COLUMN scheduled_for timestamptz;
ALTER TABLE runs ADD COLUMN reminded_at timestamptz;
ALTER TABLE runs ADD CONSTRAINT runs_scheduled_has_time CHECK (state <> 'scheduled' OR scheduled_for IS NOT NULL);
CREATE UNIQUE INDEX runs_one_scheduled_per_target ON runs (target) WHERE state = 'scheduled';
CREATE INDEX runs_target_finished_idx ON runs (target, finished_at) WHERE state = 'succeeded';
`,
};
