/**
 * The Block Kit checks Slack itself applies to `blocks` and `view` payloads, at the depth the bot needs:
 * shapes, the documented length and count limits, and block/action id rules. Problems are reported the
 * way Slack reports them in `response_metadata.messages`: `[ERROR] <what> [json-pointer:<where>]`.
 */
import { randomBytes } from 'node:crypto';
import { LIMITS } from '../slack/render/blocks';

export type Surface = 'message' | 'modal';

/** The limits the checks apply: Slack's, from the renderer's one table. */
export const BLOCK_KIT_LIMITS = LIMITS;

const BLOCK_TYPES = new Set([
  'section',
  'divider',
  'header',
  'context',
  'actions',
  'image',
  'input',
  'rich_text',
  'markdown',
  'file',
  'video',
  'table',
  'call',
]);

const ELEMENT_TYPES = new Set([
  'button',
  'checkboxes',
  'datepicker',
  'datetimepicker',
  'email_text_input',
  'external_select',
  'file_input',
  'image',
  'multi_channels_select',
  'multi_conversations_select',
  'multi_external_select',
  'multi_static_select',
  'multi_users_select',
  'number_input',
  'overflow',
  'plain_text_input',
  'radio_buttons',
  'rich_text_input',
  'static_select',
  'channels_select',
  'conversations_select',
  'users_select',
  'timepicker',
  'url_text_input',
  'workflow_button',
  'feedback_buttons',
  'icon_button',
]);

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class Problems {
  readonly list: string[] = [];
  add(what: string, pointer: string): void {
    this.list.push(`[ERROR] ${what} [json-pointer:${pointer}]`);
  }
}

interface TextRule {
  max: number;
  plainOnly?: boolean;
}

function checkLength(p: Problems, value: unknown, max: number, pointer: string, min = 1): void {
  if (typeof value !== 'string') {
    p.add('must be a string', pointer);
    return;
  }
  if (value.length < min) p.add(`must be more than ${min - 1} characters`, pointer);
  if (value.length > max) p.add(`must be less than ${max + 1} characters`, pointer);
}

function checkOptionalLength(p: Problems, obj: Json, key: string, max: number, pointer: string): void {
  if (obj[key] !== undefined) checkLength(p, obj[key], max, `${pointer}/${key}`);
}

/** A text composition object (`{ type: 'plain_text' | 'mrkdwn', text }`). */
function checkText(p: Problems, value: unknown, rule: TextRule, pointer: string): void {
  if (!isObject(value)) {
    p.add('must be a text object', pointer);
    return;
  }
  const allowed = rule.plainOnly ? ['plain_text'] : ['plain_text', 'mrkdwn'];
  if (typeof value.type !== 'string' || !allowed.includes(value.type)) {
    p.add(`must be one of ${allowed.map((t) => `"${t}"`).join(', ')}`, `${pointer}/type`);
  }
  if (value.text === undefined) {
    p.add('missing required field: text', pointer);
    return;
  }
  checkLength(p, value.text, rule.max, `${pointer}/text`);
}

function requireField(p: Problems, obj: Json, key: string, pointer: string): boolean {
  if (obj[key] === undefined || obj[key] === null) {
    p.add(`missing required field: ${key}`, pointer);
    return false;
  }
  return true;
}

function checkConfirm(p: Problems, value: unknown, pointer: string): void {
  if (!isObject(value)) {
    p.add('must be a confirmation dialog object', pointer);
    return;
  }
  const L = BLOCK_KIT_LIMITS;
  if (requireField(p, value, 'title', pointer))
    checkText(p, value.title, { max: L.confirmTitle, plainOnly: true }, `${pointer}/title`);
  if (requireField(p, value, 'text', pointer))
    checkText(p, value.text, { max: L.confirmText }, `${pointer}/text`);
  if (requireField(p, value, 'confirm', pointer))
    checkText(p, value.confirm, { max: L.confirmButton, plainOnly: true }, `${pointer}/confirm`);
  if (requireField(p, value, 'deny', pointer))
    checkText(p, value.deny, { max: L.confirmButton, plainOnly: true }, `${pointer}/deny`);
}

function checkOptions(p: Problems, value: unknown, pointer: string): void {
  if (!Array.isArray(value)) {
    p.add('must be an array', pointer);
    return;
  }
  const L = BLOCK_KIT_LIMITS;
  if (value.length > L.options) p.add(`no more than ${L.options} items allowed`, pointer);
  value.forEach((option, i) => {
    const at = `${pointer}/${i}`;
    if (!isObject(option)) {
      p.add('must be an option object', at);
      return;
    }
    if (requireField(p, option, 'text', at)) checkText(p, option.text, { max: L.optionText }, `${at}/text`);
    if (requireField(p, option, 'value', at)) checkLength(p, option.value, L.optionValue, `${at}/value`);
  });
}

