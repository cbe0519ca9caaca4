// The console page's behaviour (browser code; ../page-bundle.ts bundles it with ./mrkdwn.ts into the
// page's one inline script). Everything on screen is built with DOM calls and textContent; nothing is
// ever assigned to innerHTML.
//
// Data flow: GET /console/state for the selected channel and person, redrawn on each 'changed'
// Server-Sent Event; commands, button clicks and modal submissions go to /console/* which signs them
// and sends them to the bot's POST /slack/events. Lag charts come from /console/runs and /console/lag.
import { $, clear, el } from './dom';
import { drawChart } from './lag-chart';
import { mrkdwnNodes, plainNodes, type Directory, type MrkdwnNode } from './mrkdwn';
import type {
  ConfirmObject,
  ConsoleState,
  KitBlock,
  KitElement,
  ModalView,
  PageMessage,
  PageRun,
  PageUser,
  PostAnswer,
  RunLag,
  TextObject,
} from './types';

/** A text object as the page meets it: context elements and messages' text are drawn as one too. */
type TextLike = { type?: string; text?: unknown; emoji?: boolean };

const LS_USER = 'cutover-console.user';
const LS_CHANNEL = 'cutover-console.channel';
const COMMAND_PREFIX = '/cutover ';
const LAG_REFRESH_MS = 2000;

interface Chart {
  run: PageRun;
  active: boolean;
  node: HTMLElement | null;
}

/** The modal on screen: which view, and what it was drawn from (so a redraw happens only on change). */
interface ShownView {
  id: string;
  key: string;
  errorsKey: string;
  view: ModalView;
}

/** Where blocks are drawn: buttons work in messages only; a modal's inputs keep what was typed. */
interface BlockContext {
  surface: 'message' | 'modal';
  message?: PageMessage;
  values?: Record<string, string>;
  errors?: Record<string, string>;
}

/** Everything the page knows; redrawn from on each change. */
interface PageState {
  /** Who the page acts as, and the channel shown (remembered across reloads). */
  user: string | null;
  channel: string | null;
  /** The parent ts of the thread open on the right. */
  thread: string | null;
  state: ConsoleState | null;
  dir: Directory;
  loading: boolean;
  /** A change arrived while /console/state was being read: read it again. */
  dirty: boolean;
  runs: PageRun[];
  charts: Record<string, Chart>;
  lagBusy: boolean;
  view: ShownView | null;
  viewErrors: Record<string, Record<string, string>>;
  /** Commands sent, for ↑/↓. */
  history: string[];
  historyPos: number;
}

const S: PageState = {
  user: readStored(LS_USER),
  channel: readStored(LS_CHANNEL),
  thread: null,
  state: null,
  dir: { users: {}, groups: {}, channels: {} },
  loading: false,
  dirty: false,
  runs: [],
  charts: {},
  lagBusy: false,
  view: null,
  viewErrors: {},
  history: [],
  historyPos: -1,
};

function readStored(key: string): string | null {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}

function store(key: string, value: string): void {
  try {
    window.localStorage.setItem(key, value);
  } catch {
    /* private mode: the choice lasts for this page only */
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// ---- talking to the console's endpoints ----

function getJson<T>(path: string): Promise<T> {
  return fetch(path, { headers: { accept: 'application/json' } }).then((r) =>
    r.json().then((body: T & { error?: string }) => {
      if (!r.ok) throw new Error(body && body.error ? body.error : 'HTTP ' + r.status);
      return body;
    }),
  );
}

function postJson(path: string, body: unknown): Promise<PostAnswer> {
  return fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  }).then((r) =>
    r.json().then(
      (json: PostAnswer) => {
        if (!r.ok && json && json.ok !== false) json.ok = false;
        return json;
      },
      (): PostAnswer => ({ ok: false, error: 'HTTP ' + r.status }),
    ),
  );
}

let toastTimer: ReturnType<typeof setTimeout> | null = null;
function toast(text: string, kind?: string): void {
  const t = $('toast');
  t.textContent = text;
  t.className = 'toast show ' + (kind || 'error');
  if (toastTimer) clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    t.className = 'toast';
  }, 6000);
}

