// The /cutover grammar, case by case: what parses to what, and what is refused with which message.
import { formatCommand } from '../../../commands/grammar/format';
import {
  GENERAL_USAGE,
  helpText,
  MAX_COMMAND_LENGTH,
  parseCommand,
  STRATEGY_NAMES,
  SUBCOMMANDS,
  USAGE,
  type CutoverCommand,
  type UsageError,
} from '../../../commands/grammar/parse';
import { decodeSlackEntities, tokenize } from '../../../commands/grammar/tokenize';
import { assertWellFormed } from './well-formed';

const UUID = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

function ok(text: string): CutoverCommand {
  const result = parseCommand(text);
  if (!result.ok) throw new Error(`refused ${JSON.stringify(text)}: ${result.error.message}`);
  assertWellFormed(result);
  return result.command;
}

function refused(text: string): UsageError {
  const result = parseCommand(text);
  if (result.ok) throw new Error(`accepted ${JSON.stringify(text)}: ${JSON.stringify(result.command)}`);
  assertWellFormed(result);
  return result.error;
}

describe('accepted commands', () => {
  const cases: [string, CutoverCommand][] = [
    // help, and the ways to ask for it
    ['', { kind: 'help' }],
    ['   \t  ', { kind: 'help' }],
    ['\u200B', { kind: 'help' }],
    ['help', { kind: 'help' }],
    ['HELP', { kind: 'help' }],
    ['?', { kind: 'help' }],
    ['--help', { kind: 'help' }],
    ['-h', { kind: 'help' }],
    ['start orders-db --help', { kind: 'help' }],
    ['schedule --HELP', { kind: 'help' }],
    ['status --help=me', { kind: 'help' }],
    ['abort 0a1b2c3d -- --help', { kind: 'abort', runId: '0a1b2c3d', reason: '--help' }],
    // targets, list
    ['targets', { kind: 'targets' }],
    ['  Targets  ', { kind: 'targets' }],
    ['list', { kind: 'list' }],
    ['LIST', { kind: 'list' }],
    // plan
    ['plan orders-db', { kind: 'plan', target: 'orders-db' }],
    ['Plan orders-db', { kind: 'plan', target: 'orders-db' }],
    ['plan a', { kind: 'plan', target: 'a' }],
    ['plan 0.db_1-x', { kind: 'plan', target: '0.db_1-x' }],
    [`plan ${'a'.repeat(63)}`, { kind: 'plan', target: 'a'.repeat(63) }],
    ['plan orders-db --strategy volume-swap', { kind: 'plan', target: 'orders-db', strategy: 'volume-swap' }],
    ['plan orders-db --strategy=in-place', { kind: 'plan', target: 'orders-db', strategy: 'in-place' }],
    [
      'plan --strategy rolling-replace orders-db',
      { kind: 'plan', target: 'orders-db', strategy: 'rolling-replace' },
    ],
    [
      'plan orders-db --STRATEGY Replica-Promotion',
      { kind: 'plan', target: 'orders-db', strategy: 'replica-promotion' },
    ],
    [
      'plan   orders-db \u00A0 --strategy\tvolume-swap  ',
      { kind: 'plan', target: 'orders-db', strategy: 'volume-swap' },
    ],
    ['plan "orders-db"', { kind: 'plan', target: 'orders-db' }],
    ['plan \u201Corders-db\u201D', { kind: 'plan', target: 'orders-db' }],
    ['plan \u2018orders-db\u2019', { kind: 'plan', target: 'orders-db' }],
    ['plan `orders-db`', { kind: 'plan', target: 'orders-db' }],
    [
      'plan orders-db \u2014strategy volume-swap',
      { kind: 'plan', target: 'orders-db', strategy: 'volume-swap' },
    ],
    [
      'plan orders-db \u2013strategy=volume-swap',
      { kind: 'plan', target: 'orders-db', strategy: 'volume-swap' },
    ],
    [
      'plan orders-db --strategy="volume-swap"',
      { kind: 'plan', target: 'orders-db', strategy: 'volume-swap' },
    ],
    [
      'plan orders-db --strategy=\u201Cvolume-swap\u201D',
      { kind: 'plan', target: 'orders-db', strategy: 'volume-swap' },
    ],
    ['plan -- orders-db', { kind: 'plan', target: 'orders-db' }],
    // start
    ['start orders-db', { kind: 'start', target: 'orders-db' }],
    [
      'START orders-db --strategy volume-swap',
      { kind: 'start', target: 'orders-db', strategy: 'volume-swap' },
    ],
    [
      'start orders-db --force --reason "lag alarm flaps, DBA ok"',
      { kind: 'start', target: 'orders-db', force: { reason: 'lag alarm flaps, DBA ok' } },
    ],
    [
      'start orders-db --force --reason lag alarm flaps',
      { kind: 'start', target: 'orders-db', force: { reason: 'lag alarm flaps' } },
    ],
    [
      'start orders-db --reason="flapping" --force',
      { kind: 'start', target: 'orders-db', force: { reason: 'flapping' } },
    ],
    [
      'start orders-db --force --reason=flapping again --strategy in-place',
      { kind: 'start', target: 'orders-db', strategy: 'in-place', force: { reason: 'flapping again' } },
    ],
    [
      'start orders-db \u2014force \u2014reason \u201Cops said so\u201D',
      { kind: 'start', target: 'orders-db', force: { reason: 'ops said so' } },
    ],
    [
      'start orders-db --force --reason -- --not-an-option, really',
      { kind: 'start', target: 'orders-db', force: { reason: '--not-an-option, really' } },
    ],
    [
      'start orders-db --force --reason "say \\"when\\" \\\\ now"',
      { kind: 'start', target: 'orders-db', force: { reason: 'say "when" \\ now' } },
    ],
    [
      'start orders-db --force --reason lag &lt; 5s &amp; stable',
      { kind: 'start', target: 'orders-db', force: { reason: 'lag < 5s & stable' } },
    ],
    [
      "start orders-db --force --reason can't wait, it's 12\" disk",
      { kind: 'start', target: 'orders-db', force: { reason: "can't wait, it's 12\" disk" } },
    ],
    // schedule
    ['schedule orders-db --next-window', { kind: 'schedule', target: 'orders-db', nextWindow: true }],
    [
      'schedule orders-db --at 2025-03-09T02:00:00Z',
      { kind: 'schedule', target: 'orders-db', at: '2025-03-09T02:00:00Z', nextWindow: false },
    ],
    [
      'schedule orders-db --at=2025-03-09T02:00Z --strategy volume-swap',
      {
        kind: 'schedule',
        target: 'orders-db',
        at: '2025-03-09T02:00:00Z',
        nextWindow: false,
        strategy: 'volume-swap',
      },
    ],
    [
      'schedule orders-db --at 2025-03-09t04:00:30.5+02:00',
      { kind: 'schedule', target: 'orders-db', at: '2025-03-09T04:00:30.500+02:00', nextWindow: false },
    ],
    [
      'schedule orders-db --at 2025-03-09T04:00:30,123456789-0530',
      { kind: 'schedule', target: 'orders-db', at: '2025-03-09T04:00:30.123-05:30', nextWindow: false },
    ],
    [
      'schedule orders-db --at 2024-02-29T23:59:59+14',
      { kind: 'schedule', target: 'orders-db', at: '2024-02-29T23:59:59+14:00', nextWindow: false },
    ],
    [
      'schedule orders-db --at 2025-03-09 02:00Z',
      { kind: 'schedule', target: 'orders-db', at: '2025-03-09T02:00:00Z', nextWindow: false },
    ],
    [
      'schedule orders-db --at "2025-03-09 02:00+01:00"',
      { kind: 'schedule', target: 'orders-db', at: '2025-03-09T02:00:00+01:00', nextWindow: false },
    ],
    [
      'schedule --strategy in-place --next-window orders-db',
      { kind: 'schedule', target: 'orders-db', nextWindow: true, strategy: 'in-place' },
    ],
    // status
    ['status', { kind: 'status' }],
    ['status 0a1b2c3d', { kind: 'status', runId: '0a1b2c3d' }],
    ['status 0A1B2C3D', { kind: 'status', runId: '0a1b2c3d' }],
    ['status 0a1b2c3d-4', { kind: 'status', runId: '0a1b2c3d-4' }],
    ['status 0a1b2c3d-4e5f', { kind: 'status', runId: '0a1b2c3d-4e5f' }],
    [`status ${UUID}`, { kind: 'status', runId: UUID }],
    [`status ${UUID.toUpperCase()}`, { kind: 'status', runId: UUID }],
    ['status `0a1b2c3d`', { kind: 'status', runId: '0a1b2c3d' }],
    // abort
    ['abort 0a1b2c3d', { kind: 'abort', runId: '0a1b2c3d' }],
    [`abort ${UUID} lag too high`, { kind: 'abort', runId: UUID, reason: 'lag too high' }],
    ['abort 0a1b2c3d   lag   too   high  ', { kind: 'abort', runId: '0a1b2c3d', reason: 'lag too high' }],
    ['abort 0a1b2c3d "lag  too high"', { kind: 'abort', runId: '0a1b2c3d', reason: 'lag  too high' }],
    ['abort 0a1b2c3d --reason lag too high', { kind: 'abort', runId: '0a1b2c3d', reason: 'lag too high' }],
    ['abort 0a1b2c3d --reason="lag too high"', { kind: 'abort', runId: '0a1b2c3d', reason: 'lag too high' }],
    [
      'abort 0a1b2c3d -- --force is not an option here',
      {
        kind: 'abort',
        runId: '0a1b2c3d',
        reason: '--force is not an option here',
      },
    ],
    ['abort 0a1b2c3d "--force"', { kind: 'abort', runId: '0a1b2c3d', reason: '--force' }],
    ['abort 0a1b2c3d ""', { kind: 'abort', runId: '0a1b2c3d' }],
    [
      'abort 0a1b2c3d don\u2019t promote, 5% loss -x',
      {
        kind: 'abort',
        runId: '0a1b2c3d',
        reason: 'don\u2019t promote, 5% loss -x',
      },
    ],
    ['abort 0a1b2c3d <@U0AAAAAAA> asked', { kind: 'abort', runId: '0a1b2c3d', reason: '<@U0AAAAAAA> asked' }],
  ];

  it.each(cases)('%j', (text, command) => {
    expect(ok(text)).toEqual(command);
    // The canonical text of the command reads back as the same command.
    expect(ok(formatCommand(command))).toEqual(command);
  });
});

