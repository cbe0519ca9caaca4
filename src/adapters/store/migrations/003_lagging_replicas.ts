import type { Migration } from './types';

// Clustered stores (rolling-replace) have no byte/second lag: what they report over time is the
// number of lagging replicas (under-replicated partitions), drawn with the same sparkline and ETA.
export const migration003: Migration = {
  version: 3,
  name: 'lagging_replicas',
  sql: `
ALTER TABLE lag_samples ADD COLUMN lagging_replicas integer CHECK (lagging_replicas >= 0);
`,
};