// ---- state ----

function refresh(): void {
  if (S.loading) {
    S.dirty = true;
    return;
  }
  S.loading = true;
  const q: string[] = [];
  if (S.channel) q.push('channel=' + encodeURIComponent(S.channel));
  if (S.user) q.push('user=' + encodeURIComponent(S.user));
  void getJson<ConsoleState>('/console/state' + (q.length ? '?' + q.join('&') : ''))
    .then((state) => {
      S.state = state;
      S.user = state.user;
      S.channel = state.channel;
      S.dir = directoryOf(state);
      render();
    })
    .catch((e: unknown) => {
      // A channel or person from an older session: start over with the defaults.
      if (S.channel || S.user) {
        S.channel = null;
        S.user = null;
        S.dirty = true;
      } else {
        toast('Could not load the channel: ' + errorMessage(e));
      }
    })
    .then(() => {
      S.loading = false;
      if (S.dirty) {
        S.dirty = false;
        refresh();
      }
    });
}

let refreshTimer: ReturnType<typeof setTimeout> | null = null;
function scheduleRefresh(): void {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    refresh();
    void refreshRuns();
  }, 30);
}

function directoryOf(state: ConsoleState): Directory {
  const dir: Directory = { users: {}, groups: {}, channels: {} };
  state.users.forEach((u) => {
    dir.users[u.id] = u.name;
  });
  state.groups.forEach((g) => {
    dir.groups[g.id] = g.handle;
  });
  state.channels.forEach((c) => {
    dir.channels[c.id] = c.name;
  });
  dir.users[state.bot.id] = state.bot.name;
  return dir;
}

function hasOwn(map: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(map, key);
}

function userName(id: string | null): string {
  if (!id) return 'unknown';
  return hasOwn(S.dir.users, id) ? (S.dir.users[id] as string) : id;
}

// ---- rendering: mrkdwn and Block Kit ----

function appendNodes(parent: Node, nodes: readonly MrkdwnNode[]): void {
  nodes.forEach((n) => {
    switch (n.t) {
      case 'text':
        parent.appendChild(document.createTextNode(n.v));
        return;
      case 'br':
        parent.appendChild(el('br'));
        return;
      case 'code':
        parent.appendChild(el('code', null, n.v));
        return;
      case 'pre':
        parent.appendChild(el('pre', null, n.v));
        return;
      case 'emoji': {
        const node = el('span', 'emoji', n.v);
        node.title = ':' + n.name + ':';
        parent.appendChild(node);
        return;
      }
      case 'mention': {
        const node = el('span', 'mention mention-' + n.kind, n.v);
        if (n.kind === 'user' && n.id === S.user) node.className += ' mention-me';
        node.title = n.id;
        parent.appendChild(node);
        return;
      }
      case 'link': {
        const node = el('a', n.href === null ? 'dead-link' : null, n.v);
        if (n.href !== null) {
          node.href = n.href;
          node.target = '_blank';
          node.rel = 'noopener noreferrer';
        } else {
          node.title = 'Slack reads <' + n.v + '> as a link';
        }
        parent.appendChild(node);
        return;
      }
      case 'b':
      case 'i':
      case 's': {
        const node = el(n.t);
        appendNodes(node, n.c);
        parent.appendChild(node);
        return;
      }
      case 'quote': {
        const node = el('blockquote');
        appendNodes(node, n.c);
        parent.appendChild(node);
        return;
      }
    }
  });
}

function textObject(obj: TextLike | undefined, cls: string): HTMLDivElement {
  const node = el('div', cls);
  if (!obj) return node;
  if (obj.type === 'mrkdwn') appendNodes(node, mrkdwnNodes(obj.text, S.dir));
  else appendNodes(node, plainNodes(obj.text, obj.emoji));
  return node;
}

function plainText(obj: TextObject | undefined): string {
  return obj && typeof obj.text === 'string' ? obj.text : '';
}