describe('refused commands', () => {
  // [text, message (exact, or a RegExp), offending, usage]
  const cases: [string, string | RegExp, string | undefined, string][] = [
    // subcommands
    ['strat orders-db', 'unknown subcommand "strat"; did you mean start?', 'strat', GENERAL_USAGE],
    ['Stauts', 'unknown subcommand "Stauts"; did you mean status or start?', 'Stauts', GENERAL_USAGE],
    ['lsit', 'unknown subcommand "lsit"; did you mean list?', 'lsit', GENERAL_USAGE],
    ['sched orders-db', 'unknown subcommand "sched"; did you mean schedule?', 'sched', GENERAL_USAGE],
    ['st', 'unknown subcommand "st"; did you mean start or status?', 'st', GENERAL_USAGE],
    ['abrot 0a1b2c3d', 'unknown subcommand "abrot"; did you mean abort?', 'abrot', GENERAL_USAGE],
    ['ls', 'unknown subcommand "ls"; did you mean list?', 'ls', GENERAL_USAGE],
    ['cancel 0a1b2c3d', 'unknown subcommand "cancel"; did you mean abort?', 'cancel', GENERAL_USAGE],
    ['promote orders-db', 'unknown subcommand "promote"', 'promote', GENERAL_USAGE],
    ['orders-db', 'unknown subcommand "orders-db"', 'orders-db', GENERAL_USAGE],
    ['--strategy in-place', 'start with a subcommand, not --strategy', '--strategy', GENERAL_USAGE],
    ['x'.repeat(500), /^unknown subcommand "x{40}…"$/, 'x'.repeat(500), GENERAL_USAGE],
    // quoting
    ['plan "orders-db', 'missing closing quote', '"orders-db', USAGE.plan],
    [
      'start orders-db --force --reason \u201Cunfinished',
      'missing closing quote',
      '\u201Cunfinished',
      USAGE.start,
    ],
    ['pl "an', 'missing closing quote', '"an', GENERAL_USAGE],
    // no-argument subcommands
    ['help start', 'unexpected word "start"', 'start', USAGE.help],
    ['targets orders-db', 'unexpected word "orders-db"', 'orders-db', USAGE.targets],
    ['list --all', 'unknown option --all (list takes no options)', '--all', USAGE.list],
    ['list -a', 'unexpected word "-a" (options start with --)', '-a', USAGE.list],
    [
      'targets --strategy x',
      'targets has no --strategy option (--strategy goes with plan, start or schedule)',
      '--strategy',
      USAGE.targets,
    ],
    // plan
    ['plan', 'plan needs a target name', undefined, USAGE.plan],
    ['plan --strategy in-place', 'plan needs a target name', undefined, USAGE.plan],
    [
      'plan Orders-DB',
      '"Orders-DB" is not a valid target name; did you mean orders-db?',
      'Orders-DB',
      USAGE.plan,
    ],
    ['plan -orders', /^"-orders" is not a valid target name \(a-z, 0-9/, '-orders', USAGE.plan],
    ['plan orders/db', /^"orders\/db" is not a valid target name/, 'orders/db', USAGE.plan],
    [`plan ${'a'.repeat(64)}`, /is not a valid target name/, 'a'.repeat(64), USAGE.plan],
    ['plan ""', '"" is not a valid target name (a-z, 0-9, . _ -, up to 63 characters)', '', USAGE.plan],
    ['plan orders-db replica', 'unexpected word "replica"', 'replica', USAGE.plan],
    [
      'plan orders-db --strategey volume-swap',
      'unknown option --strategey; did you mean --strategy?',
      '--strategey',
      USAGE.plan,
    ],
    ['plan orders-db --str=in-place', 'unknown option --str; did you mean --strategy?', '--str', USAGE.plan],
    ['plan orders-db --force', 'plan has no --force option (--force goes with start)', '--force', USAGE.plan],
    [
      'plan orders-db --at 2025-03-09T02:00Z',
      'plan has no --at option (--at goes with schedule)',
      '--at',
      USAGE.plan,
    ],
    [
      'plan orders-db --strategy',
      /^--strategy needs a value: replica-promotion, volume-swap/,
      '--strategy',
      USAGE.plan,
    ],
    ['plan orders-db --strategy=', /^--strategy needs a value/, '--strategy', USAGE.plan],
    ['plan orders-db --strategy --force', /^--strategy needs a value/, '--strategy', USAGE.plan],
    [
      'plan orders-db --strategy volum-swap',
      'unknown strategy "volum-swap"; did you mean volume-swap? (valid: replica-promotion, volume-swap, rolling-replace, in-place)',
      'volum-swap',
      USAGE.plan,
    ],
    [
      'plan orders-db --strategy blue-green',
      'unknown strategy "blue-green" (valid: replica-promotion, volume-swap, rolling-replace, in-place)',
      'blue-green',
      USAGE.plan,
    ],
    [
      'plan orders-db --strategy in-place --strategy=in-place',
      '--strategy given twice',
      '--strategy',
      USAGE.plan,
    ],
    ['plan orders-db -- --strategy in-place', 'unexpected word "--strategy"', '--strategy', USAGE.plan],
    // start
    ['start', 'start needs a target name', undefined, USAGE.start],
    ['start orders-db --force', '--force needs a reason: --reason "why"', '--force', USAGE.start],
    [
      'start orders-db --reason "flapping"',
      '--reason goes with --force (the anti-flapping override)',
      '--reason',
      USAGE.start,
    ],
    ['start orders-db --force --reason', '--reason needs some text', '--reason', USAGE.start],
    ['start orders-db --force --reason "  "', '--reason needs some text', '--reason', USAGE.start],
    [
      'start orders-db --force --reason --strategy in-place',
      '--reason needs some text',
      '--reason',
      USAGE.start,
    ],
    ['start orders-db --force=yes --reason x', '--force takes no value', '--force=yes', USAGE.start],
    ['start orders-db --force --force --reason x', '--force given twice', '--force', USAGE.start],
    ['start orders-db --force --reason a --reason b', '--reason given twice', '--reason', USAGE.start],
    ['start --force --reason ops said so orders-db', 'start needs a target name', undefined, USAGE.start],
    ['start orders-db other-db', 'unexpected word "other-db"', 'other-db', USAGE.start],
    [
      'start orders-db --forse --reason x',
      'unknown option --forse; did you mean --force?',
      '--forse',
      USAGE.start,
    ],
    [
      'start orders-db --next-window',
      'start has no --next-window option (--next-window goes with schedule)',
      '--next-window',
      USAGE.start,
    ],
    // schedule
    ['schedule orders-db', 'schedule needs --at <date-time> or --next-window', undefined, USAGE.schedule],
    ['schedule --next-window', 'schedule needs a target name', undefined, USAGE.schedule],
    [
      'schedule orders-db --at 2025-03-09T02:00Z --next-window',
      'use either --at or --next-window, not both',
      '--next-window',
      USAGE.schedule,
    ],
    [
      'schedule orders-db --next-window --at 2025-03-09T02:00Z',
      'use either --at or --next-window, not both',
      '--at',
      USAGE.schedule,
    ],
    [
      'schedule orders-db --next-window --next-window',
      '--next-window given twice',
      '--next-window',
      USAGE.schedule,
    ],
    [
      'schedule orders-db --next-window=true',
      '--next-window takes no value',
      '--next-window=true',
      USAGE.schedule,
    ],
    [
      'schedule orders-db --nextwindow',
      'unknown option --nextwindow; did you mean --next-window?',
      '--nextwindow',
      USAGE.schedule,
    ],
    [
      'schedule orders-db --next_window',
      'unknown option --next_window; did you mean --next-window?',
      '--next_window',
      USAGE.schedule,
    ],
    ['schedule orders-db --at', '--at needs a date-time, e.g. 2025-03-09T02:00Z', '--at', USAGE.schedule],
    [
      'schedule orders-db --at 2025-03-09T02:00',
      '2025-03-09T02:00 is a local time; add Z (UTC) or an offset like +02:00',
      '2025-03-09T02:00',
      USAGE.schedule,
    ],
    [
      'schedule orders-db --at 2025-03-09 02:00',
      '2025-03-09T02:00 is a local time; add Z (UTC) or an offset like +02:00',
      '2025-03-09T02:00',
      USAGE.schedule,
    ],
    [
      'schedule orders-db --at 2025-03-09',
      '2025-03-09 has no time; e.g. 2025-03-09T02:00Z',
      '2025-03-09',
      USAGE.schedule,
    ],
    [
      'schedule orders-db --at 2025-02-29T02:00Z',
      'no such date: 2025-02-29T02:00Z',
      '2025-02-29T02:00Z',
      USAGE.schedule,
    ],
    [
      'schedule orders-db --at 2025-13-01T02:00Z',
      'no such date: 2025-13-01T02:00Z',
      '2025-13-01T02:00Z',
      USAGE.schedule,
    ],
    [
      'schedule orders-db --at 2025-03-09T24:00Z',
      'no such time: 2025-03-09T24:00Z',
      '2025-03-09T24:00Z',
      USAGE.schedule,
    ],
    [
      'schedule orders-db --at 2025-03-09T02:60Z',
      'no such time: 2025-03-09T02:60Z',
      '2025-03-09T02:60Z',
      USAGE.schedule,
    ],
    [
      'schedule orders-db --at 2025-03-09T02:00+15:00',
      'no such UTC offset: +15:00',
      '2025-03-09T02:00+15:00',
      USAGE.schedule,
    ],
    [
      'schedule orders-db --at tomorrow',
      'not an ISO-8601 date-time: "tomorrow" (e.g. 2025-03-09T02:00Z)',
      'tomorrow',
      USAGE.schedule,
    ],
    ['schedule orders-db --at 1741485600', /^not an ISO-8601 date-time/, '1741485600', USAGE.schedule],
    [
      'schedule orders-db --at 20250309T020000Z',
      /^not an ISO-8601 date-time/,
      '20250309T020000Z',
      USAGE.schedule,
    ],
    ['schedule orders-db --at --next-window', /^--at needs a date-time/, '--at', USAGE.schedule],
    [
      'schedule orders-db --next-window --at=2025-03-09T02:00Z',
      'use either --at or --next-window, not both',
      '--at',
      USAGE.schedule,
    ],
    [
      'schedule orders-db --at 2025-03-09T02:00Z --at 2025-03-10T02:00Z',
      '--at given twice',
      '--at',
      USAGE.schedule,
    ],
    // status
    [
      'status abc',
      /^"abc" is not a run id \(a full id or its first 8\+ hex characters; see \/cutover list\)$/,
      'abc',
      USAGE.status,
    ],
    ['status 0a1b2c3', /is not a run id/, '0a1b2c3', USAGE.status],
    ['status 0a1b2c3g', /is not a run id/, '0a1b2c3g', USAGE.status],
    ['status 0a1b2c3d-', /is not a run id/, '0a1b2c3d-', USAGE.status],
    ['status 0a1b2c3d4', /is not a run id/, '0a1b2c3d4', USAGE.status],
    ['status 0a1b2c3d4e5f', /is not a run id/, '0a1b2c3d4e5f', USAGE.status],
    [`status ${UUID}0`, /is not a run id/, `${UUID}0`, USAGE.status],
    ['status orders-db', /is not a run id/, 'orders-db', USAGE.status],
    ['status 0a1b2c3d 1b2c3d4e', 'unexpected word "1b2c3d4e"', '1b2c3d4e', USAGE.status],
    ['status --run 0a1b2c3d', 'unknown option --run (status takes no options)', '--run', USAGE.status],
    // abort
    ['abort', 'abort needs a run id (see /cutover list)', undefined, USAGE.abort],
    ['abort lag too high', /^"lag" is not a run id/, 'lag', USAGE.abort],
    ['abort --reason lag', 'abort needs a run id (see /cutover list)', undefined, USAGE.abort],
    [
      'abort 0a1b2c3d lag --force',
      'abort has no --force option (--force goes with start)',
      '--force',
      USAGE.abort,
    ],
    [
      'abort 0a1b2c3d lag --now',
      'unknown option --now (abort takes --reason)'.slice(0, 0) || /^unknown option --now/,
      '--now',
      USAGE.abort,
    ],
    [
      'abort 0a1b2c3d lag --reason high',
      'give the reason once: after the run id or after --reason',
      '--reason',
      USAGE.abort,
    ],
    ['abort 0a1b2c3d --reason ""', '--reason needs some text', '--reason', USAGE.abort],
  ];

  it.each(cases)('%j', (text, message, offending, usage) => {
    const error = refused(text);
    if (typeof message === 'string') expect(error.message).toBe(message);
    else expect(error.message).toMatch(message);
    expect(error.offending).toBe(offending);
    expect(error.usage).toBe(usage);
  });
});

describe('usage and help', () => {
  it('has one usage line per subcommand', () => {
    expect(Object.keys(USAGE).sort()).toEqual([...SUBCOMMANDS].sort());
    for (const kind of SUBCOMMANDS) {
      expect(USAGE[kind]).toMatch(new RegExp(`^/cutover ${kind}( |$)`));
      expect(USAGE[kind]).not.toContain('\n');
    }
  });

  it('formats the whole grammar as one Slack code block', () => {
    const help = helpText();
    const blocks = help.split('```');
    expect(blocks).toHaveLength(3);
    for (const kind of SUBCOMMANDS) expect(decodeSlackEntities(blocks[1]!)).toContain(USAGE[kind]);
    for (const name of STRATEGY_NAMES) expect(blocks[1]).toContain(name);
    // Slack's control characters escaped, as everywhere in mrkdwn (code blocks included).
    expect(blocks[1]).not.toMatch(/[<>`]|&(?!lt;|gt;|amp;)/);
    expect(blocks[1]).toContain('/cutover plan &lt;target&gt; [--strategy S]');
  });

  it('gives the usage of the subcommand it could read, whatever else went wrong', () => {
    for (const kind of SUBCOMMANDS) {
      const error = refused(`${kind.toUpperCase()} --no-such-option`);
      expect(error.usage).toBe(USAGE[kind]);
      expect(error.offending).toBe('--no-such-option');
    }
  });
});

describe('inputs from outside TypeScript', () => {
  it.each<unknown>([undefined, null, 42, {}])('treats %p as empty text', (value) => {
    expect(parseCommand(value as string)).toEqual({ ok: true, command: { kind: 'help' } });
  });
});

describe('long input', () => {
  it('reads a command of the longest length taken', () => {
    const head = `abort ${UUID} `;
    const reason = 'x'.repeat(MAX_COMMAND_LENGTH - head.length);
    expect(ok(head + reason)).toEqual({ kind: 'abort', runId: UUID, reason });
  });

  it.each([MAX_COMMAND_LENGTH + 1, 40_000])('refuses %i characters before reading them, saying why', (n) => {
    const error = refused(`start ${'a'.repeat(n - 6)}`);
    expect(error.message).toBe(
      `the command is ${n} characters long; /cutover takes at most ${MAX_COMMAND_LENGTH}`,
    );
    expect(error.usage).toBe(GENERAL_USAGE);
  });

  // Inputs that made the earlier tokenizer re-read what it had read (quadratic); the tokens must
  // not change with the rewrite.
  it.each([
    ['apostrophes that never close', "'a ".repeat(600), Array<string>(600).fill("'a")],
    ['an option value full of =', `--a=${'x='.repeat(900)}`, [`--a=${'x='.repeat(900)}`]],
    ['one long word', 'w'.repeat(1999), ['w'.repeat(1999)]],
  ])('%s', (_name, text, words) => {
    const result = tokenize(text);
    expect(result.ok && result.tokens.map((token) => token.text)).toEqual(words);
  });

  it('opens a quote only right after --option=, however long the name', () => {
    const result = tokenize(`--${'a'.repeat(1500)}="two words" x="y z"`);
    expect(result.ok && result.tokens.map((token) => token.text)).toEqual([
      `--${'a'.repeat(1500)}=two words`,
      'x="y',
      'z"',
    ]);
  });
});
