// The WebClient the notifier expects, and how it classifies the WebClient's errors.
import {
  ErrorCode,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebClient,
  type WebClientOptions,
} from '@slack/web-api';

/** Per-request timeout of `createSlackClient` (the WebClient's own default is none). */
export const DEFAULT_SLACK_TIMEOUT_MS = 10_000;

export type SlackClientOptions = Omit<
  WebClientOptions,
  'slackApiUrl' | 'rejectRateLimitedCalls' | 'retryConfig'
>;

/**
 * A WebClient configured the way `SlackNotifier` needs it: `rejectRateLimitedCalls: true` and
 * `retryConfig: { retries: 0 }`. By default the WebClient answers a 429 by pausing its whole request
 * queue and retrying on its own (for up to half an hour), out of the notifier's sight; with these two
 * options a 429 surfaces at once as a `WebAPIRateLimitedError` carrying `retryAfter`, and the notifier
 * blocks only that method, keeps the pending work and retries it itself.
 *
 * `apiUrl` (e.g. `SLACK_API_URL`, or a local `SlackApiServer`'s `url`) becomes `slackApiUrl`.
 */
export function createSlackClient(
  token: string,
  apiUrl?: string,
  options: SlackClientOptions = {},
): WebClient {
  return new WebClient(token, {
    timeout: DEFAULT_SLACK_TIMEOUT_MS,
    ...options,
    ...(apiUrl !== undefined && apiUrl !== '' ? { slackApiUrl: apiUrl } : {}),
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
  });
}

/** True when `client` was not built with the options above (the notifier logs a warning). */
export function clientRetriesOnItsOwn(client: WebClient): boolean {
  const c = client as unknown as { rejectRateLimitedCalls?: unknown };
  return c.rejectRateLimitedCalls !== true;
}

/** Seconds to wait when `error` is a 429 (`WebAPIRateLimitedError`), otherwise undefined. */
export function rateLimitedFor(error: unknown): number | undefined {
  if (error instanceof WebAPIRateLimitedError) return error.retryAfter;
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const e = error as { code?: unknown; retryAfter?: unknown };
    if (e.code === ErrorCode.RateLimitedError && typeof e.retryAfter === 'number') return e.retryAfter;
  }
  return undefined;
}

/** Slack errors (`ok: false`) that say "try again later" rather than "this request is wrong". */
const TRANSIENT_PLATFORM_ERRORS: ReadonlySet<string> = new Set([
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'ratelimited',
]);

/** A failure worth retrying: network and 5xx errors, Slack's transient errors, and non-Slack errors (the store). */
export function isTransient(error: unknown): boolean {
  if (error instanceof WebAPIPlatformError) return TRANSIENT_PLATFORM_ERRORS.has(error.data.error);
  if (error instanceof WebAPIHTTPError) return error.statusCode >= 500 || error.statusCode === 408;
  if (error instanceof PermanentError) return false;
  return true;
}

/** A failure the notifier will not retry (run gone, channel unknown, ...). */
export class PermanentError extends Error {}

/** What a log line says about an error: Slack's error code when there is one. */
export function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof WebAPIPlatformError) return { slackError: error.data.error };
  if (error instanceof WebAPIHTTPError) return { httpStatus: error.statusCode, err: error.message };
  if (error instanceof Error) return { err: error.message };
  return { err: String(error) };
}
