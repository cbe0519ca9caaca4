// What a failure from `pg` or the network means: the server could not be reached or the session was
// lost, the connection attempt was refused or rejected, or the server answered with a SQLSTATE.
// Pure: it reads the error's `code`, `message` and `errors` (an AggregateError's), nothing else.
import type { Reachability } from '../../ports/replication';

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  '57P01', // admin_shutdown (terminated, or the server is shutting down)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down)
]);

const CONNECTION_MESSAGES = [
  'connection terminated',
  'timeout expired',
  'connection timeout',
  'query read timeout',
  'client was closed',
  'client has encountered a connection error',
];

/** SQLSTATE 25006: a write refused in a read-only transaction. */
export const READ_ONLY_SQL_TRANSACTION = '25006';

/** SQLSTATE 42704: an object named that does not exist (ALTER ROLE of a dropped role). */
export const UNDEFINED_OBJECT = '42704';

/**
 * True when the error says the server could not be reached or the session was lost (refused, timed out,
 * reset, terminated by an administrator or a shutdown, SQLSTATE class 08), as opposed to the server
 * answering with an error.
 */
export function isConnectionError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message, errors } = error as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof code === 'string' && (CONNECTION_CODES.has(code) || code.startsWith('08'))) return true;
  if (Array.isArray(errors) && errors.some((inner) => isConnectionError(inner))) return true;
  if (typeof message === 'string' && typeof code !== 'string') {
    const lower = message.toLowerCase();
    return CONNECTION_MESSAGES.some((fragment) => lower.includes(fragment));
  }
  return false;
}

/** The error's `code` (a SQLSTATE from the server, or a Node.js error code such as ECONNREFUSED). */
export function sqlStateOf(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    if (typeof error.code === 'string') return error.code;
  }
  return undefined;
}

/**
 * How a failed connection attempt ended. Only a refused connection says nothing listens there: a
 * timeout may be a hung server, and a server that rejects the login (authentication, too many
 * clients, shutting down) is running.
 */
export function reachabilityOf(error: unknown): Reachability {
  const code = sqlStateOf(error);
  if (code === 'ECONNREFUSED' || code === 'ENOENT') return 'refused';
  if (code === 'ETIMEDOUT') return 'timeout';
  if (code !== undefined && /^(28|53|57P03)/.test(code)) return 'rejected';
  const message = error instanceof Error ? error.message.toLowerCase() : '';
  if (message.includes('timeout')) return 'timeout';
  return 'error';
}
