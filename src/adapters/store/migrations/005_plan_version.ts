import type { Migration } from './types';

// Runs record the strategy's plan version that planned them, so a build that can no longer run a
// plan says so at start-up instead of stranding the run at an executor it does not have. Runs from
// before versions are version 1.
export const migration005: Migration = {
  version: 5,
  name: 'plan_version',
  sql: `
ALTER TABLE runs ADD COLUMN plan_version integer NOT NULL DEFAULT 1 CHECK (plan_version >= 1);
`,
};