function emojiText(obj: TextObject | undefined): string {
  return plainNodes(plainText(obj), obj ? obj.emoji : undefined)
    .map((n) => n.v)
    .join('');
}

function renderBlocks(blocks: readonly KitBlock[] | undefined, ctx: BlockContext): HTMLDivElement {
  const wrap = el('div', 'blocks');
  (blocks || []).forEach((block) => {
    wrap.appendChild(renderBlock(block, ctx));
  });
  return wrap;
}

function renderBlock(block: KitBlock, ctx: BlockContext): HTMLElement {
  let node: HTMLElement;
  switch (block.type) {
    case 'header':
      node = el('div', 'bk-header', emojiText(block.text));
      break;
    case 'divider':
      node = el('hr', 'bk-divider');
      break;
    case 'section': {
      node = el('div', 'bk-section');
      const main = el('div', 'bk-section-main');
      if (block.text) main.appendChild(textObject(block.text, 'bk-text'));
      if (block.fields && block.fields.length) {
        const fields = el('div', 'bk-fields');
        block.fields.forEach((f) => {
          fields.appendChild(textObject(f, 'bk-field'));
        });
        main.appendChild(fields);
      }
      node.appendChild(main);
      if (block.accessory) {
        const acc = el('div', 'bk-accessory');
        acc.appendChild(renderElement(block.accessory, block, ctx));
        node.appendChild(acc);
      }
      break;
    }
    case 'context': {
      const context = el('div', 'bk-context');
      (block.elements || []).forEach((e) => {
        if (e.type === 'image') {
          context.appendChild(el('span', 'bk-context-image', '[' + (e.alt_text || 'image') + ']'));
        } else {
          context.appendChild(textObject(e, 'bk-context-item'));
        }
      });
      node = context;
      break;
    }
    case 'actions': {
      const actions = el('div', 'bk-actions');
      (block.elements || []).forEach((e) => {
        actions.appendChild(renderElement(e, block, ctx));
      });
      node = actions;
      break;
    }
    case 'input':
      node = renderInput(block, ctx);
      break;
    case 'markdown':
      node = el('div', 'bk-section');
      // A markdown block's text is a string, not a text object.
      appendNodes(node, mrkdwnNodes((block as { text?: unknown }).text, S.dir));
      break;
    default:
      node = el('div', 'bk-unsupported', '[' + block.type + ' block: not drawn by the console]');
  }
  if (block.block_id) node.setAttribute('data-block-id', block.block_id);
  return node;
}

function renderElement(e: KitElement | TextObject, block: KitBlock, ctx: BlockContext): HTMLElement {
  if (e.type !== 'button') return el('span', 'bk-unsupported', '[' + e.type + ']');
  const b = el('button', 'bk-button' + (e.style ? ' bk-' + e.style : ''), emojiText(e.text));
  b.type = 'button';
  b.setAttribute('data-action-id', e.action_id || '');
  const url = e.url;
  if (url) {
    b.title = url;
    b.addEventListener('click', () => {
      window.open(url, '_blank', 'noopener');
    });
    return b;
  }
  const message = ctx.message;
  if (ctx.surface !== 'message' || message === undefined) {
    b.disabled = true;
    b.title = 'Buttons inside modals are not simulated';
    return b;
  }
  b.addEventListener('click', () => {
    const send = (): void => {
      clickButton(b, message, block.block_id, e);
    };
    if (e.confirm) openConfirm(e.confirm, send);
    else send();
  });
  return b;
}

function clickButton(
  b: HTMLButtonElement,
  message: PageMessage,
  blockId: string | undefined,
  e: KitElement,
): void {
  b.disabled = true;
  b.classList.add('busy');
  void postJson('/console/action', {
    user: S.user,
    channel: S.channel,
    messageTs: message.ts,
    actionId: e.action_id,
    value: e.value === undefined ? '' : e.value,
    blockId,
  })
    .then((res) => {
      if (!res.ok) toast(res.error || 'The click was not delivered');
    })
    .catch((err: unknown) => {
      toast('The click was not delivered: ' + errorMessage(err));
    })
    .then(() => {
      b.disabled = false;
      b.classList.remove('busy');
    });
}

