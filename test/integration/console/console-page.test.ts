// The console page's own code, without a browser: the mrkdwn converter runs in a `vm` context exactly as
// the page ships it, and the page's whole script must at least parse. (A unit test; it lives here
// because the console's tests are kept together.)
import vm from 'node:vm';
import { buildConsoleDirectory, LOCAL_USER_ID } from '../../../src/console/console-directory';
import { channelMessages } from '../../../src/console/console-state';
import { pageScript, renderConsolePage } from '../../../src/console/page-html';
import { MRKDWN_JS } from '../../../src/console/page-mrkdwn';
import type { ConsoleMessage } from '../../../src/console/slack-workspace';
import { helpText } from '../../../commands/grammar/usage';
import { testTarget } from '../../support/runtimes/harness';

interface Converter {
  mrkdwnToHtml(text: string, dir?: unknown): string;
  plainNodes(text: string, emoji?: boolean): { t: string; v: string }[];
}

const converter = vm.runInNewContext(
  `${MRKDWN_JS}\n;({ mrkdwnToHtml: mrkdwnToHtml, plainNodes: plainNodes })`,
  {},
) as Converter;

const dir = {
  users: { U0APPROVER: 'approver-1', U0LOCALYOU: 'you' },
  groups: { S0DBAONCALL: 'dbaoncall' },
  channels: { C0TEST0001: 'orders-db-cutovers' },
};
const html = (text: string): string => converter.mrkdwnToHtml(text, dir);

describe('mrkdwn → HTML', () => {
  it('formats bold, italic, strike and code', () => {
    expect(html('*State*\n_italic_ ~gone~ `run-1234`')).toBe(
      '<b>State</b><br><i>italic</i> <s>gone</s> <code>run-1234</code>',
    );
    expect(html('*Step 4:* Approve the switch')).toBe('<b>Step 4:</b> Approve the switch');
  });

  it('leaves markers inside words and lone markers alone', () => {
    expect(html('snake_case_name and 2 * 3 * 4')).toBe('snake_case_name and 2 * 3 * 4');
    expect(html('a*b*c')).toBe('a*b*c');
  });

  it('nests formatting around mentions', () => {
    expect(html('*approved by <@U0APPROVER>*')).toBe(
      '<b>approved by <span class="mention">@approver-1</span></b>',
    );
  });

  it('resolves users, groups, channels, dates and links', () => {
    expect(html('<@U0APPROVER> <@U0UNKNOWN> <!subteam^S0DBAONCALL> <!subteam^S0OTHER|@ops>')).toBe(
      '<span class="mention">@approver-1</span> <span class="mention">@U0UNKNOWN</span> ' +
        '<span class="mention">@dbaoncall</span> <span class="mention">@ops</span>',
    );
    expect(html('<#C0TEST0001> at <!date^1700000000^{date_short_pretty} {time}|2023-11-14 22:13 UTC>')).toBe(
      '<span class="mention">#orders-db-cutovers</span> at 2023-11-14 22:13 UTC',
    );
    expect(html('<https://example.com/a?b=1&amp;c=2|the docs>')).toBe(
      '<a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">the docs</a>',
    );
  });

  it('never lets markup through: entities decode to text, which is escaped again', () => {
    expect(html('&lt;script&gt;alert(1)&lt;/script&gt; &amp;')).toBe(
      '&lt;script&gt;alert(1)&lt;/script&gt; &amp;',
    );
    expect(html('<javascript:alert(1)|click>')).toBe('<a class="dead-link">click</a>');
    expect(html('"quoted" \'single\'')).toBe('&quot;quoted&quot; &#39;single&#39;');
    expect(html('<@U0"><img src=x>')).not.toContain('<img');
  });

  it('shows code blocks verbatim, entities decoded', () => {
    expect(html(helpText())).toMatch(
      /^<b>\/cutover<\/b> — database cutovers<pre>\/cutover help\n {4}this help\n[\s\S]*\/cutover plan &lt;target&gt; \[--strategy S\]/,
    );
    expect(html('before\n```\n*not bold* <@U0APPROVER>\n```\nafter')).toBe(
      'before<pre>*not bold* @approver-1</pre>after',
    );
  });

  it('quotes lines starting with >', () => {
    expect(html('*Switch* stopped:\n> lag grew\n> to 64 MB\nthen')).toBe(
      '<b>Switch</b> stopped:<blockquote>lag grew<br>to 64 MB</blockquote>then',
    );
    expect(html('&gt; not a quote')).toBe('&gt; not a quote');
  });

  it('turns the shortcodes the bot uses into emoji and keeps the others', () => {
    expect(html(':white_check_mark: done :unknown_thing: 02:14:30')).toBe(
      '<span class="emoji" title=":white_check_mark:">✅</span> done :unknown_thing: 02:14:30',
    );
    expect(converter.plainNodes(':raised_hand: Approval needed', true).map((n) => n.v)).toEqual([
      '✋',
      ' Approval needed',
    ]);
    expect(converter.plainNodes(':raised_hand: x', false).map((n) => n.v)).toEqual([':raised_hand: x']);
  });
});

