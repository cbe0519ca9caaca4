// The hook runner against real processes: no shell, minimal environment, process-group timeouts,
// redacted and bounded output, start failures reported rather than thrown.
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { UnknownPlaceholderError } from '../../../src/hooks/placeholders';
import { ProcessHookRunner } from '../../../src/adapters/hooks/process-hook-runner';
import type { HookCommand } from '../../../src/ports/hooks';
import { waitFor } from '../../support/wait-for';

const hook = (command: string[], extra: Partial<HookCommand> = {}): HookCommand => ({
  command,
  timeoutMs: 10_000,
  ...extra,
});

/** Alive and not a zombie (an orphan whose reaper has not got to it yet is as good as dead). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The first number printed on a line of its own (the `$!` a script echoes). */
function printedPid(output: string): number {
  const match = /^(\d+)$/m.exec(output);
  if (match === null) throw new Error(`no pid in output ${JSON.stringify(output)}`);
  return Number(match[1]);
}

describe('ProcessHookRunner', () => {
  const runner = new ProcessHookRunner({ killGraceMs: 1000, stdioGraceMs: 300 });
  const strays: number[] = [];
  let dir: string;

  beforeAll(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'cutover-hooks-')));
  });

  afterAll(() => {
    for (const pid of strays) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
    delete process.env.CUTOVER_TEST_SECRET;
  });

  it('runs /bin/echo with placeholders filled and reports exit 0', async () => {
    const result = await runner.run(hook(['/bin/echo', 'to', '{standby.host}']), {
      'standby.host': '10.0.0.5',
    });
    expect(result).toEqual({
      exitCode: 0,
      signal: null,
      timedOut: false,
      durationMs: expect.any(Number),
      output: 'to 10.0.0.5\n',
    });
  });

  it('passes each substituted value as one argument, never through a shell', async () => {
    const result = await runner.run(hook(['sh', '-c', 'printf "[%s]\\n" "$@"', 'sh', '{a}', '{b}']), {
      a: 'two words; echo injected',
      b: '$(id) `id` *',
    });
    expect(result.output).toBe('[two words; echo injected]\n[$(id) `id` *]\n');
  });

  it('reports non-zero exit codes and captures stderr, interleaved with stdout as it arrives', async () => {
    const result = await runner.run(
      hook(['sh', '-c', 'echo one; sleep 0.1; echo two >&2; sleep 0.1; echo three; exit 7']),
      {},
    );
    expect(result.exitCode).toBe(7);
    expect(result.signal).toBeNull();
    expect(result.output).toBe('one\ntwo\nthree\n');
  });

  it('gives the child PATH, HOME, LANG and its own env, not the rest of the bot’s environment', async () => {
    process.env.CUTOVER_TEST_SECRET = 'do-not-leak-this';
    const result = await runner.run(
      hook(['sh', '-c', 'echo "[$CUTOVER_TEST_SECRET]"; echo "[$MODE]"; env | cut -d= -f1 | sort'], {
        env: { MODE: 'fast' },
      }),
      {},
    );
    expect(result.exitCode).toBe(0);
    const [secretLine, modeLine, ...names] = result.output.trim().split('\n');
    expect(secretLine).toBe('[]');
    expect(modeLine).toBe('[[redacted]]'); // hook env values are redacted: the runner cannot tell which are secret
    const expected = ['MODE', 'PWD', ...['PATH', 'HOME', 'LANG'].filter((n) => process.env[n] !== undefined)];
    // sh itself may add a few of its own (PWD, SHLVL, OLDPWD, _); nothing else from the parent.
    expect(names.filter((n) => !['SHLVL', 'OLDPWD', '_'].includes(n)).sort()).toEqual(expected.sort());
  });

  it('runs in cwd when given', async () => {
    const result = await runner.run(hook(['pwd'], { cwd: dir }), {});
    expect(result.output).toBe(`${dir}\n`);
  });

  it('redacts secrets the script prints: hook env values and the runner’s extra secrets', async () => {
    const withSecrets = new ProcessHookRunner({ secrets: () => ['extra-secret-value'] });
    const result = await withSecrets.run(
      hook(
        [
          'sh',
          '-c',
          // The token is written in two pieces with a pause between: it reaches the runner in two chunks.
          'printf "token=%s" "$(echo "$TOKEN" | cut -c1-4)"; sleep 0.2; echo "$TOKEN" | cut -c5-; ' +
            'echo extra-secret-value; echo "url postgres://app:hunter2@db/orders"',
        ],
        { env: { TOKEN: 'tok-123456789' } },
      ),
      {},
    );
    expect(result.output).toBe('token=[redacted]\n[redacted]\nurl postgres://[redacted]@db/orders\n');
  });

  it('keeps the start and the end of long output', async () => {
    const small = new ProcessHookRunner({ maxOutputBytes: 1024 });
    const result = await small.run(
      hook(['sh', '-c', 'i=0; while [ $i -lt 5000 ]; do echo "line $i"; i=$((i+1)); done']),
      {},
    );
    expect(result.exitCode).toBe(0);
    expect(result.output.startsWith('line 0\nline 1\n')).toBe(true);
    expect(result.output.endsWith('line 4998\nline 4999\n')).toBe(true);
    expect(result.output).toMatch(/\n… \d+ bytes omitted …\n/);
    expect(Buffer.byteLength(result.output)).toBeLessThan(1100);
  });

  it('on timeout, stops the whole process group, grandchildren included', async () => {
    const result = await runner.run(
      hook(['sh', '-c', 'sleep 30 & echo $!; sleep 30'], { timeoutMs: 300 }),
      {},
    );
    const grandchild = printedPid(result.output);
    strays.push(grandchild);
    expect(result.timedOut).toBe(true);
    expect(result.signal).toBe('SIGTERM');
    expect(result.exitCode).toBeNull();
    expect(result.durationMs).toBeGreaterThanOrEqual(300);
    expect(result.durationMs).toBeLessThan(5000);
    await waitFor('the grandchild to be gone', async () => !isAlive(grandchild), { timeoutMs: 5000 });
  });

  it('sends SIGKILL after the grace period to a group that ignores SIGTERM', async () => {
    const quick = new ProcessHookRunner({ killGraceMs: 300 });
    // An ignored signal stays ignored across fork and exec, so the background sleep ignores it too.
    const result = await quick.run(
      hook(['sh', '-c', 'trap "" TERM; sleep 30 & echo $!; while :; do sleep 0.05; done'], {
        timeoutMs: 200,
      }),
      {},
    );
    const grandchild = printedPid(result.output);
    strays.push(grandchild);
    expect(result.timedOut).toBe(true);
    expect(result.signal).toBe('SIGKILL');
    expect(result.durationMs).toBeGreaterThanOrEqual(500);
    await waitFor('the grandchild to be gone', async () => !isAlive(grandchild), { timeoutMs: 5000 });
  });

  it('returns when the command exits even if a daemon it started keeps the output open, and leaves the daemon', async () => {
    const result = await runner.run(hook(['sh', '-c', 'sleep 30 & echo $!; echo started']), {});
    const daemon = printedPid(result.output);
    strays.push(daemon);
    expect(result.exitCode).toBe(0);
    expect(result.timedOut).toBe(false);
    expect(result.output).toContain('started\n');
    expect(result.durationMs).toBeLessThan(5000);
    expect(isAlive(daemon)).toBe(true);
  });

  it('reports a command that does not exist instead of throwing', async () => {
    const result = await runner.run(hook(['./definitely-missing.sh', 'x'], { cwd: dir }), {});
    expect(result).toEqual({
      exitCode: null,
      signal: null,
      timedOut: false,
      durationMs: expect.any(Number),
      output: `command not found: ./definitely-missing.sh (looked for ${dir}/definitely-missing.sh)`,
    });
    expect((await runner.run(hook(['no-such-program-anywhere']), {})).output).toBe(
      'command not found: no-such-program-anywhere (not in PATH)',
    );
    expect((await runner.run(hook(['/bin/echo'], { cwd: join(dir, 'missing') }), {})).output).toBe(
      `working directory not found: ${join(dir, 'missing')}`,
    );
  });

  it('reports a script that is not executable', async () => {
    const script = join(dir, 'not-executable.sh');
    writeFileSync(script, '#!/bin/sh\necho hi\n');
    chmodSync(script, 0o644);
    const result = await runner.run(hook([script]), {});
    expect(result.exitCode).toBeNull();
    expect(result.output).toMatch(/^permission denied: .*not-executable\.sh \(is it executable\?/);
  });

  it('refuses an unknown placeholder before starting anything', async () => {
    const marker = join(dir, 'must-not-exist');
    await expect(
      runner.run(hook(['touch', marker, '{standby.hots}']), { 'standby.host': 'x' }),
    ).rejects.toThrow(UnknownPlaceholderError);
    expect(existsSync(marker)).toBe(false);
  });
});
