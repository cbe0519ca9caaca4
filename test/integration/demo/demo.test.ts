// `npm run demo` as a person runs it: started as a process, it prints the URL of a working local console;
// Ctrl-C (SIGINT) stops it with exit code 0 and leaves no PostgreSQL (or Redis it started) running and no
// folder behind.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import path from 'node:path';

import { freeLoopbackPorts } from '../../../src/demo/net';
import { waitFor } from '../../support/wait-for';

const ROOT = path.join(__dirname, '..', '..', '..');

interface DemoProcess {
  child: ChildProcess;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running: DemoProcess[] = [];

function startDemo(env: Record<string, string>): DemoProcess {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('SLACK_')));
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], {
    cwd: ROOT,
    env: { ...base, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const demo = { child, output: () => text, exit };
  running.push(demo);
  return demo;
}

afterEach(async () => {
  // A failed test must not leave a demo running: ask it to stop, then insist.
  for (const demo of running.splice(0)) {
    if (demo.child.exitCode !== null || demo.child.signalCode !== null) continue;
    demo.child.kill('SIGINT');
    const timer = setTimeout(() => demo.child.kill('SIGKILL'), 30_000);
    await demo.exit;
    clearTimeout(timer);
  }
});

function processesMentioning(text: string): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return ps.stdout.split('\n').filter((line) => line.includes(text) && !line.includes('ps -eo'));
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

interface Started {
  url: string;
  workDir: string;
  startMs: number;
}

async function waitUntilRunning(demo: DemoProcess): Promise<Started> {
  const t0 = Date.now();
  const url = await waitFor(
    'the demo to print its URL',
    async () => {
      if (demo.child.exitCode !== null) throw new Error(`demo exited early:\n${demo.output()}`);
      return /(http:\/\/localhost:\d+\/)/.exec(demo.output())?.[1];
    },
    { timeoutMs: 45_000, intervalMs: 50 },
  );
  const workDir = /^work dir: (\/\S+)$/m.exec(demo.output())?.[1];
  if (!workDir) throw new Error(`no work dir line in:\n${demo.output()}`);
  return { url, workDir, startMs: Date.now() - t0 };
}

async function expectConsoleServed(url: string): Promise<void> {
  const page = await fetch(url);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toMatch(/text\/html/);
  expect(await page.text()).toMatch(/<html/i);
  const health = await fetch(new URL('/healthz', url));
  expect(health.status).toBe(200);
}

async function interruptAndExpectCleanExit(demo: DemoProcess): Promise<void> {
  demo.child.kill('SIGINT');
  const { code, signal } = await demo.exit;
  if (code !== 0) throw new Error(`exit ${String(code ?? signal)}; output:\n${demo.output()}`);
}

test('prints the URL of a working console; SIGINT exits 0 and removes every cluster and folder', async () => {
  const demo = startDemo({ PORT: '0' });
  const { url, workDir, startMs } = await waitUntilRunning(demo);
  process.stdout.write(`demo ready after ${startMs} ms (test-side, including tsx start-up)\n`);
  expect(workDir).toMatch(/^\/tmp\/cutover-demo-/);
  expect(existsSync(workDir)).toBe(true);
  // Three clusters are running from the work folder: the bot's state, the primary and the standby.
  expect(processesMentioning(workDir).length).toBeGreaterThanOrEqual(3);
  expect(demo.output()).toContain('/cutover start demo');
  expect(demo.output()).toContain('Ctrl-C stops and removes everything');

  await expectConsoleServed(url);
  await interruptAndExpectCleanExit(demo);

  expect(processesMentioning(workDir)).toEqual([]);
  expect(existsSync(workDir)).toBe(false);
});

test('without a usable REDIS_URL it starts its own redis-server, and SIGINT stops it too', async () => {
  const [unused] = await freeLoopbackPorts(1);
  const demo = startDemo({ PORT: '0', REDIS_URL: `redis://127.0.0.1:${unused}` });
  const { url, workDir } = await waitUntilRunning(demo);
  const redisPort = Number(/Redis started on 127\.0\.0\.1:(\d+)/.exec(demo.output())?.[1]);
  expect(redisPort).toBeGreaterThan(0);
  expect(await accepts(redisPort)).toBe(true);

  await expectConsoleServed(url);
  await interruptAndExpectCleanExit(demo);

  expect(processesMentioning(workDir)).toEqual([]);
  expect(processesMentioning(`redis-server 127.0.0.1:${redisPort}`)).toEqual([]);
  expect(await accepts(redisPort)).toBe(false);
  expect(existsSync(workDir)).toBe(false);
});

test('SIGINT while it is still starting stops what has started so far and exits 0', async () => {
  const demo = startDemo({ PORT: '0' });
  const workDir = await waitFor(
    'the work dir line',
    async () => /^work dir: (\/\S+)$/m.exec(demo.output())?.[1],
    { timeoutMs: 30_000, intervalMs: 10 },
  );
  // The clusters are being created now.
  await waitFor('a cluster folder', async () => findDataDirsUnder(workDir), {
    timeoutMs: 10_000,
    intervalMs: 10,
  });
  await interruptAndExpectCleanExit(demo);
  expect(demo.output()).not.toContain('http://localhost:');
  expect(processesMentioning(workDir)).toEqual([]);
  expect(existsSync(workDir)).toBe(false);
});

function findDataDirsUnder(dir: string): boolean {
  try {
    return readdirSync(dir).some((name) => name.startsWith('cutover-pg'));
  } catch {
    return false;
  }
}
