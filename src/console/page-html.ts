// The console page: one self-contained HTML document (inline CSS and script, no external assets).
// The script (the TypeScript in ./page/, bundled by ./page-bundle.ts) runs under a Content-Security-Policy
// nonce; the page itself holds no data (it loads everything from /console/state), so it is the same for
// every request but the nonce.
import { pageBundle } from './page-bundle';

const CSS = `
* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; overflow: hidden; }
body { font: 15px/1.46668 -apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif;
  color: #1d1c1d; background: #fff; }
button { font: inherit; }
#app { display: grid; grid-template-columns: 240px 1fr auto; grid-template-rows: 100%; height: 100vh; }
#app > * { min-height: 0; }
#sidebar { background: #3f0e40; color: #cfc3cf; display: flex; flex-direction: column; overflow: auto; }
#workspace { padding: 14px 16px; border-bottom: 1px solid #5d2c5d; color: #fff; }
#workspace-name { font-weight: 900; font-size: 17px; }
.console-badge { font-size: 12px; color: #cfc3cf; }
.side-heading { padding: 14px 16px 4px; font-size: 13px; font-weight: 700; color: #cfc3cf; }
.channel { display: flex; gap: 6px; width: 100%; text-align: left; border: 0; background: none; color: #cfc3cf;
  padding: 4px 16px; cursor: pointer; }
.channel:hover { background: #350d36; }
.channel.active { background: #1164a3; color: #fff; font-weight: 700; }
.hash { opacity: .7; }
#runs { padding: 0 16px 10px; font-size: 13px; }
.run-item { padding: 3px 0; color: #fff; }
.run-item code { background: #5d2c5d; color: #fff; border: 0; border-radius: 3px; padding: 0 3px; font-size: 12px; }
.run-state { display: inline-block; border-radius: 8px; padding: 0 6px; font-size: 11px; background: #1164a3; }
.run-awaiting_approval { background: #e8912d; }
.run-compensating { background: #e01e5a; }
#channel { display: flex; flex-direction: column; min-width: 0; border-right: 1px solid #ddd; }
#topbar { display: flex; align-items: center; gap: 12px; padding: 10px 20px; border-bottom: 1px solid #ddd; }
#channel-name { font-weight: 900; font-size: 18px; }
#channel-topic { color: #616061; font-size: 13px; flex: 1; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.picker { font-size: 13px; color: #616061; display: flex; align-items: center; gap: 6px; }
#user { font: inherit; padding: 4px 6px; border: 1px solid #bbb; border-radius: 6px; max-width: 340px; }
.connection { font-size: 12px; border-radius: 8px; padding: 1px 8px; }
.connection.live { background: #e3f4ec; color: #007a5a; }
.connection.down { background: #fde8ee; color: #e01e5a; }
#messages { flex: 1; min-height: 0; overflow-y: auto; padding: 8px 0 16px; }
.empty { padding: 40px 20px; color: #616061; }
.empty-title { font-size: 20px; font-weight: 900; color: #1d1c1d; margin-bottom: 6px; }
.msg { display: flex; gap: 8px; padding: 8px 20px; }
.msg:hover { background: #f8f8f8; }
.msg-ephemeral { background: #f4f9fd; }
.avatar { flex: none; width: 36px; height: 36px; border-radius: 6px; background: #611f69; color: #fff;
  display: flex; align-items: center; justify-content: center; font-weight: 700; }
.avatar-bot { background: #2eb67d; font-size: 20px; }
.msg-main { min-width: 0; flex: 1; }
.msg-meta { display: flex; gap: 6px; align-items: baseline; }
.msg-author { font-weight: 900; }
.msg-app { font-size: 10px; font-weight: 700; color: #616061; background: #eee; border-radius: 2px; padding: 0 3px; }
.msg-time, .msg-edited { font-size: 12px; color: #616061; }
.msg-content { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.msg-content > .blocks, .msg-content > .msg-text { flex: 1 1 420px; min-width: 0; }
.ephemeral-note { font-size: 12px; color: #616061; margin-top: 2px; }
.replies-link { border: 0; background: none; color: #1264a3; font-weight: 700; font-size: 13px; padding: 2px 0; cursor: pointer; }
.replies-link:hover { text-decoration: underline; }
.blocks > * { margin: 4px 0; }
.bk-header { font-size: 18px; font-weight: 900; }
.bk-divider { border: 0; border-top: 1px solid #ddd; }
.bk-section { display: flex; gap: 12px; }
.bk-section-main { flex: 1; min-width: 0; }
.bk-fields { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 16px; margin-top: 4px; }
.bk-context { display: flex; flex-wrap: wrap; gap: 8px; font-size: 12px; color: #616061; }
.bk-actions { display: flex; flex-wrap: wrap; gap: 8px; }
.bk-unsupported { font-size: 12px; color: #a0a0a0; font-style: italic; }
.bk-button { border: 1px solid #bbb; background: #fff; color: #1d1c1d; border-radius: 4px; padding: 4px 12px;
  font-weight: 700; font-size: 14px; cursor: pointer; }
.bk-button:hover { background: #f6f6f6; }
.bk-button.bk-primary { background: #007a5a; border-color: #007a5a; color: #fff; }
.bk-button.bk-danger { background: #fff; border-color: #bbb; color: #e01e5a; }
#confirm .bk-button.bk-danger { background: #e01e5a; border-color: #e01e5a; color: #fff; }
.bk-button:disabled { opacity: .55; cursor: default; }
.bk-button.busy { cursor: progress; }
code { font: 12px Monaco, Menlo, Consolas, monospace; color: #e01e5a; background: #f6f6f6; border: 1px solid #ddd;
  border-radius: 3px; padding: 1px 3px; }
pre { font: 12px/1.5 Monaco, Menlo, Consolas, monospace; background: #f8f8f8; border: 1px solid #ddd;
  border-radius: 4px; padding: 8px; margin: 4px 0; white-space: pre-wrap; overflow-wrap: anywhere; }
blockquote { margin: 4px 0; padding-left: 12px; border-left: 4px solid #ddd; }
.mention { background: #e8f5fa; color: #1264a3; border-radius: 3px; padding: 0 2px; }
.mention-me { background: #fef6de; color: #1d1c1d; }
a { color: #1264a3; }
.dead-link { text-decoration: underline dotted; cursor: help; }
.lag-slot { flex: 0 0 auto; }
.lag-chart { border: 1px solid #ddd; border-radius: 6px; padding: 6px 8px; background: #fff; }
.lag-caption { font-size: 12px; color: #616061; margin-bottom: 2px; }
.lag-plot { fill: #fafafa; stroke: #eee; }
.lag-axis { font-size: 9px; fill: #888; }
.lag-line { fill: none; stroke: #1264a3; stroke-width: 1.5; }
.lag-dot { fill: #1264a3; }
.lag-threshold { stroke: #e01e5a; stroke-dasharray: 4 3; }
.lag-threshold-label { font-size: 9px; fill: #e01e5a; }
.lag-unknown { stroke: #e01e5a; stroke-width: 2; }
#composer { margin: 0 20px 16px; border: 1px solid #bbb; border-radius: 8px; display: flex; align-items: center; }
#composer:focus-within { border-color: #1264a3; box-shadow: 0 0 0 1px #1264a3; }
#command { flex: 1; border: 0; padding: 10px 12px; font: 15px Monaco, Menlo, Consolas, monospace; outline: none;
  background: transparent; }
#send { margin: 4px; border: 0; background: #007a5a; color: #fff; border-radius: 4px; padding: 6px 14px; font-weight: 700; cursor: pointer; }
#send:disabled { background: #ccc; }
.hint { margin: -12px 20px 10px; font-size: 12px; color: #616061; }
#thread { width: 400px; display: flex; flex-direction: column; }
#thread[hidden] { display: none; }
#thread-head { display: flex; align-items: center; padding: 12px 16px; border-bottom: 1px solid #ddd; gap: 6px; }
#thread-head b { font-size: 18px; }
#thread-channel { color: #616061; font-size: 13px; flex: 1; }
#thread-close, #modal-x { border: 0; background: none; font-size: 20px; cursor: pointer; color: #616061; }
#thread-list { flex: 1; min-height: 0; overflow-y: auto; }
#thread-list .msg:first-child { border-bottom: 1px solid #eee; }
#thread-form { margin: 8px 16px 16px; display: flex; border: 1px solid #bbb; border-radius: 8px; }
#thread-input { flex: 1; border: 0; padding: 8px 10px; font: inherit; outline: none; background: transparent; }
dialog { border: 0; border-radius: 8px; padding: 0; box-shadow: 0 18px 48px rgba(0,0,0,.35); }
dialog::backdrop { background: rgba(0,0,0,.45); }
#confirm { width: 440px; }
#confirm form { padding: 20px 24px; }
#confirm h2, #modal h2 { margin: 0 0 10px; font-size: 20px; font-weight: 900; }
.dialog-buttons { display: flex; justify-content: flex-end; gap: 8px; margin-top: 18px; }
#modal { width: 520px; max-height: 85vh; }
#modal-head { display: flex; align-items: center; padding: 16px 20px 8px; }
#modal-head h2 { flex: 1; margin: 0; }
#modal-stack { font-size: 12px; color: #616061; margin-right: 8px; }
#modal-body { padding: 4px 20px 12px; max-height: 62vh; overflow-y: auto; }
#modal-foot { display: flex; justify-content: flex-end; gap: 8px; padding: 12px 20px; border-top: 1px solid #ddd; }
.bk-input { margin: 12px 0; }
.bk-input-label { display: block; font-weight: 700; margin-bottom: 6px; }
.bk-optional { font-weight: 400; color: #616061; }
.bk-text-input { width: 100%; font: inherit; padding: 8px 10px; border: 1px solid #bbb; border-radius: 4px; }
textarea.bk-text-input { min-height: 80px; }
.has-error .bk-text-input { border-color: #e01e5a; box-shadow: 0 0 0 1px #e01e5a; }
.bk-input-error { color: #e01e5a; font-size: 13px; margin-top: 4px; }
.bk-hint { color: #616061; font-size: 13px; margin-top: 4px; }
.toast { position: fixed; left: 50%; bottom: 24px; transform: translateX(-50%); background: #1d1c1d; color: #fff;
  border-radius: 6px; padding: 8px 14px; font-size: 14px; opacity: 0; pointer-events: none; transition: opacity .2s; max-width: 80vw; }
.toast.show { opacity: 1; }
.toast.error { background: #a0153e; }
`;