/** An interactive (or image) element; `actionIds` collects the block's action ids to find duplicates. */
function checkElement(p: Problems, value: unknown, pointer: string, actionIds: Set<string>): void {
  const L = BLOCK_KIT_LIMITS;
  if (!isObject(value) || typeof value.type !== 'string' || !ELEMENT_TYPES.has(value.type)) {
    p.add('failed to match all allowed schemas', pointer);
    return;
  }
  if (value.action_id !== undefined) {
    checkLength(p, value.action_id, L.actionId, `${pointer}/action_id`);
    if (typeof value.action_id === 'string') {
      if (actionIds.has(value.action_id)) p.add('duplicate action_id in block', `${pointer}/action_id`);
      actionIds.add(value.action_id);
    }
  }
  if (value.confirm !== undefined) checkConfirm(p, value.confirm, `${pointer}/confirm`);
  switch (value.type) {
    case 'button':
      if (requireField(p, value, 'text', pointer))
        checkText(p, value.text, { max: L.buttonText, plainOnly: true }, `${pointer}/text`);
      checkOptionalLength(p, value, 'value', L.buttonValue, pointer);
      checkOptionalLength(p, value, 'url', L.url, pointer);
      if (value.style !== undefined && value.style !== 'primary' && value.style !== 'danger') {
        p.add('must be one of "primary", "danger"', `${pointer}/style`);
      }
      break;
    case 'image':
      if (value.slack_file === undefined && requireField(p, value, 'image_url', pointer))
        checkLength(p, value.image_url, L.url, `${pointer}/image_url`);
      if (requireField(p, value, 'alt_text', pointer))
        checkLength(p, value.alt_text, L.altText, `${pointer}/alt_text`);
      break;
    case 'static_select':
    case 'multi_static_select':
    case 'overflow':
    case 'checkboxes':
    case 'radio_buttons':
      if (value.option_groups === undefined && requireField(p, value, 'options', pointer))
        checkOptions(p, value.options, `${pointer}/options`);
      break;
    default:
      break;
  }
}

function checkBlock(p: Problems, block: unknown, pointer: string, blockIds: Set<string>): void {
  const L = BLOCK_KIT_LIMITS;
  if (!isObject(block) || typeof block.type !== 'string' || !BLOCK_TYPES.has(block.type)) {
    p.add('failed to match all allowed schemas', pointer);
    return;
  }
  if (block.block_id !== undefined) {
    checkLength(p, block.block_id, L.blockId, `${pointer}/block_id`);
    if (typeof block.block_id === 'string') {
      if (blockIds.has(block.block_id)) p.add('duplicate block_id', `${pointer}/block_id`);
      blockIds.add(block.block_id);
    }
  }
  const actionIds = new Set<string>();
  switch (block.type) {
    case 'section': {
      if (block.text === undefined && block.fields === undefined) {
        p.add('must provide either text or fields', pointer);
      }
      if (block.text !== undefined) checkText(p, block.text, { max: L.sectionText }, `${pointer}/text`);
      if (block.fields !== undefined) {
        if (!Array.isArray(block.fields)) p.add('must be an array', `${pointer}/fields`);
        else {
          if (block.fields.length > L.sectionFields)
            p.add(`no more than ${L.sectionFields} items allowed`, `${pointer}/fields`);
          block.fields.forEach((f, i) =>
            checkText(p, f, { max: L.sectionFieldText }, `${pointer}/fields/${i}`),
          );
        }
      }
      if (block.accessory !== undefined) checkElement(p, block.accessory, `${pointer}/accessory`, actionIds);
      break;
    }
    case 'header':
      if (requireField(p, block, 'text', pointer))
        checkText(p, block.text, { max: L.headerText, plainOnly: true }, `${pointer}/text`);
      break;
    case 'markdown':
      if (requireField(p, block, 'text', pointer))
        checkLength(p, block.text, L.markdownBlockText, `${pointer}/text`);
      break;
    case 'context': {
      if (!requireField(p, block, 'elements', pointer)) break;
      if (!Array.isArray(block.elements) || block.elements.length === 0) {
        p.add('must be a non-empty array', `${pointer}/elements`);
        break;
      }
      if (block.elements.length > L.contextElements)
        p.add(`no more than ${L.contextElements} items allowed`, `${pointer}/elements`);
      block.elements.forEach((el, i) => {
        const at = `${pointer}/elements/${i}`;
        if (isObject(el) && el.type === 'image') checkElement(p, el, at, actionIds);
        else checkText(p, el, { max: L.contextText }, at);
      });
      break;
    }
    case 'actions': {
      if (!requireField(p, block, 'elements', pointer)) break;
      if (!Array.isArray(block.elements) || block.elements.length === 0) {
        p.add('must be a non-empty array', `${pointer}/elements`);
        break;
      }
      if (block.elements.length > L.actionsElements)
        p.add(`no more than ${L.actionsElements} items allowed`, `${pointer}/elements`);
      block.elements.forEach((el, i) => checkElement(p, el, `${pointer}/elements/${i}`, actionIds));
      break;
    }
    case 'image':
      if (block.slack_file === undefined && requireField(p, block, 'image_url', pointer))
        checkLength(p, block.image_url, L.url, `${pointer}/image_url`);
      if (requireField(p, block, 'alt_text', pointer))
        checkLength(p, block.alt_text, L.altText, `${pointer}/alt_text`);
      if (block.title !== undefined)
        checkText(p, block.title, { max: L.altText, plainOnly: true }, `${pointer}/title`);
      break;
    case 'input':
      if (requireField(p, block, 'label', pointer))
        checkText(p, block.label, { max: L.inputLabel, plainOnly: true }, `${pointer}/label`);
      if (requireField(p, block, 'element', pointer))
        checkElement(p, block.element, `${pointer}/element`, actionIds);
      if (block.hint !== undefined)
        checkText(p, block.hint, { max: L.inputHint, plainOnly: true }, `${pointer}/hint`);
      break;
    case 'rich_text':
      if (requireField(p, block, 'elements', pointer) && !Array.isArray(block.elements))
        p.add('must be an array', `${pointer}/elements`);
      break;
    default:
      // divider, file, video, table, call: nothing the bot sends needs deeper checks.
      break;
  }
}

