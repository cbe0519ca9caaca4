// A minimal, local model of Slack's Block Kit JSON (only what the renderers use), Slack's documented
// limits, small builders that keep every text inside them, and the ids/values of our interactive elements.
// Pure: no Slack SDK, no I/O.

export interface PlainText {
  type: 'plain_text';
  text: string;
  emoji?: boolean;
}

export interface Mrkdwn {
  type: 'mrkdwn';
  text: string;
  verbatim?: boolean;
}

export type TextObject = PlainText | Mrkdwn;

export interface ConfirmDialog {
  title: PlainText;
  text: TextObject;
  confirm: PlainText;
  deny: PlainText;
  style?: 'primary' | 'danger';
}

export interface ButtonElement {
  type: 'button';
  action_id: string;
  text: PlainText;
  value?: string;
  style?: 'primary' | 'danger';
  confirm?: ConfirmDialog;
}

export interface PlainTextInputElement {
  type: 'plain_text_input';
  action_id: string;
  placeholder?: PlainText;
  initial_value?: string;
  multiline?: boolean;
  min_length?: number;
  max_length?: number;
  focus_on_load?: boolean;
}

export interface SectionBlock {
  type: 'section';
  block_id?: string;
  text?: TextObject;
  fields?: TextObject[];
  accessory?: ButtonElement;
}

export interface ContextBlock {
  type: 'context';
  block_id?: string;
  elements: TextObject[];
}

export interface HeaderBlock {
  type: 'header';
  block_id?: string;
  text: PlainText;
}

export interface DividerBlock {
  type: 'divider';
  block_id?: string;
}

export interface ActionsBlock {
  type: 'actions';
  block_id?: string;
  elements: ButtonElement[];
}

export interface InputBlock {
  type: 'input';
  block_id: string;
  label: PlainText;
  element: PlainTextInputElement;
  hint?: PlainText;
  optional?: boolean;
  dispatch_action?: boolean;
}

export type Block = SectionBlock | ContextBlock | HeaderBlock | DividerBlock | ActionsBlock | InputBlock;

/** A message body for chat.postMessage / chat.update: `text` is the notification fallback. */
export interface Message {
  text: string;
  blocks: Block[];
}

export interface ModalView {
  type: 'modal';
  callback_id: string;
  title: PlainText;
  submit: PlainText;
  close: PlainText;
  private_metadata: string;
  blocks: Block[];
  clear_on_close?: boolean;
  notify_on_close?: boolean;
}

/**
 * Slack's documented Block Kit limits (characters unless said otherwise): the one table. The
 * renderer keeps within them; the local console's Web API stand-in (src/console/block-kit.ts)
 * refuses what breaks any of them, as Slack would.
 */
export const LIMITS = {
  messageBlocks: 50,
  modalBlocks: 100,
  /** Recommended maximum for a message's top-level `text` (the fallback). */
  messageText: 4000,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  contextElements: 10,
  contextText: 3000,
  headerText: 150,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  blockId: 255,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  inputLabel: 2000,
  inputHint: 2000,
  inputPlaceholder: 150,
  modalTitle: 24,
  modalButton: 24,
  privateMetadata: 3000,
  callbackId: 255,
  markdownBlockText: 12000,
  url: 3000,
  altText: 2000,
  options: 100,
  optionText: 75,
  optionValue: 150,
  externalId: 255,
  /** A view's JSON, in bytes. */
  viewBytes: 250_000,
} as const;

// ---- interactive ids and values (the contract with the action handlers) ----

export const ACTION_APPROVE = 'cutover_approve';
export const ACTION_ABORT = 'cutover_abort';
export const ACTION_REASK = 'cutover_reask';
export const CONFIRM_CALLBACK_ID = 'cutover_confirm';
export const CONFIRM_BLOCK_ID = 'confirm_target';
export const CONFIRM_ACTION_ID = 'typed_target';

/** Value of an Approve button and private_metadata of the confirm modal. */
export interface GateRef {
  runId: string;
  step: number;
  round: number;
}

/** Value of an Abort or Ask-again button. */
export interface StepRef {
  runId: string;
  step: number;
}

export function encodeStepRef(ref: StepRef): string {
  return JSON.stringify({ runId: ref.runId, step: ref.step });
}