// ---- confirmation dialog (a button's "confirm") ----

function openConfirm(confirm: ConfirmObject, onConfirm: () => void): void {
  const d = $<HTMLDialogElement>('confirm');
  $('confirm-title').textContent = plainText(confirm.title) || 'Are you sure?';
  const text = $('confirm-text');
  clear(text);
  text.appendChild(textObject(confirm.text, 'confirm-body'));
  const yes = $('confirm-yes');
  yes.textContent = plainText(confirm.confirm) || 'Yes';
  yes.className = 'bk-button ' + (confirm.style === 'danger' ? 'bk-danger' : 'bk-primary');
  $('confirm-no').textContent = plainText(confirm.deny) || 'Cancel';
  d.onclose = () => {
    if (d.returnValue === 'confirm') onConfirm();
  };
  d.returnValue = '';
  d.showModal();
  yes.focus();
}

// ---- modals (views.open / views.update) ----

function renderInput(block: KitBlock, ctx: BlockContext): HTMLElement {
  const node = el('div', 'bk-input');
  const id = 'in-' + block.block_id + '-' + (block.element && block.element.action_id);
  const label = el('label', 'bk-input-label', plainText(block.label));
  label.htmlFor = id;
  if (block.optional) label.appendChild(el('span', 'bk-optional', ' (optional)'));
  node.appendChild(label);
  const e = block.element || ({} as KitElement);
  if (e.type === 'plain_text_input') {
    const input = e.multiline ? el('textarea', 'bk-text-input') : el('input', 'bk-text-input');
    if (input instanceof HTMLInputElement) input.type = 'text';
    input.id = id;
    input.setAttribute('data-block-id', String(block.block_id));
    input.setAttribute('data-action-id', String(e.action_id));
    if (!block.optional) input.setAttribute('data-required', 'true');
    if (e.placeholder) input.placeholder = plainText(e.placeholder);
    if (e.max_length) input.maxLength = e.max_length;
    const key = block.block_id + '/' + e.action_id;
    const kept = ctx.values && hasOwn(ctx.values, key) ? (ctx.values[key] as string) : null;
    input.value = kept !== null ? kept : e.initial_value || '';
    if (e.focus_on_load) input.setAttribute('data-focus', 'true');
    // HTMLElement's listener map types the event (the input/textarea union's overloads do not).
    (input as HTMLElement).addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !e.multiline) {
        ev.preventDefault();
        submitView();
      }
    });
    node.appendChild(input);
  } else {
    node.appendChild(el('div', 'bk-unsupported', '[' + e.type + ' input: not simulated]'));
  }
  const err = ctx.errors ? ctx.errors[String(block.block_id)] : undefined;
  if (err) {
    node.classList.add('has-error');
    node.appendChild(el('div', 'bk-input-error', err));
  }
  if (block.hint) node.appendChild(el('div', 'bk-hint', plainText(block.hint)));
  return node;
}

function modalInputs(): (HTMLInputElement | HTMLTextAreaElement)[] {
  return Array.from(
    $('modal-body').querySelectorAll<HTMLInputElement | HTMLTextAreaElement>(
      '[data-action-id].bk-text-input',
    ),
  );
}

function currentValues(): Record<string, string> {
  const values: Record<string, string> = {};
  modalInputs().forEach((input) => {
    values[input.getAttribute('data-block-id') + '/' + input.getAttribute('data-action-id')] = input.value;
  });
  return values;
}