function body(): string {
  return `
<div id="app">
  <nav id="sidebar" aria-label="Channels">
    <div id="workspace"><div id="workspace-name">Cutover Console</div>
      <div class="console-badge">local console · no Slack involved</div></div>
    <div class="side-heading">Channels</div>
    <div id="channels"></div>
    <div class="side-heading" id="runs-heading" hidden>Active runs</div>
    <div id="runs"></div>
  </nav>
  <main id="channel">
    <header id="topbar">
      <span id="channel-name">#</span>
      <span id="channel-topic"></span>
      <span id="connection" class="connection down">connecting…</span>
      <label class="picker" for="user">Acting as <select id="user" aria-label="Acting as"></select></label>
    </header>
    <div id="messages" role="log" aria-live="polite"></div>
    <form id="composer" autocomplete="off">
      <input id="command" name="command" value="/cutover " spellcheck="false" aria-label="Command or message">
      <button id="send" type="submit">Send</button>
    </form>
    <div class="hint">Commands go to the bot exactly as Slack would send them (signed, to POST /slack/events).
      ↑/↓ recall earlier commands. Other text is posted as a message.</div>
  </main>
  <aside id="thread" hidden aria-label="Thread">
    <div id="thread-head"><b>Thread</b><span id="thread-channel"></span>
      <button id="thread-close" type="button" aria-label="Close thread">×</button></div>
    <div id="thread-list"></div>
    <form id="thread-form" autocomplete="off"><input id="thread-input" placeholder="Reply…" aria-label="Reply"></form>
  </aside>
</div>
<dialog id="confirm">
  <form method="dialog">
    <h2 id="confirm-title"></h2>
    <div id="confirm-text"></div>
    <div class="dialog-buttons">
      <button id="confirm-no" class="bk-button" value="cancel">Cancel</button>
      <button id="confirm-yes" class="bk-button bk-primary" value="confirm">Confirm</button>
    </div>
  </form>
</dialog>
<dialog id="modal" aria-labelledby="modal-title">
  <div id="modal-head"><h2 id="modal-title"></h2><span id="modal-stack"></span>
    <button id="modal-x" type="button" aria-label="Close">×</button></div>
  <div id="modal-body"></div>
  <div id="modal-foot">
    <button id="modal-close" type="button" class="bk-button">Cancel</button>
    <button id="modal-submit" type="button" class="bk-button bk-primary">Submit</button>
  </div>
</dialog>
<div id="toast" class="toast" role="status"></div>`;
}

/** The page's script (./page/main.ts and what it imports), bundled into one strict IIFE. */
export function pageScript(): string {
  return pageBundle('page');
}

/** The Content-Security-Policy that goes with a page rendered with `nonce`. */
export function pageCsp(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    "style-src 'unsafe-inline'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function renderConsolePage(nonce: string): string {
  // "</script" cannot occur in the script (it would end the element); the sources never contain it.
  const script = pageScript().replace(/<\/script/gi, '<\\/script');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cutover-bot · local console</title>
<link rel="icon" href="data:,">
<style>${CSS}</style>
</head>
<body>${body()}
<script nonce="${nonce}">${script}</script>
</body>
</html>
`;
}