export function encodeGateRef(ref: GateRef): string {
  return JSON.stringify({ runId: ref.runId, step: ref.step, round: ref.round });
}

function parseObject(value: string): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** Reads a button value / metadata written by `encodeStepRef`; null for anything else (forged, stale). */
export function parseStepRef(value: string): StepRef | null {
  const o = parseObject(value);
  if (!o || typeof o.runId !== 'string' || o.runId === '' || !Number.isInteger(o.step)) return null;
  return { runId: o.runId, step: o.step as number };
}

/** Reads a value written by `encodeGateRef`; null for anything else. */
export function parseGateRef(value: string): GateRef | null {
  const ref = parseStepRef(value);
  const o = parseObject(value);
  if (!ref || !o || !Number.isInteger(o.round)) return null;
  return { ...ref, round: o.round as number };
}

// ---- text helpers ----

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * For mrkdwn written elsewhere (a strategy's report, which quotes hook and database output): its
 * formatting stays, but every `<` and `>` is escaped, so no mention, `<!channel>` or link can come
 * out of it, whatever the output held. Idempotent: entities already escaped are left as they are.
 */
export function neutralizeMrkdwn(text: string): string {
  return text
    .replace(/&(?!(?:amp|lt|gt);)/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/** Cuts `text` to at most `max` characters, ending with "…"; never splits a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  let cut = max - 1;
  const code = text.charCodeAt(cut - 1);
  if (cut > 0 && code >= 0xd800 && code <= 0xdbff) cut -= 1;
  return `${text.slice(0, cut)}…`;
}

/**
 * `truncate` for mrkdwn that is already escaped: never ends inside an entity (`&amp;`) or inside a
 * Slack token (`<@U…>`, `<!date^…>`), either of which would render as garbage.
 */
export function truncateMrkdwn(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  let cut = max - 1;
  const code = text.charCodeAt(cut - 1);
  if (cut > 0 && code >= 0xd800 && code <= 0xdbff) cut -= 1;
  const head = text.slice(0, cut);
  const amp = head.lastIndexOf('&');
  if (amp > head.lastIndexOf(';')) cut = amp;
  const open = text.slice(0, cut).lastIndexOf('<');
  if (open > text.slice(0, cut).lastIndexOf('>')) cut = open;
  // Inline formatting (`code`, *bold*) left open by the cut renders literally; that is acceptable.
  return `${text.slice(0, cut)}…`;
}

export function plain(text: string, max: number): PlainText {
  return { type: 'plain_text', text: truncate(text.trim() === '' ? '-' : text, max), emoji: true };
}

/** A mrkdwn object; `text` must already be escaped where it holds user/config text. */
export function mrkdwn(text: string, max: number = LIMITS.sectionText): Mrkdwn {
  return { type: 'mrkdwn', text: truncateMrkdwn(text.trim() === '' ? '-' : text, max) };
}

// ---- block builders ----

export function header(text: string): HeaderBlock {
  return { type: 'header', text: plain(text, LIMITS.headerText) };
}

export function section(text: string): SectionBlock {
  return { type: 'section', text: mrkdwn(text, LIMITS.sectionText) };
}

/** A two-column section: at most 10 fields, each cut to 2000 characters. */
export function fieldsSection(fields: string[]): SectionBlock {
  return {
    type: 'section',
    fields: fields.slice(0, LIMITS.sectionFields).map((f) => mrkdwn(f, LIMITS.sectionFieldText)),
  };
}

export function context(...texts: string[]): ContextBlock {
  return {
    type: 'context',
    elements: texts.slice(0, LIMITS.contextElements).map((t) => mrkdwn(t, LIMITS.contextText)),
  };
}

export function divider(): DividerBlock {
  return { type: 'divider' };
}

export function confirmDialog(input: {
  title: string;
  text: string;
  confirm: string;
  deny: string;
  style?: 'primary' | 'danger';
}): ConfirmDialog {
  return {
    title: plain(input.title, LIMITS.confirmTitle),
    text: plain(input.text, LIMITS.confirmText),
    confirm: plain(input.confirm, LIMITS.confirmButton),
    deny: plain(input.deny, LIMITS.confirmButton),
    ...(input.style ? { style: input.style } : {}),
  };
}

export function button(input: {
  actionId: string;
  text: string;
  value?: string;
  style?: 'primary' | 'danger';
  confirm?: ConfirmDialog;
}): ButtonElement {
  return {
    type: 'button',
    action_id: input.actionId,
    text: plain(input.text, LIMITS.buttonText),
    ...(input.value !== undefined ? { value: input.value } : {}),
    ...(input.style ? { style: input.style } : {}),
    ...(input.confirm ? { confirm: input.confirm } : {}),
  };
}

export function actions(blockId: string, elements: ButtonElement[]): ActionsBlock {
  return { type: 'actions', block_id: blockId, elements: elements.slice(0, LIMITS.actionsElements) };
}

/** The Abort button (progress message and gate prompt share it). */
export function abortButton(ref: StepRef): ButtonElement {
  return button({
    actionId: ACTION_ABORT,
    text: 'Abort',
    style: 'danger',
    value: encodeStepRef(ref),
    confirm: confirmDialog({
      title: 'Abort this cutover?',
      text: 'Abort this cutover? Completed steps with an undo will be rolled back.',
      confirm: 'Abort',
      deny: 'Keep going',
      style: 'danger',
    }),
  });
}

// ---- line packing: long lists into as few sections as the block budget allows ----

/** Greedily joins lines into chunks of at most `max` characters (a longer line is cut on its own). */
export function packLines(lines: string[], max: number = LIMITS.sectionText): string[] {
  const chunks: string[] = [];
  let current = '';
  for (const raw of lines) {
    const line = truncateMrkdwn(raw, max);
    if (current === '') current = line;
    else if (current.length + 1 + line.length <= max) current = `${current}\n${line}`;
    else {
      chunks.push(current);
      current = line;
    }
  }
  if (current !== '') chunks.push(current);
  return chunks;
}

/**
 * Packs `lines` into at most `maxChunks` chunks. When they do not fit, lines farthest from `focus` are
 * left out and replaced by a line from `omitted(from, to)` (describing lines [from, to)).
 */
export function fitLines(
  lines: string[],
  maxChunks: number,
  omitted: (from: number, to: number) => string,
  focus = 0,
): string[] {
  const n = lines.length;
  const f = Math.min(Math.max(focus, 0), Math.max(n - 1, 0));
  let lo = 0;
  let hi = n;
  for (;;) {
    const shown = [
      ...(lo > 0 ? [omitted(0, lo)] : []),
      ...lines.slice(lo, hi),
      ...(hi < n ? [omitted(hi, n)] : []),
    ];
    const chunks = packLines(shown);
    if (chunks.length <= maxChunks || hi - lo <= 1) return chunks.slice(0, Math.max(maxChunks, 0));
    // Drop from the end farther from the focus; big lists shrink by a tenth at a time.
    const drop = Math.max(1, Math.floor((hi - lo) / 10));
    for (let i = 0; i < drop && hi - lo > 1; i += 1) {
      if (f - lo >= hi - 1 - f) lo += 1;
      else hi -= 1;
    }
  }
}

// ---- time ----

/** "02:14 UTC" */
export function utcClock(date: Date): string {
  return `${date.toISOString().slice(11, 16)} UTC`;
}

/** "2026-11-28 02:00 UTC": one unambiguous form for every reader, whatever their time zone. */
export function utcDateTime(date: Date): string {
  return `${date.toISOString().slice(0, 10)} ${utcClock(date)}`;
}

/** A Slack date token shown in the reader's time zone, e.g. "Today at 2:14 AM"; UTC text as fallback. */
export function slackDate(date: Date): string {
  const unix = Math.floor(date.getTime() / 1000);
  const fallback = utcDateTime(date);
  return `<!date^${unix}^{date_short_pretty} {time}|${fallback}>`;
}

// ---- mentions ----

export function userMention(id: string): string {
  return `<@${escapeMrkdwn(id)}>`;
}

/** `S…` ids are user groups (`<!subteam^S…>`); anything else is a user. */
export function approverMention(id: string): string {
  return id.startsWith('S') ? `<!subteam^${escapeMrkdwn(id)}>` : userMention(id);
}

export function channelMention(id: string): string {
  return `<#${escapeMrkdwn(id)}>`;
}

// ---- limits check (tests, and a notifier may log violations before posting) ----

function checkText(where: string, t: TextObject | undefined, max: number, out: string[]): void {
  if (!t) return;
  if (t.text.length === 0) out.push(`${where}: empty text`);
  if (t.text.length > max) out.push(`${where}: ${t.text.length} > ${max} characters`);
}

function checkButton(where: string, b: ButtonElement, out: string[]): void {
  checkText(`${where}.text`, b.text, LIMITS.buttonText, out);
  if (b.action_id.length > LIMITS.actionId) out.push(`${where}.action_id too long`);
  if (b.value !== undefined && b.value.length > LIMITS.buttonValue) out.push(`${where}.value too long`);
  if (b.confirm) {
    checkText(`${where}.confirm.title`, b.confirm.title, LIMITS.confirmTitle, out);
    checkText(`${where}.confirm.text`, b.confirm.text, LIMITS.confirmText, out);
    checkText(`${where}.confirm.confirm`, b.confirm.confirm, LIMITS.confirmButton, out);
    checkText(`${where}.confirm.deny`, b.confirm.deny, LIMITS.confirmButton, out);
  }
}

/** Every way `blocks` break Slack's documented limits; empty when Slack would accept them. */
export function blockViolations(blocks: Block[], maxBlocks: number = LIMITS.messageBlocks): string[] {
  const out: string[] = [];
  if (blocks.length > maxBlocks) out.push(`${blocks.length} blocks > ${maxBlocks}`);
  const ids = new Set<string>();
  blocks.forEach((b, i) => {
    const where = `blocks[${i}] (${b.type})`;
    if (b.block_id !== undefined) {
      if (b.block_id.length > LIMITS.blockId) out.push(`${where}: block_id too long`);
      if (ids.has(b.block_id)) out.push(`${where}: duplicate block_id ${b.block_id}`);
      ids.add(b.block_id);
    }
    switch (b.type) {
      case 'section':
        if (!b.text && !b.fields) out.push(`${where}: needs text or fields`);
        checkText(`${where}.text`, b.text, LIMITS.sectionText, out);
        if (b.fields && b.fields.length > LIMITS.sectionFields) out.push(`${where}: too many fields`);
        b.fields?.forEach((f, j) => checkText(`${where}.fields[${j}]`, f, LIMITS.sectionFieldText, out));
        if (b.accessory) checkButton(`${where}.accessory`, b.accessory, out);
        break;
      case 'context':
        if (b.elements.length === 0 || b.elements.length > LIMITS.contextElements) {
          out.push(`${where}: ${b.elements.length} elements`);
        }
        b.elements.forEach((e, j) => checkText(`${where}.elements[${j}]`, e, LIMITS.contextText, out));
        break;
      case 'header':
        checkText(`${where}.text`, b.text, LIMITS.headerText, out);
        break;
      case 'actions':
        if (b.elements.length === 0 || b.elements.length > LIMITS.actionsElements) {
          out.push(`${where}: ${b.elements.length} elements`);
        }
        b.elements.forEach((e, j) => checkButton(`${where}.elements[${j}]`, e, out));
        break;
      case 'input':
        checkText(`${where}.label`, b.label, LIMITS.inputLabel, out);
        checkText(`${where}.hint`, b.hint, LIMITS.inputHint, out);
        checkText(`${where}.element.placeholder`, b.element.placeholder, LIMITS.inputPlaceholder, out);
        if (b.element.action_id.length > LIMITS.actionId) out.push(`${where}: action_id too long`);
        break;
      case 'divider':
        break;
    }
  });
  return out;
}

export function messageViolations(message: Message): string[] {
  const out = blockViolations(message.blocks);
  if (message.text.length === 0) out.push('text: empty fallback');
  if (message.text.length > LIMITS.messageText) out.push(`text: ${message.text.length} characters`);
  return out;
}

export function modalViolations(view: ModalView): string[] {
  const out = blockViolations(view.blocks, LIMITS.modalBlocks);
  checkText('title', view.title, LIMITS.modalTitle, out);
  checkText('submit', view.submit, LIMITS.modalButton, out);
  checkText('close', view.close, LIMITS.modalButton, out);
  if (view.private_metadata.length > LIMITS.privateMetadata) out.push('private_metadata too long');
  if (view.callback_id.length > LIMITS.callbackId) out.push('callback_id too long');
  return out;
}
