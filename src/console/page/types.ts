// What the console page reads: the JSON of /console/state, /console/runs, /console/lag and the answers
// of the POST endpoints (written by ../local-console.ts), and the Block Kit it draws (checked by
// ../block-kit.ts before the workspace stores it, so the shapes here are the valid ones).

export interface TextObject {
  type: 'plain_text' | 'mrkdwn';
  text: string;
  emoji?: boolean;
}

export interface ConfirmObject {
  title?: TextObject;
  text?: TextObject;
  confirm?: TextObject;
  deny?: TextObject;
  style?: 'primary' | 'danger';
}

/** A block element; the page draws buttons and plain-text inputs, and names the others. */
export interface KitElement {
  type: string;
  action_id?: string;
  text?: TextObject;
  style?: 'primary' | 'danger';
  url?: string;
  value?: string;
  confirm?: ConfirmObject;
  alt_text?: string;
  multiline?: boolean;
  placeholder?: TextObject;
  max_length?: number;
  initial_value?: string;
  focus_on_load?: boolean;
}

/** A block: the fields of the types the page draws (section, header, context, actions, input, ...). */
export interface KitBlock {
  type: string;
  block_id?: string;
  /** A text object (section, header); a markdown block's text is a string. */
  text?: TextObject;
  fields?: TextObject[];
  accessory?: KitElement;
  /** Actions elements are elements; context elements are text objects or images. */
  elements?: (KitElement | TextObject)[];
  element?: KitElement;
  label?: TextObject;
  hint?: TextObject;
  optional?: boolean;
}

export interface ModalView {
  title?: TextObject;
  submit?: TextObject;
  close?: TextObject;
  blocks?: KitBlock[];
  hash: string;
}

export interface PageMessage {
  ts: string;
  user: string | null;
  bot: boolean;
  text: string;
  blocks: KitBlock[] | null;
  edited: boolean;
  version: number;
  ephemeral: boolean;
  replies: PageMessage[];
  replyCount: number;
}

export interface PageUser {
  id: string;
  name: string;
  role: 'requester' | 'approver' | 'group-member';
  groups: string[];
  approves: string[];
}

export interface PageChannel {
  id: string;
  name: string;
  targets: string[];
}

/** GET /console/state */
export interface ConsoleState {
  team: { id: string; name: string };
  bot: { id: string; name: string };
  user: string;
  channel: string;
  users: PageUser[];
  groups: { id: string; handle: string; members: string[] }[];
  channels: PageChannel[];
  messages: PageMessage[];
  openViews: { id: string; user: string; view: ModalView }[];
}

export interface LagLimits {
  maxBytes?: number;
  maxSeconds?: number;
}

/** One run of GET /console/runs. */
export interface PageRun {
  id: string;
  shortId: string;
  target: string;
  state: string;
  active: boolean;
  channel: string;
  limits: LagLimits;
}

export interface LagSample {
  at: string;
  bytes: number | null;
  seconds: number | null;
  laggingReplicas?: number;
}

/** GET /console/lag?run=… */
export interface RunLag {
  runId: string;
  active: boolean;
  limits: LagLimits;
  samples: LagSample[];
}

/** What the POST endpoints answer: ok, or an error to show; a modal submission may return errors. */
export interface PostAnswer {
  ok: boolean;
  error?: string;
  errors?: Record<string, string>;
}
