// Starts a worker script in its own Node process (so a test can SIGKILL it) and waits until ready.
import { spawn, type ChildProcess } from 'node:child_process';

export function spawnWorker(script: string, env: Record<string, string>): Promise<ChildProcess> {
  // `node --import tsx`, not the tsx CLI: the CLI runs the script in a grandchild that a SIGKILL of
  // the CLI would leave running.
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('worker-ready')) resolve(child);
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`worker exited early (${code ?? signal}): ${stderr}`)),
    );
  });
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
