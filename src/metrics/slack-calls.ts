// Counts the Web API calls made through one WebClient, by method and outcome, without touching the
// callers: the client is wrapped once where it is built, and every `client.<ns>.<method>(...)` and
// `client.apiCall(method, ...)` made through the wrapper is counted when it settles.
import { WebAPIPlatformError } from '@slack/web-api';
import { rateLimitedFor } from '../slack/notifier/slack-client';

export type SlackCallOutcome = 'ok' | 'error' | 'ratelimited';

export type SlackCallRecorder = (method: string, outcome: SlackCallOutcome) => void;

/** A 429 (`WebAPIRateLimitedError`) or Slack's `ratelimited` error answer count as rate-limited. */
export function slackCallOutcome(error: unknown): SlackCallOutcome {
  if (rateLimitedFor(error) !== undefined) return 'ratelimited';
  if (error instanceof WebAPIPlatformError && error.data.error === 'ratelimited') return 'ratelimited';
  return 'error';
}

function isPlainObject(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function counted(
  method: string,
  fn: (...args: unknown[]) => unknown,
  thisArg: unknown,
  record: SlackCallRecorder,
): (...args: unknown[]) => unknown {
  const safeRecord = (outcome: SlackCallOutcome): void => {
    try {
      record(method, outcome);
    } catch {
      // Metrics never break a Slack call.
    }
  };
  return (...args: unknown[]) => {
    let result: unknown;
    try {
      result = fn.apply(thisArg, args);
    } catch (error) {
      safeRecord(slackCallOutcome(error));
      throw error;
    }
    if (result instanceof Promise) {
      return result.then(
        (value: unknown) => {
          safeRecord('ok');
          return value;
        },
        (error: unknown) => {
          safeRecord(slackCallOutcome(error));
          throw error;
        },
      );
    }
    return result;
  };
}

/** `client.chat`, `client.admin.users`, ...: plain objects of bound Web API methods. */
function namespaceProxy<T extends object>(namespace: T, path: string, record: SlackCallRecorder): T {
  return new Proxy(namespace, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof prop !== 'string') return value;
      const method = `${path}.${prop}`;
      if (typeof value === 'function') {
        return counted(method, value as (...args: unknown[]) => unknown, target, record);
      }
      if (isPlainObject(value)) return namespaceProxy(value, method, record);
      return value;
    },
  });
}

/**
 * The same client, counting its Web API calls. Everything else (options, `instanceof WebClient`,
 * properties the notifier inspects) reads through to the client itself.
 */
export function instrumentSlackClient<T extends object>(client: T, record: SlackCallRecorder): T {
  return new Proxy(client, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof prop !== 'string') return value;
      if (prop === 'apiCall' && typeof value === 'function') {
        const apiCall = value as (method: string, ...rest: unknown[]) => unknown;
        return (method: string, ...rest: unknown[]) =>
          counted(method, apiCall as (...args: unknown[]) => unknown, target, record)(method, ...rest);
      }
      if (isPlainObject(value)) return namespaceProxy(value, prop, record);
      // Methods of the client's class run on the client itself, not on the proxy.
      if (typeof value === 'function' && !Object.prototype.hasOwnProperty.call(target, prop)) {
        return (value as (...args: unknown[]) => unknown).bind(target);
      }
      return value;
    },
  });
}