function renderModal(): void {
  const d = $<HTMLDialogElement>('modal');
  const views = (S.state && S.state.openViews) || [];
  const top = views.length ? views[views.length - 1] : undefined;
  if (!top) {
    S.view = null;
    if (d.open) d.close();
    return;
  }
  const key = top.id + ':' + top.view.hash;
  const errorsKey = JSON.stringify(S.viewErrors[top.id] || {});
  if (S.view && S.view.key === key && S.view.errorsKey === errorsKey && d.open) return;
  const values = S.view && S.view.id === top.id ? currentValues() : {};
  S.view = { id: top.id, key, errorsKey, view: top.view };
  $('modal-title').textContent = emojiText(top.view.title);
  const body = $('modal-body');
  clear(body);
  body.appendChild(
    renderBlocks(top.view.blocks, { surface: 'modal', values, errors: S.viewErrors[top.id] || {} }),
  );
  const submit = $<HTMLButtonElement>('modal-submit');
  submit.hidden = !top.view.submit;
  submit.textContent = top.view.submit ? emojiText(top.view.submit) : 'Submit';
  $('modal-close').textContent = top.view.close ? emojiText(top.view.close) : 'Cancel';
  $('modal-stack').textContent = views.length > 1 ? views.length + ' views stacked' : '';
  if (!d.open) d.showModal();
  const focus =
    body.querySelector<HTMLElement>('[data-focus]') || body.querySelector<HTMLElement>('.bk-text-input');
  if (focus) focus.focus();
}

function submitView(): void {
  if (!S.view) return;
  const viewId = S.view.id;
  const values: Record<string, Record<string, string>> = {};
  const missing: Record<string, string> = {};
  modalInputs().forEach((input) => {
    const blockId = String(input.getAttribute('data-block-id'));
    const actionId = String(input.getAttribute('data-action-id'));
    const inBlock = values[blockId] || (values[blockId] = {});
    inBlock[actionId] = input.value;
    if (input.getAttribute('data-required') && input.value.trim() === '') {
      missing[blockId] = 'Please complete this required field.';
    }
  });
  if (Object.keys(missing).length) {
    S.viewErrors[viewId] = missing;
    renderModal();
    return;
  }
  const submit = $<HTMLButtonElement>('modal-submit');
  submit.disabled = true;
  void postJson('/console/view', { user: S.user, viewId, values })
    .then((res) => {
      if (!res.ok) {
        toast(res.error || 'The submission was not delivered');
        return;
      }
      if (res.errors) {
        S.viewErrors[viewId] = res.errors;
        renderModal();
        return;
      }
      delete S.viewErrors[viewId];
      scheduleRefresh();
    })
    .catch((err: unknown) => {
      toast('The submission was not delivered: ' + errorMessage(err));
    })
    .then(() => {
      submit.disabled = false;
    });
}

function closeView(): void {
  if (!S.view) return;
  const viewId = S.view.id;
  delete S.viewErrors[viewId];
  void postJson('/console/view/close', { user: S.user, viewId }).then((res) => {
    if (!res.ok) toast(res.error || 'Could not close the modal');
    scheduleRefresh();
  });
}

// ---- messages ----

function formatTime(ts: string): string {
  const d = new Date(Number(ts) * 1000);
  const hh = String(d.getHours()).padStart(2, '0');
  const mm = String(d.getMinutes()).padStart(2, '0');
  return hh + ':' + mm;
}

function avatar(id: string | null, bot: boolean): HTMLElement {
  const name = bot ? 'cutover' : userName(id);
  const a = el('div', 'avatar' + (bot ? ' avatar-bot' : ''), bot ? '⚙' : name.charAt(0).toUpperCase());
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) % 360;
  if (!bot) a.style.background = 'hsl(' + h + ', 45%, 45%)';
  return a;
}

