// Slack mrkdwn for the console page (browser code, bundled into the page by ../page-bundle.ts).
//
// `mrkdwnNodes(text, directory)` parses mrkdwn into a small node tree; the page turns the tree into DOM
// nodes with textContent only, and `nodesToHtml` serializes it (escaped) for tests. This module touches
// no DOM and no globals, so it runs unchanged in the browser and in Node's `vm` (the tests).
//
// What Slack does, at the depth the bot needs: &amp; &lt; &gt; are decoded in text; <@U…>, <#C…>,
// <!subteam^S…>, <!here>, <!date^…|fallback> and <url|label> are tokens; ```code blocks``` and `code` are
// verbatim; *bold*, _italic_ and ~strike~ open after a non-word character and close before one; lines
// starting with ">" are quotes; :shortcodes: the bot uses become emoji, others stay text.

/** Names for the ids in mentions: users and channels by name, user groups by handle. */
export interface Directory {
  users: Record<string, string>;
  groups: Record<string, string>;
  channels: Record<string, string>;
}

export interface TextNode {
  t: 'text';
  v: string;
}

export interface EmojiNode {
  t: 'emoji';
  name: string;
  v: string;
}

export interface StyleNode {
  t: 'b' | 'i' | 's';
  c: MrkdwnNode[];
}

export interface CodeNode {
  t: 'code' | 'pre';
  v: string;
}

export interface QuoteNode {
  t: 'quote';
  c: MrkdwnNode[];
}

export interface BreakNode {
  t: 'br';
}

/** href is null for a token Slack shows as a link to nowhere. */
export interface LinkNode {
  t: 'link';
  href: string | null;
  v: string;
}

export interface MentionNode {
  t: 'mention';
  kind: 'user' | 'channel' | 'group' | 'special';
  id: string;
  v: string;
}

export type MrkdwnNode =
  TextNode | EmojiNode | StyleNode | CodeNode | QuoteNode | BreakNode | LinkNode | MentionNode;

type AngleNode = TextNode | LinkNode | MentionNode;

const EMOJI: Record<string, string> = {
  white_check_mark: '✅',
  x: '❌',
  hourglass_flowing_sand: '⏳',
  hourglass: '⌛',
  raised_hand: '✋',
  warning: '⚠️',
  rewind: '⏪',
  large_blue_circle: '🔵',
  no_entry_sign: '🚫',
  no_entry: '⛔',
  white_circle: '⚪',
  heavy_minus_sign: '➖',
  leftwards_arrow_with_hook: '↩️',
  mag: '🔍',
  gear: '⚙️',
  unlock: '🔓',
  lock: '🔒',
  keyboard: '⌨️',
  test_tube: '🧪',
  small_blue_diamond: '🔹',
  rocket: '🚀',
  eyes: '👀',
  bell: '🔔',
  clock1: '🕐',
  stopwatch: '⏱️',
  tada: '🎉',
  heavy_check_mark: '✔️',
  arrow_right: '➡️',
  information_source: 'ℹ️',
  red_circle: '🔴',
  large_green_circle: '🟢',
  large_yellow_circle: '🟡',
  construction: '🚧',
  fire: '🔥',
  zap: '⚡',
  link: '🔗',
  memo: '📝',
};

function hasOwn(map: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(map, key);
}

function decodeEntities(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function emojiNodes(text: string): (TextNode | EmojiNode)[] {
  const out: (TextNode | EmojiNode)[] = [];
  const re = /:([a-z0-9_+-]+):/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const name = m[1] ?? '';
    const emoji = hasOwn(EMOJI, name) ? EMOJI[name] : undefined;
    if (emoji === undefined) {
      re.lastIndex = m.index + 1;
      continue;
    }
    if (m.index > last) out.push({ t: 'text', v: text.slice(last, m.index) });
    out.push({ t: 'emoji', name, v: emoji });
    last = re.lastIndex;
  }
  if (last < text.length) out.push({ t: 'text', v: text.slice(last) });
  return out;
}

/** plain_text objects: shown as typed; emoji: true (the default) turns shortcodes into emoji. */
export function plainNodes(text: unknown, emoji?: boolean): (TextNode | EmojiNode)[] {
  const s = String(text);
  return emoji === false ? [{ t: 'text', v: s }] : emojiNodes(s);
}