describe('the page', () => {
  it('is one self-contained document whose script parses', () => {
    const page = renderConsolePage('NONCE123');
    expect(page).toContain('<script nonce="NONCE123">');
    expect(page).toContain('id="composer"');
    expect(page).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet|https?:\/\/(?!www\.w3\.org)/);
    expect(() => new vm.Script(pageScript())).not.toThrow();
    expect(pageScript()).not.toMatch(/\.innerHTML\s*=|insertAdjacentHTML|document\.write/);
  });
});

describe('the directory', () => {
  it('has you, numbered approvers, two members per group, one channel per target channel', () => {
    const d = buildConsoleDirectory([
      { ...testTarget('orders-db'), approvers: ['U0APPROVER', 'S0DBAONCALL'] },
      { ...testTarget('billing-db'), approvers: ['U0SECOND', 'U0APPROVER'] },
      { ...testTarget('search-db'), channel: 'C0SEARCH01', approvers: [] },
    ]);
    expect(d.users.map((u) => [u.id, u.name, u.role])).toEqual([
      [LOCAL_USER_ID, 'you', 'requester'],
      ['U0APPROVER', 'approver-1', 'approver'],
      ['U0SECOND', 'approver-2', 'approver'],
      ['U0DBAONCALLM1', 'dbaoncall-1', 'group-member'],
      ['U0DBAONCALLM2', 'dbaoncall-2', 'group-member'],
    ]);
    expect(d.users.find((u) => u.id === 'U0DBAONCALLM1')?.approves).toEqual(['orders-db']);
    expect(d.users.find((u) => u.id === 'U0APPROVER')?.approves).toEqual(['orders-db', 'billing-db']);
    expect(d.groups).toEqual([
      { id: 'S0DBAONCALL', handle: 'dbaoncall', members: ['U0DBAONCALLM1', 'U0DBAONCALLM2'] },
    ]);
    expect(d.channels).toEqual([
      { id: 'C0TEST0001', name: 'orders-db-cutovers', targets: ['orders-db', 'billing-db'] },
      { id: 'C0SEARCH01', name: 'search-db-cutovers', targets: ['search-db'] },
    ]);
  });

  it('has a channel even without targets', () => {
    expect(buildConsoleDirectory([]).channels).toHaveLength(1);
  });
});

describe('what a person sees of a channel', () => {
  const msg = (ts: string, extra: Partial<ConsoleMessage> = {}): ConsoleMessage => ({
    channel: 'C1',
    ts,
    text: ts,
    bot: true,
    history: 0,
    ...extra,
  });

  it('threads replies under their parent and shows only their own ephemerals', () => {
    const seen = channelMessages(
      [
        msg('1.0'),
        msg('2.0', { ephemeralTo: 'U1' }),
        msg('3.0', { ephemeralTo: 'U2' }),
        msg('4.0', { thread_ts: '1.0' }),
        msg('5.0', { thread_ts: '1.0', ephemeralTo: 'U2' }),
        msg('6.0', { history: 2 }),
      ],
      'U1',
    );
    expect(seen.map((m) => [m.ts, m.ephemeral, m.replyCount, m.edited])).toEqual([
      ['1.0', false, 1, false],
      ['2.0', true, 0, false],
      ['6.0', false, 0, true],
    ]);
    expect(seen[0]?.replies.map((r) => r.ts)).toEqual(['4.0']);
  });
});