function renderMessage(m: PageMessage, inThread: boolean): HTMLElement {
  const row = el('div', 'msg' + (m.ephemeral ? ' msg-ephemeral' : ''));
  row.setAttribute('data-ts', m.ts);
  row.appendChild(avatar(m.user, m.bot));
  const main = el('div', 'msg-main');
  const meta = el('div', 'msg-meta');
  meta.appendChild(el('span', 'msg-author', m.bot ? (S.state as ConsoleState).bot.name : userName(m.user)));
  if (m.bot) meta.appendChild(el('span', 'msg-app', 'APP'));
  const time = el('span', 'msg-time', formatTime(m.ts));
  time.title = m.ts;
  meta.appendChild(time);
  if (m.edited) meta.appendChild(el('span', 'msg-edited', '(edited)'));
  main.appendChild(meta);
  const content = el('div', 'msg-content');
  const ctx: BlockContext = { surface: 'message', message: m };
  if (m.blocks && m.blocks.length) content.appendChild(renderBlocks(m.blocks, ctx));
  else content.appendChild(textObject({ type: 'mrkdwn', text: m.text }, 'msg-text'));
  const lag = el('div', 'lag-slot');
  lag.hidden = true;
  content.appendChild(lag);
  main.appendChild(content);
  if (m.ephemeral) {
    const note = el('div', 'ephemeral-note', '👁 Only visible to you');
    main.appendChild(note);
  }
  if (!inThread && m.replyCount > 0) {
    const link = el('button', 'replies-link', m.replyCount + (m.replyCount === 1 ? ' reply' : ' replies'));
    link.type = 'button';
    link.addEventListener('click', () => {
      openThread(m.ts);
    });
    main.appendChild(link);
  }
  row.appendChild(main);
  return row;
}

function signature(m: PageMessage, inThread: boolean): string {
  return JSON.stringify([m.version, m.text, m.blocks, m.edited, inThread ? 0 : m.replyCount, S.user]);
}

/** Redraws only the messages that changed; keeps the reader's scroll position. */
function renderList(container: HTMLElement, messages: readonly PageMessage[], inThread: boolean): void {
  const atBottom = container.scrollHeight - container.scrollTop - container.clientHeight < 60;
  const top = container.scrollTop;
  const existing: Record<string, Element> = {};
  Array.from(container.children).forEach((child) => {
    const k = child.getAttribute('data-key');
    if (k) existing[k] = child;
  });
  const wanted = messages.map((m) => {
    const key = m.ts + (m.ephemeral ? ':e' : '');
    const sig = signature(m, inThread);
    let node = existing[key];
    if (!node || node.getAttribute('data-sig') !== sig) {
      node = renderMessage(m, inThread);
      node.setAttribute('data-key', key);
      node.setAttribute('data-sig', sig);
    }
    return node;
  });
  const keep = new Set(wanted);
  Array.from(container.children).forEach((child) => {
    if (!keep.has(child)) container.removeChild(child);
  });
  wanted.forEach((node, i) => {
    if (container.children[i] !== node) container.insertBefore(node, container.children[i] || null);
  });
  if (atBottom) container.scrollTop = container.scrollHeight;
  else container.scrollTop = top;
}

function renderEmptyChannel(container: HTMLElement): void {
  if (container.querySelector('.empty')) return;
  const empty = el('div', 'empty');
  empty.appendChild(
    el('div', 'empty-title', 'This is the very beginning of #' + S.dir.channels[String(S.channel)]),
  );
  empty.appendChild(el('div', null, 'Try /cutover help, /cutover targets or /cutover start <target>.'));
  container.appendChild(empty);
}

function openThread(ts: string): void {
  S.thread = ts;
  render();
}

function renderThread(): void {
  const panel = $('thread');
  let parent: PageMessage | null = null;
  if (S.thread && S.state) {
    for (const m of S.state.messages) if (m.ts === S.thread) parent = m;
  }
  if (!parent) {
    S.thread = null;
    panel.hidden = true;
    clear($('thread-list'));
    return;
  }
  panel.hidden = false;
  $('thread-channel').textContent = '#' + S.dir.channels[String(S.channel)];
  renderList($('thread-list'), [parent, ...parent.replies], true);
}

// ---- sidebar, picker, top bar ----

function renderChannels(state: ConsoleState): void {
  const list = $('channels');
  clear(list);
  state.channels.forEach((c) => {
    const item = el('button', 'channel' + (c.id === S.channel ? ' active' : ''));
    item.type = 'button';
    item.appendChild(el('span', 'hash', '#'));
    item.appendChild(el('span', null, c.name));
    item.title = c.targets.length ? 'Targets: ' + c.targets.join(', ') : c.id;
    item.addEventListener('click', () => {
      if (c.id === S.channel) return;
      S.channel = c.id;
      S.thread = null;
      store(LS_CHANNEL, c.id);
      clear($('messages'));
      refresh();
      void refreshRuns();
    });
    list.appendChild(item);
  });
}

