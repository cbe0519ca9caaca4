// The PostgreSQL pair and writer moved to production code (the demo uses them too); tests keep
// importing them from here.
export {
  startPgCluster,
  startPgPair,
  startWriter,
  type PgCluster,
  type PgPair,
  type StartPgClusterOptions,
  type StartPgPairOptions,
  type Writer,
} from '../../../src/demo/pg-cluster';
