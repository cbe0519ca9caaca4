// The notifier's calls to Slack: chat.postMessage and chat.update, each method in its own lane (one call
// at a time, so that a 429 stops every later call of it), spaced per message or channel, held back for
// Retry-After after a 429, and chat.update within the workspace's update budget.
//
// Times are wall time in ms from the injected clock: the timers that wait for them run in real time.
import type {
  ChatPostMessageArguments,
  ChatPostMessageResponse,
  ChatUpdateResponse,
  WebClient,
} from '@slack/web-api';

import type { Clock } from '../../ports/clock';
import type { Logger } from '../../ports/logger';
import type { ChatUpdateBudget } from '../../ports/update-budget';
import type { Message } from '../render';
import { clientRetriesOnItsOwn, rateLimitedFor } from './slack-client';

export type Method = 'chat.postMessage' | 'chat.update';

/** Where a posted message is. */
export interface Location {
  channel: string;
  ts: string;
}

export interface PostArgs {
  channel: string;
  text: string;
  blocks?: Message['blocks'];
  thread_ts?: string;
  reply_broadcast?: boolean;
}

/** Thrown where a call may not be made yet (rate limit, spacing): try again at `until` (wall time). */
export class NotYet extends Error {
  constructor(readonly until: number) {
    super('not yet');
  }
}

/** The spacing key of writes to one message. */
export const messageKey = (at: Location): string => `msg:${at.channel}:${at.ts}`;
/** The spacing key of new messages in one channel. */
export const channelKey = (channel: string): string => `post:${channel}`;

export interface SlackWriterOptions {
  /** Built by `createSlackClient` (no retries of its own, 429s rejected at once). */
  client: WebClient;
  clock: Clock;
  log: Logger;
  /** At most one write per spacing key per this many ms. */
  minIntervalMs: number;
  updateBudget: ChatUpdateBudget;
}

export class SlackWriter {
  /** Method → wall time until which a 429 forbids calling it. */
  private readonly blockedUntil = new Map<Method, number>();
  /** Spacing key → wall time of the last successful write. */
  private readonly lastWrite = new Map<string, number>();
  /** Calls of one method go one at a time, so that a 429 stops every later call of it. */
  private readonly lanes = new Map<Method, Promise<void>>();
  private closed = false;

  constructor(private readonly options: SlackWriterOptions) {
    if (clientRetriesOnItsOwn(options.client)) {
      options.log.warn(
        {},
        'the Slack WebClient was not built with rejectRateLimitedCalls: true and retryConfig: { retries: 0 } ' +
          '(use createSlackClient): it will sleep through 429s on its own and hold up every later call',
      );
    }
  }

  /** From now on every call is "not yet", forever. */
  close(): void {
    this.closed = true;
  }

  /** 0 when `method` may be called now for `spacingKey`, else the wall time from which it may. */
  notBefore(method: Method, spacingKey: string): number {
    const now = this.now();
    const blocked = this.blockedUntil.get(method) ?? 0;
    const last = this.lastWrite.get(spacingKey);
    const spaced = last === undefined ? 0 : last + this.options.minIntervalMs;
    const at = Math.max(blocked, spaced);
    return at > now ? at : 0;
  }

  /** Throws NotYet unless `method` may be called now for `spacingKey`. */
  check(method: Method, spacingKey: string): void {
    if (this.closed) throw new NotYet(Number.POSITIVE_INFINITY);
    const at = this.notBefore(method, spacingKey);
    if (at !== 0) throw new NotYet(at);
  }

  /**
   * Takes a place in the chat.update budget now: 0 when taken, else the wall time when one may be.
   * `lagOnly`: a redraw that only adds a lag sample, which leaves the reserved share to real changes.
   */
  takeUpdate(lagOnly: boolean): Promise<number> {
    return this.options.updateBudget.take(this.now(), lagOnly);
  }

  post(spacingKey: string, args: PostArgs): Promise<ChatPostMessageResponse> {
    return this.send('chat.postMessage', spacingKey, () =>
      // The SDK types a broadcast reply as its own variant; `args` is one or the other by construction.
      this.options.client.chat.postMessage({
        ...args,
        unfurl_links: false,
        unfurl_media: false,
      } as ChatPostMessageArguments),
    );
  }

  update(at: Location, message: Message): Promise<ChatUpdateResponse> {
    return this.send('chat.update', messageKey(at), () =>
      this.options.client.chat.update({ channel: at.channel, ts: at.ts, ...message }),
    );
  }

  /** Counts a successful write to `spacingKey` now: the next one waits `minIntervalMs`. */
  wrote(spacingKey: string): void {
    const now = this.now();
    this.lastWrite.set(spacingKey, now);
    if (this.lastWrite.size > 1000) {
      for (const [key, at] of this.lastWrite) {
        if (at + this.options.minIntervalMs < now) this.lastWrite.delete(key);
      }
    }
  }

  /** One call, after the previous call of the same method has been answered, unless blocked or too soon. */
  private async send<T>(method: Method, spacingKey: string, invoke: () => Promise<T>): Promise<T> {
    const previous = this.lanes.get(method) ?? Promise.resolve();
    let release: () => void = () => undefined;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const lane = previous.then(() => mine);
    this.lanes.set(method, lane);
    await previous;
    try {
      this.check(method, spacingKey);
      try {
        const result = await invoke();
        this.wrote(spacingKey);
        return result;
      } catch (error) {
        const seconds = rateLimitedFor(error);
        if (seconds === undefined) throw error;
        const until = this.now() + Math.max(1, seconds) * 1000;
        this.blockedUntil.set(method, Math.max(until, this.blockedUntil.get(method) ?? 0));
        this.options.log.warn(
          { method, retryAfterSeconds: seconds },
          'slack rate limit: holding this method back',
        );
        throw new NotYet(until);
      }
    } finally {
      release();
      if (this.lanes.get(method) === lane) this.lanes.delete(method);
    }
  }

  private now(): number {
    return this.options.clock.now().getTime();
  }
}