function describeUser(u: PageUser): string {
  if (u.role === 'requester') return u.name + ' (you, requester)';
  if (u.role === 'approver') return u.name + ' (approver: ' + (u.approves.join(', ') || 'none') + ')';
  const groups = u.groups.map((g) => '@' + (S.dir.groups[g] || g)).join(', ');
  return u.name + ' (member of ' + groups + ')';
}

function renderPicker(state: ConsoleState): void {
  const select = $<HTMLSelectElement>('user');
  const sig = JSON.stringify(state.users) + S.user;
  if (select.getAttribute('data-sig') === sig) return;
  select.setAttribute('data-sig', sig);
  clear(select);
  state.users.forEach((u) => {
    const option = el('option', null, describeUser(u));
    option.value = u.id;
    option.selected = u.id === S.user;
    select.appendChild(option);
  });
}

function renderRunsSidebar(): void {
  const list = $('runs');
  clear(list);
  const active = S.runs.filter((r) => r.active);
  $('runs-heading').hidden = active.length === 0;
  active.forEach((r) => {
    const item = el('div', 'run-item');
    item.appendChild(el('span', 'run-state run-' + r.state, r.state.replace('_', ' ')));
    item.appendChild(el('span', null, ' ' + r.target + ' '));
    item.appendChild(el('code', null, r.shortId));
    list.appendChild(item);
  });
}

function render(): void {
  const state = S.state;
  if (!state) return;
  renderChannels(state);
  renderPicker(state);
  const channel = state.channels.filter((c) => c.id === S.channel)[0];
  $('channel-name').textContent = '#' + (channel ? channel.name : S.channel);
  $('channel-topic').textContent =
    channel && channel.targets.length ? 'Cutovers of ' + channel.targets.join(', ') : '';
  $('workspace-name').textContent = state.team.name;
  const list = $('messages');
  if (state.messages.length === 0) {
    clear(list);
    renderEmptyChannel(list);
  } else {
    const empty = list.querySelector('.empty');
    if (empty) list.removeChild(empty);
    renderList(list, state.messages, false);
  }
  renderThread();
  renderModal();
  placeCharts();
}

// ---- lag charts ----

function refreshRuns(): Promise<void> {
  return getJson<{ runs: PageRun[] }>('/console/runs')
    .then((body) => {
      S.runs = body.runs;
      renderRunsSidebar();
      return refreshCharts();
    })
    .catch(() => {
      /* the next event or tick tries again */
    });
}

/** The progress message of a run: the first channel message of the bot that shows its short id. */
function progressMessageOf(run: PageRun): PageMessage | null {
  if (!S.state) return null;
  const needle = '`' + run.shortId + '`';
  for (const m of S.state.messages) {
    if (!m.bot || m.ephemeral || !m.blocks) continue;
    if (JSON.stringify(m.blocks).indexOf(needle) >= 0) return m;
  }
  return null;
}

function refreshCharts(): Promise<void> {
  if (S.lagBusy) return Promise.resolve();
  const wanted = S.runs.filter((r) => {
    if (r.channel !== S.channel) return false;
    const chart = S.charts[r.id];
    return r.active || !chart || chart.active;
  });
  if (!wanted.length) return Promise.resolve();
  S.lagBusy = true;
  return Promise.all(
    wanted.map((r) =>
      getJson<RunLag>('/console/lag?run=' + encodeURIComponent(r.id)).then((lag) => {
        S.charts[r.id] = { run: r, active: r.active, node: drawChart(r, lag) };
      }),
    ),
  )
    .catch(() => {
      /* tried again on the next tick */
    })
    .then(() => {
      S.lagBusy = false;
      placeCharts();
    });
}

