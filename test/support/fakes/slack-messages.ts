// Reading the bot's messages back out of the local Slack: buttons, texts, the latest prompt.
import type { ConsoleMessage, SlackApiServer } from '../../../src/console/slack-api-server';

export interface FoundButton {
  message: ConsoleMessage;
  actionId: string;
  value: string;
  blockId: string;
}

interface RawElement {
  type?: string;
  action_id?: string;
  value?: string;
}

interface RawBlock {
  type?: string;
  block_id?: string;
  elements?: RawElement[];
  text?: { text?: string };
  fields?: { text?: string }[];
}

export function buttonsOf(message: ConsoleMessage): FoundButton[] {
  const found: FoundButton[] = [];
  for (const block of (message.blocks ?? []) as RawBlock[]) {
    if (block.type !== 'actions') continue;
    for (const element of block.elements ?? []) {
      if (element.type === 'button' && element.action_id) {
        found.push({
          message,
          actionId: element.action_id,
          value: element.value ?? '',
          blockId: block.block_id ?? '',
        });
      }
    }
  }
  return found;
}

/** Every text in a message's blocks, joined: what a person reads. */
export function textOf(message: ConsoleMessage): string {
  const parts: string[] = [message.text];
  for (const block of (message.blocks ?? []) as RawBlock[]) {
    if (block.text?.text) parts.push(block.text.text);
    for (const field of block.fields ?? []) if (field.text) parts.push(field.text);
    for (const element of block.elements ?? []) {
      const text = (element as { text?: string | { text?: string } }).text;
      if (typeof text === 'string') parts.push(text);
      else if (text?.text) parts.push(text.text);
    }
  }
  return parts.join('\n');
}

/** The newest channel message (not ephemeral, not in a thread) carrying a button with this action id. */
export function latestButton(
  slack: SlackApiServer,
  channel: string,
  actionId: string,
): FoundButton | undefined {
  const messages = slack.messages(channel).filter((message) => !message.ephemeralTo && !message.thread_ts);
  for (const message of [...messages].reverse()) {
    const button = buttonsOf(message).find((candidate) => candidate.actionId === actionId);
    if (button) return button;
  }
  return undefined;
}

export function ephemeralsTo(slack: SlackApiServer, user: string): ConsoleMessage[] {
  return slack.messages().filter((message) => message.ephemeralTo === user);
}