/**
 * Checks an array of blocks for a message (at most 50) or a modal (at most 100).
 * Returns Slack-style problem strings; an empty list means valid.
 */
export function validateBlocks(blocks: unknown, surface: Surface, pointer = '/blocks'): string[] {
  const p = new Problems();
  if (!Array.isArray(blocks)) {
    p.add('must be an array', pointer);
    return p.list;
  }
  const max = surface === 'message' ? BLOCK_KIT_LIMITS.messageBlocks : BLOCK_KIT_LIMITS.modalBlocks;
  if (blocks.length > max) p.add(`no more than ${max} items allowed`, pointer);
  const blockIds = new Set<string>();
  blocks.forEach((block, i) => checkBlock(p, block, `${pointer}/${i}`, blockIds));
  return p.list;
}

/** Checks a `modal` view payload (views.open / views.update / views.push). */
export function validateModalView(view: unknown): string[] {
  const L = BLOCK_KIT_LIMITS;
  const p = new Problems();
  const at = '/view';
  if (!isObject(view)) {
    p.add('failed to match all allowed schemas', at);
    return p.list;
  }
  if (view.type !== 'modal') p.add('must be one of "modal"', `${at}/type`);
  if (requireField(p, view, 'title', at))
    checkText(p, view.title, { max: L.modalTitle, plainOnly: true }, `${at}/title`);
  if (view.submit !== undefined && view.submit !== null)
    checkText(p, view.submit, { max: L.modalButton, plainOnly: true }, `${at}/submit`);
  if (view.close !== undefined && view.close !== null)
    checkText(p, view.close, { max: L.modalButton, plainOnly: true }, `${at}/close`);
  if (view.private_metadata !== undefined) {
    if (typeof view.private_metadata !== 'string') p.add('must be a string', `${at}/private_metadata`);
    else if (view.private_metadata.length > L.privateMetadata)
      p.add(`must be less than ${L.privateMetadata + 1} characters`, `${at}/private_metadata`);
  }
  checkOptionalLength(p, view, 'callback_id', L.callbackId, at);
  checkOptionalLength(p, view, 'external_id', L.externalId, at);
  if (requireField(p, view, 'blocks', at)) {
    p.list.push(...validateBlocks(view.blocks, 'modal', `${at}/blocks`));
    const hasInput = Array.isArray(view.blocks) && view.blocks.some((b) => isObject(b) && b.type === 'input');
    if (hasInput && (view.submit === undefined || view.submit === null)) {
      p.add('must provide a submit property when an input block is present', at);
    }
  }
  return p.list;
}

function newBlockId(taken: Set<string>): string {
  for (;;) {
    const id = randomBytes(4).toString('base64url').slice(0, 5);
    if (!taken.has(id)) return id;
  }
}

/** A deep copy of `blocks` in which every block has a `block_id`, as Slack stores them. */
export function withBlockIds(blocks: readonly unknown[]): unknown[] {
  const copy = structuredClone(blocks) as unknown[];
  const taken = new Set<string>();
  for (const block of copy) {
    if (isObject(block) && typeof block.block_id === 'string') taken.add(block.block_id);
  }
  for (const block of copy) {
    if (isObject(block) && block.block_id === undefined) {
      const id = newBlockId(taken);
      taken.add(id);
      block.block_id = id;
    }
  }
  return copy;
}
