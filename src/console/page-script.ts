// The console page's behaviour, as browser JavaScript in a string (no build step, no external assets).
// It runs after MRKDWN_JS in one IIFE. Everything on screen is built with DOM calls and textContent;
// nothing is ever assigned to innerHTML.
//
// Data flow: GET /console/state for the selected channel and person, redrawn on each 'changed'
// Server-Sent Event; commands, button clicks and modal submissions go to /console/* which signs them
// and sends them to the bot's POST /slack/events. Lag charts come from /console/runs and /console/lag.
//
// String.raw: the code uses no backtick (\x60 where one is meant) and no template literals.

export const PAGE_JS = String.raw`
var LS_USER = 'cutover-console.user';
var LS_CHANNEL = 'cutover-console.channel';
var COMMAND_PREFIX = '/cutover ';
var LAG_REFRESH_MS = 2000;

var S = {
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

function readStored(key) {
  try {
    return window.localStorage.getItem(key);
  } catch (_e) {
    return null;
  }
}

function store(key, value) {
  try {
    window.localStorage.setItem(key, value);
  } catch (_e) {
    /* private mode: the choice lasts for this page only */
  }
}

function $(id) {
  return document.getElementById(id);
}

function el(tag, cls, text) {
  var node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

// ---- talking to the console's endpoints ----

function getJson(path) {
  return fetch(path, { headers: { accept: 'application/json' } }).then(function (r) {
    return r.json().then(function (body) {
      if (!r.ok) throw new Error(body && body.error ? body.error : 'HTTP ' + r.status);
      return body;
    });
  });
}

function postJson(path, body) {
  return fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  }).then(function (r) {
    return r.json().then(
      function (json) {
        if (!r.ok && json && json.ok !== false) json.ok = false;
        return json;
      },
      function () {
        return { ok: false, error: 'HTTP ' + r.status };
      },
    );
  });
}

var toastTimer = null;
function toast(text, kind) {
  var t = $('toast');
  t.textContent = text;
  t.className = 'toast show ' + (kind || 'error');
  if (toastTimer) clearTimeout(toastTimer);
  toastTimer = setTimeout(function () {
    t.className = 'toast';
  }, 6000);
}

// ---- state ----

function refresh() {
  if (S.loading) {
    S.dirty = true;
    return;
  }
  S.loading = true;
  var q = [];
  if (S.channel) q.push('channel=' + encodeURIComponent(S.channel));
  if (S.user) q.push('user=' + encodeURIComponent(S.user));
  getJson('/console/state' + (q.length ? '?' + q.join('&') : ''))
    .then(function (state) {
      S.state = state;
      S.user = state.user;
      S.channel = state.channel;
      S.dir = directoryOf(state);
      render();
    })
    .catch(function (e) {
      // A channel or person from an older session: start over with the defaults.
      if (S.channel || S.user) {
        S.channel = null;
        S.user = null;
        S.dirty = true;
      } else {
        toast('Could not load the channel: ' + e.message);
      }
    })
    .then(function () {
      S.loading = false;
      if (S.dirty) {
        S.dirty = false;
        refresh();
      }
    });
}

var refreshTimer = null;
function scheduleRefresh() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(function () {
    refreshTimer = null;
    refresh();
    refreshRuns();
  }, 30);
}

function directoryOf(state) {
  var dir = { users: {}, groups: {}, channels: {} };
  state.users.forEach(function (u) {
    dir.users[u.id] = u.name;
  });
  state.groups.forEach(function (g) {
    dir.groups[g.id] = g.handle;
  });
  state.channels.forEach(function (c) {
    dir.channels[c.id] = c.name;
  });
  dir.users[state.bot.id] = state.bot.name;
  return dir;
}

function userName(id) {
  if (!id) return 'unknown';
  return Object.prototype.hasOwnProperty.call(S.dir.users, id) ? S.dir.users[id] : id;
}

// ---- rendering: mrkdwn and Block Kit ----

function appendNodes(parent, nodes) {
  nodes.forEach(function (n) {
    var node;
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
      case 'emoji':
        node = el('span', 'emoji', n.v);
        node.title = ':' + n.name + ':';
        parent.appendChild(node);
        return;
      case 'mention':
        node = el('span', 'mention mention-' + n.kind, n.v);
        if (n.kind === 'user' && n.id === S.user) node.className += ' mention-me';
        node.title = n.id;
        parent.appendChild(node);
        return;
      case 'link':
        node = el('a', n.href === null ? 'dead-link' : null, n.v);
        if (n.href !== null) {
          node.href = n.href;
          node.target = '_blank';
          node.rel = 'noopener noreferrer';
        } else {
          node.title = 'Slack reads <' + n.v + '> as a link';
        }
        parent.appendChild(node);
        return;
      case 'b':
      case 'i':
      case 's':
        node = el(n.t);
        appendNodes(node, n.c);
        parent.appendChild(node);
        return;
      case 'quote':
        node = el('blockquote');
        appendNodes(node, n.c);
        parent.appendChild(node);
        return;
    }
  });
}

function textObject(obj, cls) {
  var node = el('div', cls);
  if (!obj) return node;
  if (obj.type === 'mrkdwn') appendNodes(node, mrkdwnNodes(obj.text, S.dir));
  else appendNodes(node, plainNodes(obj.text, obj.emoji));
  return node;
}

function plainText(obj) {
  return obj && typeof obj.text === 'string' ? obj.text : '';
}

function emojiText(obj) {
  return plainNodes(plainText(obj), obj ? obj.emoji : undefined)
    .map(function (n) {
      return n.v;
    })
    .join('');
}

/** ctx: { message, surface: 'message' | 'modal', values, errors } */
function renderBlocks(blocks, ctx) {
  var wrap = el('div', 'blocks');
  (blocks || []).forEach(function (block) {
    wrap.appendChild(renderBlock(block, ctx));
  });
  return wrap;
}

function renderBlock(block, ctx) {
  var node;
  switch (block.type) {
    case 'header':
      node = el('div', 'bk-header', emojiText(block.text));
      break;
    case 'divider':
      node = el('hr', 'bk-divider');
      break;
    case 'section':
      node = el('div', 'bk-section');
      var main = el('div', 'bk-section-main');
      if (block.text) main.appendChild(textObject(block.text, 'bk-text'));
      if (block.fields && block.fields.length) {
        var fields = el('div', 'bk-fields');
        block.fields.forEach(function (f) {
          fields.appendChild(textObject(f, 'bk-field'));
        });
        main.appendChild(fields);
      }
      node.appendChild(main);
      if (block.accessory) {
        var acc = el('div', 'bk-accessory');
        acc.appendChild(renderElement(block.accessory, block, ctx));
        node.appendChild(acc);
      }
      break;
    case 'context':
      node = el('div', 'bk-context');
      (block.elements || []).forEach(function (e) {
        if (e.type === 'image') node.appendChild(el('span', 'bk-context-image', '[' + (e.alt_text || 'image') + ']'));
        else node.appendChild(textObject(e, 'bk-context-item'));
      });
      break;
    case 'actions':
      node = el('div', 'bk-actions');
      (block.elements || []).forEach(function (e) {
        node.appendChild(renderElement(e, block, ctx));
      });
      break;
    case 'input':
      node = renderInput(block, ctx);
      break;
    case 'markdown':
      node = el('div', 'bk-section');
      appendNodes(node, mrkdwnNodes(block.text, S.dir));
      break;
    default:
      node = el('div', 'bk-unsupported', '[' + block.type + ' block: not drawn by the console]');
  }
  if (block.block_id) node.setAttribute('data-block-id', block.block_id);
  return node;
}

function renderElement(e, block, ctx) {
  if (e.type !== 'button') return el('span', 'bk-unsupported', '[' + e.type + ']');
  var b = el('button', 'bk-button' + (e.style ? ' bk-' + e.style : ''), emojiText(e.text));
  b.type = 'button';
  b.setAttribute('data-action-id', e.action_id || '');
  if (e.url) {
    b.title = e.url;
    b.addEventListener('click', function () {
      window.open(e.url, '_blank', 'noopener');
    });
    return b;
  }
  if (ctx.surface !== 'message') {
    b.disabled = true;
    b.title = 'Buttons inside modals are not simulated';
    return b;
  }
  b.addEventListener('click', function () {
    var send = function () {
      clickButton(b, ctx.message, block.block_id, e);
    };
    if (e.confirm) openConfirm(e.confirm, send);
    else send();
  });
  return b;
}

function clickButton(b, message, blockId, e) {
  b.disabled = true;
  b.classList.add('busy');
  postJson('/console/action', {
    user: S.user,
    channel: S.channel,
    messageTs: message.ts,
    actionId: e.action_id,
    value: e.value === undefined ? '' : e.value,
    blockId: blockId,
  })
    .then(function (res) {
      if (!res.ok) toast(res.error || 'The click was not delivered');
    })
    .catch(function (err) {
      toast('The click was not delivered: ' + err.message);
    })
    .then(function () {
      b.disabled = false;
      b.classList.remove('busy');
    });
}

// ---- confirmation dialog (a button's "confirm") ----

function openConfirm(confirm, onConfirm) {
  var d = $('confirm');
  $('confirm-title').textContent = plainText(confirm.title) || 'Are you sure?';
  var text = $('confirm-text');
  clear(text);
  text.appendChild(textObject(confirm.text, 'confirm-body'));
  var yes = $('confirm-yes');
  yes.textContent = plainText(confirm.confirm) || 'Yes';
  yes.className = 'bk-button ' + (confirm.style === 'danger' ? 'bk-danger' : 'bk-primary');
  $('confirm-no').textContent = plainText(confirm.deny) || 'Cancel';
  d.onclose = function () {
    if (d.returnValue === 'confirm') onConfirm();
  };
  d.returnValue = '';
  d.showModal();
  yes.focus();
}

// ---- modals (views.open / views.update) ----

function renderInput(block, ctx) {
  var node = el('div', 'bk-input');
  var id = 'in-' + block.block_id + '-' + (block.element && block.element.action_id);
  var label = el('label', 'bk-input-label', plainText(block.label));
  label.htmlFor = id;
  if (block.optional) label.appendChild(el('span', 'bk-optional', ' (optional)'));
  node.appendChild(label);
  var e = block.element || {};
  if (e.type === 'plain_text_input') {
    var input = e.multiline ? el('textarea', 'bk-text-input') : el('input', 'bk-text-input');
    if (!e.multiline) input.type = 'text';
    input.id = id;
    input.setAttribute('data-block-id', block.block_id);
    input.setAttribute('data-action-id', e.action_id);
    if (!block.optional) input.setAttribute('data-required', 'true');
    if (e.placeholder) input.placeholder = plainText(e.placeholder);
    if (e.max_length) input.maxLength = e.max_length;
    var key = block.block_id + '/' + e.action_id;
    var kept = ctx.values && Object.prototype.hasOwnProperty.call(ctx.values, key) ? ctx.values[key] : null;
    input.value = kept !== null ? kept : e.initial_value || '';
    if (e.focus_on_load) input.setAttribute('data-focus', 'true');
    input.addEventListener('keydown', function (ev) {
      if (ev.key === 'Enter' && !e.multiline) {
        ev.preventDefault();
        submitView();
      }
    });
    node.appendChild(input);
  } else {
    node.appendChild(el('div', 'bk-unsupported', '[' + e.type + ' input: not simulated]'));
  }
  var err = ctx.errors && ctx.errors[block.block_id];
  if (err) {
    node.classList.add('has-error');
    node.appendChild(el('div', 'bk-input-error', err));
  }
  if (block.hint) node.appendChild(el('div', 'bk-hint', plainText(block.hint)));
  return node;
}

function currentValues() {
  var values = {};
  var inputs = $('modal-body').querySelectorAll('[data-action-id].bk-text-input');
  Array.prototype.forEach.call(inputs, function (input) {
    values[input.getAttribute('data-block-id') + '/' + input.getAttribute('data-action-id')] = input.value;
  });
  return values;
}

function renderModal() {
  var d = $('modal');
  var views = (S.state && S.state.openViews) || [];
  var top = views.length ? views[views.length - 1] : null;
  if (!top) {
    S.view = null;
    if (d.open) d.close();
    return;
  }
  var key = top.id + ':' + top.view.hash;
  var errorsKey = JSON.stringify(S.viewErrors[top.id] || {});
  if (S.view && S.view.key === key && S.view.errorsKey === errorsKey && d.open) return;
  var values = S.view && S.view.id === top.id ? currentValues() : {};
  S.view = { id: top.id, key: key, errorsKey: errorsKey, view: top.view };
  $('modal-title').textContent = emojiText(top.view.title);
  var body = $('modal-body');
  clear(body);
  body.appendChild(
    renderBlocks(top.view.blocks, { surface: 'modal', values: values, errors: S.viewErrors[top.id] || {} }),
  );
  var submit = $('modal-submit');
  submit.hidden = !top.view.submit;
  submit.textContent = top.view.submit ? emojiText(top.view.submit) : 'Submit';
  $('modal-close').textContent = top.view.close ? emojiText(top.view.close) : 'Cancel';
  $('modal-stack').textContent = views.length > 1 ? views.length + ' views stacked' : '';
  if (!d.open) d.showModal();
  var focus = body.querySelector('[data-focus]') || body.querySelector('.bk-text-input');
  if (focus) focus.focus();
}

function submitView() {
  if (!S.view) return;
  var viewId = S.view.id;
  var values = {};
  var missing = {};
  var inputs = $('modal-body').querySelectorAll('[data-action-id].bk-text-input');
  Array.prototype.forEach.call(inputs, function (input) {
    var blockId = input.getAttribute('data-block-id');
    var actionId = input.getAttribute('data-action-id');
    if (!values[blockId]) values[blockId] = {};
    values[blockId][actionId] = input.value;
    if (input.getAttribute('data-required') && input.value.trim() === '') {
      missing[blockId] = 'Please complete this required field.';
    }
  });
  if (Object.keys(missing).length) {
    S.viewErrors[viewId] = missing;
    renderModal();
    return;
  }
  var submit = $('modal-submit');
  submit.disabled = true;
  postJson('/console/view', { user: S.user, viewId: viewId, values: values })
    .then(function (res) {
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
    .catch(function (err) {
      toast('The submission was not delivered: ' + err.message);
    })
    .then(function () {
      submit.disabled = false;
    });
}

function closeView() {
  if (!S.view) return;
  var viewId = S.view.id;
  delete S.viewErrors[viewId];
  postJson('/console/view/close', { user: S.user, viewId: viewId }).then(function (res) {
    if (!res.ok) toast(res.error || 'Could not close the modal');
    scheduleRefresh();
  });
}

// ---- messages ----

function formatTime(ts) {
  var d = new Date(Number(ts) * 1000);
  var hh = String(d.getHours()).padStart(2, '0');
  var mm = String(d.getMinutes()).padStart(2, '0');
  return hh + ':' + mm;
}

function avatar(id, bot) {
  var name = bot ? 'cutover' : userName(id);
  var a = el('div', 'avatar' + (bot ? ' avatar-bot' : ''), bot ? '⚙' : name.charAt(0).toUpperCase());
  var h = 0;
  for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) % 360;
  if (!bot) a.style.background = 'hsl(' + h + ', 45%, 45%)';
  return a;
}

function renderMessage(m, inThread) {
  var row = el('div', 'msg' + (m.ephemeral ? ' msg-ephemeral' : ''));
  row.setAttribute('data-ts', m.ts);
  row.appendChild(avatar(m.user, m.bot));
  var main = el('div', 'msg-main');
  var meta = el('div', 'msg-meta');
  meta.appendChild(el('span', 'msg-author', m.bot ? S.state.bot.name : userName(m.user)));
  if (m.bot) meta.appendChild(el('span', 'msg-app', 'APP'));
  var time = el('span', 'msg-time', formatTime(m.ts));
  time.title = m.ts;
  meta.appendChild(time);
  if (m.edited) meta.appendChild(el('span', 'msg-edited', '(edited)'));
  main.appendChild(meta);
  var content = el('div', 'msg-content');
  var ctx = { surface: 'message', message: m };
  if (m.blocks && m.blocks.length) content.appendChild(renderBlocks(m.blocks, ctx));
  else content.appendChild(textObject({ type: 'mrkdwn', text: m.text }, 'msg-text'));
  var lag = el('div', 'lag-slot');
  lag.hidden = true;
  content.appendChild(lag);
  main.appendChild(content);
  if (m.ephemeral) {
    var note = el('div', 'ephemeral-note', '👁 Only visible to you');
    main.appendChild(note);
  }
  if (!inThread && m.replyCount > 0) {
    var link = el('button', 'replies-link', m.replyCount + (m.replyCount === 1 ? ' reply' : ' replies'));
    link.type = 'button';
    link.addEventListener('click', function () {
      openThread(m.ts);
    });
    main.appendChild(link);
  }
  row.appendChild(main);
  return row;
}

function signature(m, inThread) {
  return JSON.stringify([m.version, m.text, m.blocks, m.edited, inThread ? 0 : m.replyCount, S.user]);
}

/** Redraws only the messages that changed; keeps the reader's scroll position. */
function renderList(container, messages, inThread) {
  var atBottom = container.scrollHeight - container.scrollTop - container.clientHeight < 60;
  var top = container.scrollTop;
  var existing = {};
  Array.prototype.forEach.call(container.children, function (child) {
    var k = child.getAttribute('data-key');
    if (k) existing[k] = child;
  });
  var wanted = messages.map(function (m) {
    var key = m.ts + (m.ephemeral ? ':e' : '');
    var sig = signature(m, inThread);
    var node = existing[key];
    if (!node || node.getAttribute('data-sig') !== sig) {
      node = renderMessage(m, inThread);
      node.setAttribute('data-key', key);
      node.setAttribute('data-sig', sig);
    }
    return node;
  });
  var keep = new Set(wanted);
  Array.prototype.slice.call(container.children).forEach(function (child) {
    if (!keep.has(child)) container.removeChild(child);
  });
  wanted.forEach(function (node, i) {
    if (container.children[i] !== node) container.insertBefore(node, container.children[i] || null);
  });
  if (atBottom) container.scrollTop = container.scrollHeight;
  else container.scrollTop = top;
}

function renderEmptyChannel(container) {
  if (container.querySelector('.empty')) return;
  var empty = el('div', 'empty');
  empty.appendChild(el('div', 'empty-title', 'This is the very beginning of #' + S.dir.channels[S.channel]));
  empty.appendChild(el('div', null, 'Try /cutover help, /cutover targets or /cutover start <target>.'));
  container.appendChild(empty);
}

function openThread(ts) {
  S.thread = ts;
  render();
}

function renderThread() {
  var panel = $('thread');
  var parent = null;
  if (S.thread && S.state) {
    S.state.messages.forEach(function (m) {
      if (m.ts === S.thread) parent = m;
    });
  }
  if (!parent) {
    S.thread = null;
    panel.hidden = true;
    clear($('thread-list'));
    return;
  }
  panel.hidden = false;
  $('thread-channel').textContent = '#' + S.dir.channels[S.channel];
  renderList($('thread-list'), [parent].concat(parent.replies), true);
}

// ---- sidebar, picker, top bar ----

function renderChannels() {
  var list = $('channels');
  clear(list);
  S.state.channels.forEach(function (c) {
    var item = el('button', 'channel' + (c.id === S.channel ? ' active' : ''));
    item.type = 'button';
    item.appendChild(el('span', 'hash', '#'));
    item.appendChild(el('span', null, c.name));
    item.title = c.targets.length ? 'Targets: ' + c.targets.join(', ') : c.id;
    item.addEventListener('click', function () {
      if (c.id === S.channel) return;
      S.channel = c.id;
      S.thread = null;
      store(LS_CHANNEL, c.id);
      clear($('messages'));
      refresh();
      refreshRuns();
    });
    list.appendChild(item);
  });
}

function describeUser(u) {
  if (u.role === 'requester') return u.name + ' (you, requester)';
  if (u.role === 'approver') return u.name + ' (approver: ' + (u.approves.join(', ') || 'none') + ')';
  var groups = u.groups
    .map(function (g) {
      return '@' + (S.dir.groups[g] || g);
    })
    .join(', ');
  return u.name + ' (member of ' + groups + ')';
}

function renderPicker() {
  var select = $('user');
  var sig = JSON.stringify(S.state.users) + S.user;
  if (select.getAttribute('data-sig') === sig) return;
  select.setAttribute('data-sig', sig);
  clear(select);
  S.state.users.forEach(function (u) {
    var option = el('option', null, describeUser(u));
    option.value = u.id;
    option.selected = u.id === S.user;
    select.appendChild(option);
  });
}

function renderRunsSidebar() {
  var list = $('runs');
  clear(list);
  var active = S.runs.filter(function (r) {
    return r.active;
  });
  $('runs-heading').hidden = active.length === 0;
  active.forEach(function (r) {
    var item = el('div', 'run-item');
    item.appendChild(el('span', 'run-state run-' + r.state, r.state.replace('_', ' ')));
    item.appendChild(el('span', null, ' ' + r.target + ' '));
    item.appendChild(el('code', null, r.shortId));
    list.appendChild(item);
  });
}

function render() {
  if (!S.state) return;
  renderChannels();
  renderPicker();
  var channel = S.state.channels.filter(function (c) {
    return c.id === S.channel;
  })[0];
  $('channel-name').textContent = '#' + (channel ? channel.name : S.channel);
  $('channel-topic').textContent =
    channel && channel.targets.length ? 'Cutovers of ' + channel.targets.join(', ') : '';
  $('workspace-name').textContent = S.state.team.name;
  var list = $('messages');
  if (S.state.messages.length === 0) {
    clear(list);
    renderEmptyChannel(list);
  } else {
    var empty = list.querySelector('.empty');
    if (empty) list.removeChild(empty);
    renderList(list, S.state.messages, false);
  }
  renderThread();
  renderModal();
  placeCharts();
}

// ---- lag charts ----

function refreshRuns() {
  return getJson('/console/runs')
    .then(function (body) {
      S.runs = body.runs;
      renderRunsSidebar();
      return refreshCharts();
    })
    .catch(function () {
      /* the next event or tick tries again */
    });
}

/** The progress message of a run: the first channel message of the bot that shows its short id. */
function progressMessageOf(run) {
  if (!S.state) return null;
  var needle = '\x60' + run.shortId + '\x60';
  var found = null;
  S.state.messages.forEach(function (m) {
    if (found || !m.bot || m.ephemeral || !m.blocks) return;
    if (JSON.stringify(m.blocks).indexOf(needle) >= 0) found = m;
  });
  return found;
}

function refreshCharts() {
  if (S.lagBusy) return Promise.resolve();
  var wanted = S.runs.filter(function (r) {
    if (r.channel !== S.channel) return false;
    var chart = S.charts[r.id];
    return r.active || !chart || chart.active;
  });
  if (!wanted.length) return Promise.resolve();
  S.lagBusy = true;
  return Promise.all(
    wanted.map(function (r) {
      return getJson('/console/lag?run=' + encodeURIComponent(r.id)).then(function (lag) {
        S.charts[r.id] = { run: r, active: r.active, node: drawChart(r, lag) };
      });
    }),
  )
    .catch(function () {
      /* tried again on the next tick */
    })
    .then(function () {
      S.lagBusy = false;
      placeCharts();
    });
}

function placeCharts() {
  S.runs.forEach(function (r) {
    var chart = S.charts[r.id];
    if (!chart || r.channel !== S.channel) return;
    var m = progressMessageOf(r);
    if (!m) return;
    var row = $('messages').querySelector('[data-key="' + m.ts + '"]');
    var slot = row && row.querySelector('.lag-slot');
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

function formatBytes(n) {
  if (n === null || !isFinite(n)) return '?';
  if (Math.abs(n) < 1024) return Math.round(n) + ' B';
  var units = ['kB', 'MB', 'GB', 'TB'];
  var v = n / 1024;
  var u = 0;
  while (u < units.length - 1 && Math.abs(v) >= 1024) {
    v /= 1024;
    u += 1;
  }
  return v.toFixed(1) + ' ' + units[u];
}

function formatSeconds(s) {
  if (s === null || !isFinite(s)) return '?';
  return s < 10 ? s.toFixed(1) + ' s' : Math.round(s) + ' s';
}

var SVG_NS = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, text) {
  var node = document.createElementNS(SVG_NS, tag);
  Object.keys(attrs).forEach(function (k) {
    node.setAttribute(k, String(attrs[k]));
  });
  if (text !== undefined) node.textContent = text;
  return node;
}

/** An SVG of the run's lag over time (bytes; seconds when the target reports no bytes). */
function drawChart(run, lag) {
  var samples = lag.samples || [];
  var box = el('div', 'lag-chart');
  box.setAttribute('data-run', run.id);
  if (!samples.length) {
    if (!run.active) return null;
    box.appendChild(el('div', 'lag-caption', 'Lag ' + run.shortId + ': no samples yet'));
    return box;
  }
  // A cluster (rolling-replace) reports lagging replicas instead of bytes/seconds.
  var useReplicas = samples.some(function (s) {
    return typeof s.laggingReplicas === 'number';
  });
  var useBytes = samples.some(function (s) {
    return s.bytes !== null;
  });
  var value = function (s) {
    if (useReplicas) return typeof s.laggingReplicas === 'number' ? s.laggingReplicas : null;
    return useBytes ? s.bytes : s.seconds;
  };
  var fmt = useReplicas ? String : useBytes ? formatBytes : formatSeconds;
  var limit = useReplicas ? undefined : useBytes ? lag.limits.maxBytes : lag.limits.maxSeconds;
  var hasLimit = typeof limit === 'number' && isFinite(limit);
  var times = samples.map(function (s) {
    return Date.parse(s.at);
  });
  var t0 = times[0];
  var t1 = Math.max(times[times.length - 1], t0 + 1000);
  var known = samples.map(value).filter(function (v) {
    return v !== null;
  });
  var highest = Math.max.apply(null, known.concat([0]));
  // A limit far above every sample would flatten them into a line at 0: the chart then scales to
  // the samples and names the limit in its caption instead.
  var limitShown = hasLimit && limit <= highest * 20;
  var top = Math.max(1, highest, limitShown ? limit : 0) * 1.15;
  var W = 320;
  var H = 120;
  var L = 44;
  var R = 8;
  var T = 8;
  var B = 18;
  var x = function (t) {
    return L + ((t - t0) / (t1 - t0)) * (W - L - R);
  };
  var y = function (v) {
    return T + (1 - v / top) * (H - T - B);
  };
  var chart = svg('svg', {
    viewBox: '0 0 ' + W + ' ' + H,
    width: W,
    height: H,
    role: 'img',
    class: 'lag-svg',
  });
  chart.appendChild(svg('title', {}, 'Replication lag of run ' + run.shortId));
  chart.appendChild(svg('rect', { x: L, y: T, width: W - L - R, height: H - T - B, class: 'lag-plot' }));
  chart.appendChild(svg('text', { x: L - 4, y: T + 8, class: 'lag-axis', 'text-anchor': 'end' }, fmt(top)));
  chart.appendChild(svg('text', { x: L - 4, y: H - B, class: 'lag-axis', 'text-anchor': 'end' }, fmt(0)));
  var span = Math.round((t1 - t0) / 1000);
  chart.appendChild(svg('text', { x: L, y: H - 4, class: 'lag-axis' }, '-' + span + ' s'));
  chart.appendChild(svg('text', { x: W - R, y: H - 4, class: 'lag-axis', 'text-anchor': 'end' }, 'now'));
  if (limitShown) {
    chart.appendChild(
      svg('line', { x1: L, x2: W - R, y1: y(limit), y2: y(limit), class: 'lag-threshold' }),
    );
    chart.appendChild(
      svg('text', { x: W - R - 2, y: y(limit) - 3, class: 'lag-threshold-label', 'text-anchor': 'end' },
        'max ' + fmt(limit)),
    );
  }
  // One polyline per run of known samples; unknown samples (counted as too high) are red ticks.
  var points = [];
  var flush = function () {
    if (points.length === 1) {
      var p = points[0].split(',');
      chart.appendChild(svg('circle', { cx: p[0], cy: p[1], r: 2, class: 'lag-dot' }));
    } else if (points.length > 1) {
      chart.appendChild(svg('polyline', { points: points.join(' '), class: 'lag-line' }));
    }
    points = [];
  };
  samples.forEach(function (s, i) {
    var v = value(s);
    if (v === null) {
      flush();
      chart.appendChild(svg('line', { x1: x(times[i]), x2: x(times[i]), y1: T, y2: T + 6, class: 'lag-unknown' }));
      return;
    }
    points.push(x(times[i]).toFixed(1) + ',' + y(v).toFixed(1));
  });
  flush();
  var newest = samples[samples.length - 1];
  var caption = 'Lag ' + run.shortId + ': ';
  if (useReplicas) caption = 'Lagging replicas ' + run.shortId + ': ' + String(value(newest));
  else if (newest.bytes === null || newest.seconds === null) caption += 'unknown (counts as too high)';
  else caption += formatBytes(newest.bytes) + ' / ' + formatSeconds(newest.seconds);
  if (hasLimit && !limitShown) caption += ' (limit ' + fmt(limit) + ', far above)';
  caption += ' · ' + samples.length + ' samples';
  box.appendChild(el('div', 'lag-caption', caption));
  box.appendChild(chart);
  return box;
}

// ---- composer ----

function sendComposer() {
  var input = $('command');
  var text = input.value.trim();
  if (text === '') return;
  S.history.push(text);
  S.historyPos = -1;
  input.value = COMMAND_PREFIX;
  var threadTs = null;
  var request;
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
    request = postJson('/console/message', { user: S.user, channel: S.channel, text: text, threadTs: threadTs });
  }
  $('send').disabled = true;
  request
    .then(function (res) {
      if (!res.ok) toast(res.error || 'Not sent');
    })
    .catch(function (err) {
      toast('Not sent: ' + err.message);
    })
    .then(function () {
      $('send').disabled = false;
      input.focus();
    });
}

function sendThreadReply() {
  var input = $('thread-input');
  var text = input.value.trim();
  if (text === '' || !S.thread) return;
  input.value = '';
  postJson('/console/message', { user: S.user, channel: S.channel, text: text, threadTs: S.thread }).then(
    function (res) {
      if (!res.ok) toast(res.error || 'Not sent');
    },
  );
}

function historyKey(ev) {
  var input = $('command');
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
  input.value = S.history[S.historyPos];
}

// ---- start ----

function connectEvents() {
  var status = $('connection');
  var source = new EventSource('/console/events');
  source.addEventListener('changed', scheduleRefresh);
  source.addEventListener('open', function () {
    status.textContent = 'live';
    status.className = 'connection live';
    scheduleRefresh();
  });
  source.addEventListener('error', function () {
    status.textContent = 'reconnecting…';
    status.className = 'connection down';
  });
}

function start() {
  $('composer').addEventListener('submit', function (ev) {
    ev.preventDefault();
    sendComposer();
  });
  $('command').addEventListener('keydown', historyKey);
  $('thread-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    sendThreadReply();
  });
  $('user').addEventListener('change', function (ev) {
    S.user = ev.target.value;
    store(LS_USER, S.user);
    S.view = null;
    refresh();
  });
  $('thread-close').addEventListener('click', function () {
    S.thread = null;
    renderThread();
  });
  $('modal-submit').addEventListener('click', submitView);
  $('modal-close').addEventListener('click', closeView);
  $('modal-x').addEventListener('click', closeView);
  $('modal').addEventListener('cancel', function (ev) {
    ev.preventDefault();
    closeView();
  });
  refresh();
  refreshRuns();
  connectEvents();
  setInterval(function () {
    var active = S.runs.some(function (r) {
      return r.active && r.channel === S.channel;
    });
    if (active) refreshRuns();
  }, LAG_REFRESH_MS);
  $('command').focus();
}

start();
`;
