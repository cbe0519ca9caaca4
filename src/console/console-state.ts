// What the console page shows of a channel for one person: the channel's messages in order, each with
// its thread, and the ephemerals addressed to that person (as Slack shows them: inline, only to them).
// Pure: it reads copies of the workspace's messages and views.
import type { ConsoleMessage, ConsoleView } from './slack-workspace';

export interface PageMessage {
  ts: string;
  /** Set for thread replies: the parent's ts. */
  threadTs?: string;
  /** A thread reply also shown in the channel (reply_broadcast): the channel copy has no threadTs. */
  broadcast?: boolean;
  user: string | null;
  bot: boolean;
  text: string;
  blocks: unknown[] | null;
  /** Updated in place (chat.update) at least once. */
  edited: boolean;
  /** Times updated: the page redraws a message when this (or its content) changes. */
  version: number;
  /** Only the selected person sees it ("Only visible to you"). */
  ephemeral: boolean;
  /** Thread replies visible to the selected person (top-level messages only). */
  replies: PageMessage[];
  replyCount: number;
}

export interface PageView {
  id: string;
  user: string;
  /** The view as Slack stores it (title, blocks with block ids, submit, close, hash, ...). */
  view: Record<string, unknown>;
}

/** Top-level messages returned at most (the newest). */
export const MAX_PAGE_MESSAGES = 300;

function toPage(m: ConsoleMessage): PageMessage {
  const out: PageMessage = {
    ts: m.ts,
    user: m.user ?? null,
    bot: m.bot,
    text: m.text,
    blocks: m.blocks ?? null,
    edited: m.history > 0,
    version: m.history,
    ephemeral: m.ephemeralTo !== undefined,
    replies: [],
    replyCount: 0,
  };
  if (m.thread_ts !== undefined) out.threadTs = m.thread_ts;
  return out;
}

/**
 * The channel as `user` sees it. `messages` are the workspace's messages of that channel in posting
 * order (thread replies and every ephemeral included); others' ephemerals are left out.
 */
export function channelMessages(messages: readonly ConsoleMessage[], user: string): PageMessage[] {
  const visible = messages.filter((m) => m.ephemeralTo === undefined || m.ephemeralTo === user);
  const top: PageMessage[] = [];
  const byTs = new Map<string, PageMessage>();
  for (const m of visible) {
    if (m.thread_ts !== undefined) {
      // Slack shows a broadcast reply in the channel as well as in its thread.
      if (m.broadcast === true) top.push({ ...toPage(m), threadTs: undefined, broadcast: true });
      continue;
    }
    const page = toPage(m);
    top.push(page);
    byTs.set(m.ts, page);
  }
  for (const m of visible) {
    if (m.thread_ts === undefined) continue;
    const parent = byTs.get(m.thread_ts);
    if (!parent) continue;
    parent.replies.push(toPage(m));
    parent.replyCount += 1;
  }
  return top.slice(-MAX_PAGE_MESSAGES);
}

/** The modals open for `user`, oldest first (the last one is on top). */
export function openViewsOf(views: Iterable<ConsoleView>, user: string): PageView[] {
  const out: PageView[] = [];
  for (const v of views) if (v.user === user) out.push({ id: v.id, user: v.user, view: v.view });
  return out;
}
