// What the demo says when something it needs is not installed.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

import { freeLoopbackPorts } from '../../../src/demo/net';
import { findPgBinDir, pgBinDirAmong, PG_BINARIES_MISSING_MESSAGE } from '../../../src/demo/pg-cluster';

const ROOT = path.join(__dirname, '..', '..', '..');

test('missing PostgreSQL server binaries: the error names the package to install', () => {
  expect(() => pgBinDirAmong(['/nonexistent/bin', '/'])).toThrow(PG_BINARIES_MISSING_MESSAGE);
  expect(PG_BINARIES_MISSING_MESSAGE).toBe(
    'PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) were not found. Install them: ' +
      'Debian/Ubuntu `sudo apt-get install postgresql`, macOS `brew install postgresql@16`.',
  );
  // This machine has them.
  expect(existsSync(path.join(findPgBinDir(), 'initdb'))).toBe(true);
});

test('no usable Redis and no redis-server on PATH: exits 1 naming the package before starting anything', async () => {
  const [unused] = await freeLoopbackPorts(1);
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('SLACK_')));
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], {
    cwd: ROOT,
    // No folder on PATH holds redis-server (PostgreSQL is found through /usr/lib/postgresql).
    env: { ...env, PATH: '/nonexistent', PORT: '0', REDIS_URL: `redis://127.0.0.1:${unused}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));

  expect(code).toBe(1);
  expect(output).toContain('`redis-server` was not found');
  expect(output).toContain('apt-get install redis-server');
  // Checked before anything is created: no work folder, no cluster.
  expect(output).not.toMatch(/^work dir:/m);
});
