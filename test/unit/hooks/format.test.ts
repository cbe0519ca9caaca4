import { formatDuration } from '../../../src/hooks/format';
import { formatHookResult } from '../../../src/hooks/format';
import type { HookResult } from '../../../src/ports/hooks';

const result = (overrides: Partial<HookResult> = {}): HookResult => ({
  exitCode: 0,
  signal: null,
  timedOut: false,
  durationMs: 1234,
  output: 'repointed pgbouncer\n',
  ...overrides,
});

describe('formatHookResult', () => {
  it('says what ran and how it ended, with the output in a code block', () => {
    expect(formatHookResult(result(), ['./repoint.sh', '10.0.0.5'])).toBe(
      '`./repoint.sh 10.0.0.5` exited 0 in 1.2 s\n```\nrepointed pgbouncer\n```',
    );
  });

  it.each<[Partial<HookResult>, string]>([
    [{ exitCode: 3, durationMs: 80 }, 'exited 3 in 80 ms'],
    [{ exitCode: null, signal: 'SIGKILL', durationMs: 61_000 }, 'was killed by SIGKILL after 1 min 1 s'],
    [
      { exitCode: null, signal: 'SIGTERM', timedOut: true, durationMs: 300_004 },
      'timed out after 5 min 0 s and was stopped (SIGTERM)',
    ],
    [
      { exitCode: 143, timedOut: true, durationMs: 500 },
      'timed out after 500 ms and exited 143 when stopped',
    ],
    [{ exitCode: null, output: 'command not found: ./x.sh' }, 'could not be started'],
  ])('describes %j', (overrides, ending) => {
    expect(formatHookResult(result(overrides), ['./x.sh']).split('\n')[0]).toBe(`\`./x.sh\` ${ending}`);
  });

  it('redacts secrets and URL passwords in the displayed command and the output', () => {
    const text = formatHookResult(
      result({ output: 'using hunter2 and postgres://a:b@db\n' }),
      ['./x.sh', '--password=hunter2', 'postgres://app:pw@db/orders'],
      { secrets: ['hunter2'] },
    );
    expect(text).toBe(
      '`./x.sh --password=[redacted] postgres://[redacted]@db/orders` exited 0 in 1.2 s\n' +
        '```\nusing [redacted] and postgres://[redacted]@db\n```',
    );
  });

  it('quotes arguments with spaces, escapes mrkdwn and keeps code blocks closed', () => {
    const text = formatHookResult(result({ output: 'a <b> & ```c```\n' }), [
      'sh',
      '-c',
      "echo 'hi' `id` > x",
    ]);
    expect(text).toBe(
      "`sh -c 'echo '\\''hi'\\'' ˋidˋ &gt; x'` exited 0 in 1.2 s\n```\na &lt;b&gt; &amp; ``\u200b`c``\u200b`\n```",
    );
  });

  it('says when there was no output and cuts long output in the middle', () => {
    expect(formatHookResult(result({ output: '\n' }), ['./x.sh'])).toBe(
      '`./x.sh` exited 0 in 1.2 s\n_no output_',
    );
    const lines = Array.from({ length: 1000 }, (_, i) => `line ${i}`).join('\n');
    const text = formatHookResult(result({ output: lines }), ['./x.sh'], { maxOutputChars: 200 });
    expect(text).toContain('```\nline 0\nline 1\n');
    expect(text).toMatch(/\n… \d+ characters omitted …\n/);
    expect(text).toContain('line 999\n```');
    expect(text.length).toBeLessThan(300);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0 ms'],
    [999, '999 ms'],
    [1000, '1.0 s'],
    [59_949, '59.9 s'],
    [90_000, '1 min 30 s'],
    [7_260_000, '2 h 1 min'],
  ])('%d ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