function placeCharts(): void {
  S.runs.forEach((r) => {
    const chart = S.charts[r.id];
    if (!chart || r.channel !== S.channel) return;
    const m = progressMessageOf(r);
    if (!m) return;
    const row = $('messages').querySelector('[data-key="' + m.ts + '"]');
    const slot = row && row.querySelector<HTMLElement>('.lag-slot');
    if (!slot) return;
    if (!chart.node) {
      slot.hidden = true;
      return;
    }
    if (slot.firstChild !== chart.node) {
      clear(slot);
      slot.appendChild(chart.node);
    }
    slot.hidden = false;
  });
}

// ---- composer ----

function sendComposer(): void {
  const input = $<HTMLInputElement>('command');
  const text = input.value.trim();
  if (text === '') return;
  S.history.push(text);
  S.historyPos = -1;
  input.value = COMMAND_PREFIX;
  const threadTs = null;
  let request: Promise<PostAnswer>;
  if (/^\/cutover(\s|$)/.test(text)) {
    request = postJson('/console/command', {
      user: S.user,
      channel: S.channel,
      text: text.replace(/^\/cutover\s*/, ''),
    });
  } else if (text.charAt(0) === '/') {
    toast(text.split(/\s/)[0] + ' is not a valid command. In this console only /cutover is installed.');
    input.value = text;
    return;
  } else {
    request = postJson('/console/message', { user: S.user, channel: S.channel, text, threadTs });
  }
  const send = $<HTMLButtonElement>('send');
  send.disabled = true;
  void request
    .then((res) => {
      if (!res.ok) toast(res.error || 'Not sent');
    })
    .catch((err: unknown) => {
      toast('Not sent: ' + errorMessage(err));
    })
    .then(() => {
      send.disabled = false;
      input.focus();
    });
}

function sendThreadReply(): void {
  const input = $<HTMLInputElement>('thread-input');
  const text = input.value.trim();
  if (text === '' || !S.thread) return;
  input.value = '';
  void postJson('/console/message', { user: S.user, channel: S.channel, text, threadTs: S.thread }).then(
    (res) => {
      if (!res.ok) toast(res.error || 'Not sent');
    },
  );
}

function historyKey(ev: KeyboardEvent): void {
  const input = $<HTMLInputElement>('command');
  if (ev.key !== 'ArrowUp' && ev.key !== 'ArrowDown') return;
  if (!S.history.length) return;
  ev.preventDefault();
  if (S.historyPos < 0) S.historyPos = S.history.length;
  S.historyPos += ev.key === 'ArrowUp' ? -1 : 1;
  if (S.historyPos < 0) S.historyPos = 0;
  if (S.historyPos >= S.history.length) {
    S.historyPos = -1;
    input.value = COMMAND_PREFIX;
    return;
  }
  input.value = S.history[S.historyPos] as string;
}

// ---- start ----

function connectEvents(): void {
  const status = $('connection');
  const source = new EventSource('/console/events');
  source.addEventListener('changed', scheduleRefresh);
  source.addEventListener('open', () => {
    status.textContent = 'live';
    status.className = 'connection live';
    scheduleRefresh();
  });
  source.addEventListener('error', () => {
    status.textContent = 'reconnecting…';
    status.className = 'connection down';
  });
}

function start(): void {
  $('composer').addEventListener('submit', (ev) => {
    ev.preventDefault();
    sendComposer();
  });
  $('command').addEventListener('keydown', historyKey);
  $('thread-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    sendThreadReply();
  });
  $<HTMLSelectElement>('user').addEventListener('change', (ev) => {
    S.user = (ev.target as HTMLSelectElement).value;
    store(LS_USER, S.user);
    S.view = null;
    refresh();
  });
  $('thread-close').addEventListener('click', () => {
    S.thread = null;
    renderThread();
  });
  $('modal-submit').addEventListener('click', submitView);
  $('modal-close').addEventListener('click', closeView);
  $('modal-x').addEventListener('click', closeView);
  $('modal').addEventListener('cancel', (ev) => {
    ev.preventDefault();
    closeView();
  });
  refresh();
  void refreshRuns();
  connectEvents();
  setInterval(() => {
    const active = S.runs.some((r) => r.active && r.channel === S.channel);
    if (active) void refreshRuns();
  }, LAG_REFRESH_MS);
  $('command').focus();
}

start();
