// Slack mrkdwn for the console page, as browser JavaScript in a string (the page has no build step).
//
// `mrkdwnNodes(text, directory)` parses mrkdwn into a small node tree; the page turns the tree into DOM
// nodes with textContent only, and `nodesToHtml` serializes it (escaped) for tests. Both run unchanged
// in Node's `vm` (the tests) and in the browser: they touch no DOM and no globals.
//
// What Slack does, at the depth the bot needs: &amp; &lt; &gt; are decoded in text; <@U…>, <#C…>,
// <!subteam^S…>, <!here>, <!date^…|fallback> and <url|label> are tokens; ```code blocks``` and `code` are
// verbatim; *bold*, _italic_ and ~strike~ open after a non-word character and close before one; lines
// starting with ">" are quotes; :shortcodes: the bot uses become emoji, others stay text.
//
// Written as String.raw so regular expressions read as they run; the code uses no backtick (a \x60 escape
// where one is meant) and no template literals.

export const MRKDWN_JS = String.raw`
var EMOJI = {
  white_check_mark: '✅', x: '❌', hourglass_flowing_sand: '⏳', hourglass: '⌛', raised_hand: '✋',
  warning: '⚠️', rewind: '⏪', large_blue_circle: '🔵', no_entry_sign: '🚫', no_entry: '⛔',
  white_circle: '⚪', heavy_minus_sign: '➖', leftwards_arrow_with_hook: '↩️', mag: '🔍', gear: '⚙️',
  unlock: '🔓', lock: '🔒', keyboard: '⌨️', test_tube: '🧪', small_blue_diamond: '🔹', rocket: '🚀',
  eyes: '👀', bell: '🔔', clock1: '🕐', stopwatch: '⏱️', tada: '🎉', heavy_check_mark: '✔️',
  arrow_right: '➡️', information_source: 'ℹ️', red_circle: '🔴', large_green_circle: '🟢',
  large_yellow_circle: '🟡', construction: '🚧', fire: '🔥', zap: '⚡', link: '🔗', memo: '📝',
};

function decodeEntities(text) {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function emojiNodes(text) {
  var out = [];
  var re = /:([a-z0-9_+-]+):/g;
  var last = 0;
  var m;
  while ((m = re.exec(text)) !== null) {
    if (!Object.prototype.hasOwnProperty.call(EMOJI, m[1])) {
      re.lastIndex = m.index + 1;
      continue;
    }
    if (m.index > last) out.push({ t: 'text', v: text.slice(last, m.index) });
    out.push({ t: 'emoji', name: m[1], v: EMOJI[m[1]] });
    last = re.lastIndex;
  }
  if (last < text.length) out.push({ t: 'text', v: text.slice(last) });
  return out;
}

/** plain_text objects: shown as typed; emoji: true (the default) turns shortcodes into emoji. */
function plainNodes(text, emoji) {
  var s = String(text);
  return emoji === false ? [{ t: 'text', v: s }] : emojiNodes(s);
}

function nameOf(map, id) {
  return map && Object.prototype.hasOwnProperty.call(map, id) ? map[id] : null;
}

/** One <...> token: a mention, a link, a date, or (unknown) its label. */
function angleToken(body, dir) {
  var bar = body.indexOf('|');
  var head = bar < 0 ? body : body.slice(0, bar);
  var label = bar < 0 ? null : decodeEntities(body.slice(bar + 1));
  var id;
  if (head.charAt(0) === '@') {
    id = head.slice(1);
    return { t: 'mention', kind: 'user', id: id, v: '@' + (nameOf(dir.users, id) || label || id) };
  }
  if (head.charAt(0) === '#') {
    id = head.slice(1);
    return { t: 'mention', kind: 'channel', id: id, v: '#' + (nameOf(dir.channels, id) || label || id) };
  }
  if (head.indexOf('!subteam^') === 0) {
    id = head.slice('!subteam^'.length);
    var handle = nameOf(dir.groups, id) || (label ? label.replace(/^@/, '') : id);
    return { t: 'mention', kind: 'group', id: id, v: '@' + handle };
  }
  if (head.indexOf('!date^') === 0) {
    return { t: 'text', v: label !== null ? label : head.slice('!date^'.length) };
  }
  if (head === '!here' || head === '!channel' || head === '!everyone') {
    return { t: 'mention', kind: 'special', id: head.slice(1), v: '@' + head.slice(1) };
  }
  if (/^(https?:\/\/|mailto:)/i.test(head)) {
    var href = decodeEntities(head);
    return { t: 'link', href: href, v: label !== null && label !== '' ? label : href };
  }
  // Slack shows an unknown token by its label, as a link to nowhere.
  return { t: 'link', href: null, v: label !== null ? label : decodeEntities(head) };
}

/** Code is verbatim: tokens show as their labels, entities are decoded, nothing else happens. */
function codeText(text, dir) {
  var parts = text.split(/(<[^<>\n]*>)/);
  var out = '';
  for (var i = 0; i < parts.length; i++) {
    if (i % 2 === 1) out += angleToken(parts[i].slice(1, -1), dir).v;
    else out += decodeEntities(parts[i]);
  }
  return out;
}

var EMPHASIS = { '*': 'b', _: 'i', '~': 's' };
var PLACEHOLDER = /\u0000(\d+)\u0000/;

function isWordChar(c) {
  return c !== undefined && /[\p{L}\p{N}]/u.test(c);
}

function isSpace(c) {
  return c === undefined || /\s/.test(c);
}

function opensAt(s, i) {
  return !isWordChar(s[i - 1]) && i + 1 < s.length && !isSpace(s[i + 1]) && s[i + 1] !== s[i];
}

function closingIndex(s, i) {
  for (var j = i + 2; j < s.length; j++) {
    if (s[j] === s[i] && !isSpace(s[j - 1]) && !isWordChar(s[j + 1])) return j;
  }
  return -1;
}

function textWithAtoms(s, atoms, out) {
  var parts = s.split(PLACEHOLDER);
  for (var i = 0; i < parts.length; i++) {
    if (i % 2 === 1) out.push(atoms[Number(parts[i])]);
    else if (parts[i] !== '') Array.prototype.push.apply(out, emojiNodes(decodeEntities(parts[i])));
  }
}

function emphasis(s, atoms) {
  var out = [];
  var buf = '';
  var i = 0;
  while (i < s.length) {
    var ch = s[i];
    if (Object.prototype.hasOwnProperty.call(EMPHASIS, ch) && opensAt(s, i)) {
      var j = closingIndex(s, i);
      if (j > 0) {
        textWithAtoms(buf, atoms, out);
        buf = '';
        out.push({ t: EMPHASIS[ch], c: emphasis(s.slice(i + 1, j), atoms) });
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

function inlineNodes(line, dir) {
  var atoms = [];
  var hold = function (node) {
    atoms.push(node);
    return '\u0000' + (atoms.length - 1) + '\u0000';
  };
  var s = line.replace(/\x60([^\x60\n]+)\x60/g, function (_m, code) {
    return hold({ t: 'code', v: codeText(code, dir) });
  });
  s = s.replace(/<([^<>\n]*)>/g, function (_m, body) {
    return hold(angleToken(body, dir));
  });
  return emphasis(s, atoms);
}

function lineNodes(segment, dir, out) {
  var lines = segment.split('\n');
  var quote = null;
  for (var k = 0; k < lines.length; k++) {
    var q = /^>[ \t]?/.exec(lines[k]);
    if (q !== null) {
      if (quote === null) {
        quote = { t: 'quote', c: [] };
        out.push(quote);
      } else {
        quote.c.push({ t: 'br' });
      }
      Array.prototype.push.apply(quote.c, inlineNodes(lines[k].slice(q[0].length), dir));
      continue;
    }
    if (k > 0 && quote === null) out.push({ t: 'br' });
    quote = null;
    Array.prototype.push.apply(out, inlineNodes(lines[k], dir));
  }
}

/**
 * Slack mrkdwn → nodes. dir: { users: {id: name}, groups: {id: handle}, channels: {id: name} }.
 * Nodes: text, emoji {name, v}, b/i/s {c}, code, pre, quote {c}, br, link {href|null, v}, mention {kind, id, v}.
 */
function mrkdwnNodes(text, dir) {
  var s = String(text === undefined || text === null ? '' : text).replace(/\u0000/g, '');
  var d = dir || {};
  var out = [];
  var re = /\x60\x60\x60([\s\S]*?)\x60\x60\x60/g;
  var last = 0;
  var m;
  while ((m = re.exec(s)) !== null) {
    if (m.index > last) lineNodes(s.slice(last, m.index).replace(/\n$/, ''), d, out);
    out.push({ t: 'pre', v: codeText(m[1].replace(/^\n/, '').replace(/\n$/, ''), d) });
    last = re.lastIndex;
    if (s.charAt(last) === '\n') last += 1;
  }
  if (last < s.length) lineNodes(s.slice(last), d, out);
  return out;
}

function escapeHtml(text) {
  return String(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

var NODE_TAGS = { b: 'b', i: 'i', s: 's', quote: 'blockquote' };

/** The nodes as escaped HTML (what the page builds with DOM calls). */
function nodesToHtml(nodes) {
  var out = '';
  for (var i = 0; i < nodes.length; i++) {
    var n = nodes[i];
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
            ? '<a class="dead-link">' + escapeHtml(n.v) + '</a>'
            : '<a href="' + escapeHtml(n.href) + '" target="_blank" rel="noopener noreferrer">' +
              escapeHtml(n.v) + '</a>';
        break;
      default:
        out += '<' + NODE_TAGS[n.t] + '>' + nodesToHtml(n.c) + '</' + NODE_TAGS[n.t] + '>';
    }
  }
  return out;
}

function mrkdwnToHtml(text, dir) {
  return nodesToHtml(mrkdwnNodes(text, dir));
}
`;