function nameOf(map: Record<string, string> | undefined, id: string): string | null {
  return map && hasOwn(map, id) ? (map[id] ?? null) : null;
}

/** One <...> token: a mention, a link, a date, or (unknown) its label. */
function angleToken(body: string, dir: Partial<Directory>): AngleNode {
  const bar = body.indexOf('|');
  const head = bar < 0 ? body : body.slice(0, bar);
  const label = bar < 0 ? null : decodeEntities(body.slice(bar + 1));
  if (head.charAt(0) === '@') {
    const id = head.slice(1);
    return { t: 'mention', kind: 'user', id, v: '@' + (nameOf(dir.users, id) || label || id) };
  }
  if (head.charAt(0) === '#') {
    const id = head.slice(1);
    return { t: 'mention', kind: 'channel', id, v: '#' + (nameOf(dir.channels, id) || label || id) };
  }
  if (head.indexOf('!subteam^') === 0) {
    const id = head.slice('!subteam^'.length);
    const handle = nameOf(dir.groups, id) || (label ? label.replace(/^@/, '') : id);
    return { t: 'mention', kind: 'group', id, v: '@' + handle };
  }
  if (head.indexOf('!date^') === 0) {
    return { t: 'text', v: label !== null ? label : head.slice('!date^'.length) };
  }
  if (head === '!here' || head === '!channel' || head === '!everyone') {
    return { t: 'mention', kind: 'special', id: head.slice(1), v: '@' + head.slice(1) };
  }
  if (/^(https?:\/\/|mailto:)/i.test(head)) {
    const href = decodeEntities(head);
    return { t: 'link', href, v: label !== null && label !== '' ? label : href };
  }
  // Slack shows an unknown token by its label, as a link to nowhere.
  return { t: 'link', href: null, v: label !== null ? label : decodeEntities(head) };
}

/** Code is verbatim: tokens show as their labels, entities are decoded, nothing else happens. */
function codeText(text: string, dir: Partial<Directory>): string {
  const parts = text.split(/(<[^<>\n]*>)/);
  let out = '';
  parts.forEach((part, i) => {
    if (i % 2 === 1) out += angleToken(part.slice(1, -1), dir).v;
    else out += decodeEntities(part);
  });
  return out;
}

const EMPHASIS: Record<string, StyleNode['t']> = { '*': 'b', _: 'i', '~': 's' };
// An atom's place in the text while emphasis is parsed: its index between NULs (the text has none).
// eslint-disable-next-line no-control-regex -- NUL is the one character the text cannot hold
const PLACEHOLDER = /\u0000(\d+)\u0000/;

function isWordChar(c: string | undefined): boolean {
  return c !== undefined && /[\p{L}\p{N}]/u.test(c);
}

function isSpace(c: string | undefined): boolean {
  return c === undefined || /\s/.test(c);
}

function opensAt(s: string, i: number): boolean {
  return !isWordChar(s[i - 1]) && i + 1 < s.length && !isSpace(s[i + 1]) && s[i + 1] !== s[i];
}

function closingIndex(s: string, i: number): number {
  for (let j = i + 2; j < s.length; j++) {
    if (s[j] === s[i] && !isSpace(s[j - 1]) && !isWordChar(s[j + 1])) return j;
  }
  return -1;
}

/** Text with the atoms (code, tokens) put back where their placeholders are. */
function textWithAtoms(s: string, atoms: MrkdwnNode[], out: MrkdwnNode[]): void {
  s.split(PLACEHOLDER).forEach((part, i) => {
    if (i % 2 === 1) out.push(atoms[Number(part)] as MrkdwnNode);
    else if (part !== '') out.push(...emojiNodes(decodeEntities(part)));
  });
}

function emphasis(s: string, atoms: MrkdwnNode[]): MrkdwnNode[] {
  const out: MrkdwnNode[] = [];
  let buf = '';
  let i = 0;
  while (i < s.length) {
    const ch = s.charAt(i);
    const style = hasOwn(EMPHASIS, ch) ? EMPHASIS[ch] : undefined;
    if (style !== undefined && opensAt(s, i)) {
      const j = closingIndex(s, i);
      if (j > 0) {
        textWithAtoms(buf, atoms, out);
        buf = '';
        out.push({ t: style, c: emphasis(s.slice(i + 1, j), atoms) });
        i = j + 1;
        continue;
      }
    }
    buf += ch;
    i += 1;
  }
  textWithAtoms(buf, atoms, out);
  return out;
}

