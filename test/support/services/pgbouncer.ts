// The throwaway PgBouncer moved to the demo's code (`npm run demo` puts one in front of its pair);
// tests keep importing it from here.
export { findPgBouncer, PGBOUNCER_ADMIN, startPgBouncer, type PgBouncer } from '../../../src/demo/pgbouncer';