function inlineNodes(line: string, dir: Partial<Directory>): MrkdwnNode[] {
  const atoms: MrkdwnNode[] = [];
  const hold = (node: MrkdwnNode): string => {
    atoms.push(node);
    return '\u0000' + (atoms.length - 1) + '\u0000';
  };
  let s = line.replace(/`([^`\n]+)`/g, (_m, code: string) => hold({ t: 'code', v: codeText(code, dir) }));
  s = s.replace(/<([^<>\n]*)>/g, (_m, body: string) => hold(angleToken(body, dir)));
  return emphasis(s, atoms);
}

function lineNodes(segment: string, dir: Partial<Directory>, out: MrkdwnNode[]): void {
  const lines = segment.split('\n');
  let quote: QuoteNode | null = null;
  lines.forEach((line, k) => {
    const q = /^>[ \t]?/.exec(line);
    if (q !== null) {
      if (quote === null) {
        quote = { t: 'quote', c: [] };
        out.push(quote);
      } else {
        quote.c.push({ t: 'br' });
      }
      quote.c.push(...inlineNodes(line.slice(q[0].length), dir));
      return;
    }
    if (k > 0 && quote === null) out.push({ t: 'br' });
    quote = null;
    out.push(...inlineNodes(line, dir));
  });
}

/**
 * Slack mrkdwn → nodes. dir: { users: {id: name}, groups: {id: handle}, channels: {id: name} }.
 * Nodes: text, emoji {name, v}, b/i/s {c}, code, pre, quote {c}, br, link {href|null, v}, mention {kind, id, v}.
 */
export function mrkdwnNodes(text: unknown, dir?: Partial<Directory>): MrkdwnNode[] {
  const raw: unknown = text ?? '';
  // eslint-disable-next-line no-control-regex -- NULs are taken out: they mark the atoms' places
  const s = String(raw).replace(/\u0000/g, '');
  const d = dir || {};
  const out: MrkdwnNode[] = [];
  const re = /```([\s\S]*?)```/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    if (m.index > last) lineNodes(s.slice(last, m.index).replace(/\n$/, ''), d, out);
    out.push({ t: 'pre', v: codeText((m[1] ?? '').replace(/^\n/, '').replace(/\n$/, ''), d) });
    last = re.lastIndex;
    if (s.charAt(last) === '\n') last += 1;
  }
  if (last < s.length) lineNodes(s.slice(last), d, out);
  return out;
}

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const NODE_TAGS = { b: 'b', i: 'i', s: 's', quote: 'blockquote' } as const;

/** The nodes as escaped HTML (what the page builds with DOM calls). */
export function nodesToHtml(nodes: readonly MrkdwnNode[]): string {
  let out = '';
  for (const n of nodes) {
    switch (n.t) {
      case 'text':
        out += escapeHtml(n.v);
        break;
      case 'br':
        out += '<br>';
        break;
      case 'code':
        out += '<code>' + escapeHtml(n.v) + '</code>';
        break;
      case 'pre':
        out += '<pre>' + escapeHtml(n.v) + '</pre>';
        break;
      case 'emoji':
        out += '<span class="emoji" title=":' + escapeHtml(n.name) + ':">' + escapeHtml(n.v) + '</span>';
        break;
      case 'mention':
        out += '<span class="mention">' + escapeHtml(n.v) + '</span>';
        break;
      case 'link':
        out +=
          n.href === null
            ? `<a class="dead-link">${escapeHtml(n.v)}</a>`
            : `<a href="${escapeHtml(n.href)}" target="_blank" rel="noopener noreferrer">${escapeHtml(n.v)}</a>`;
        break;
      default:
        out += '<' + NODE_TAGS[n.t] + '>' + nodesToHtml(n.c) + '</' + NODE_TAGS[n.t] + '>';
    }
  }
  return out;
}

export function mrkdwnToHtml(text: unknown, dir?: Partial<Directory>): string {
  return nodesToHtml(mrkdwnNodes(text, dir));
}
