// Starts a worker script in its own Node process (so a test can SIGKILL it) and waits until ready;
// `runAsChildWorker` is the script's side of that.
import { spawn, type ChildProcess } from 'node:child_process';

/** What a worker script prints on stdout once it takes jobs. */
const READY = 'worker-ready';

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
      if (chunk.toString().includes(READY)) resolve(child);
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

/** A suite's worker processes, all from one script: started one by one, all killed at the end. */
export class ChildWorkers {
  private readonly children: ChildProcess[] = [];

  constructor(private readonly script: string) {}

  /** Starts a worker with `env` added to this process's environment, once it takes jobs. */
  async start(env: Record<string, string>): Promise<ChildProcess> {
    const child = await spawnWorker(this.script, env);
    this.children.push(child);
    return child;
  }

  /** SIGKILLs every worker still running (afterAll, or before a test that needs none) and waits. */
  async killAll(): Promise<void> {
    const children = this.children.splice(0);
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(children.map(exited));
  }
}

/**
 * The worker script's side of `spawnWorker`: starts what `start` builds, says it is ready, and closes
 * it on SIGTERM. A failed start exits 1 with the error on stderr, which `spawnWorker` reports.
 */
export function runAsChildWorker(start: () => Promise<{ close(): Promise<void> }>): void {
  start()
    .then((worker) => {
      process.on('SIGTERM', () => {
        void worker.close().then(() => process.exit(0));
      });
      process.stdout.write(`${READY}\n`);
    })
    .catch((error: unknown) => {
      process.stderr.write(`worker failed: ${String(error)}\n`);
      process.exit(1);
    });
}
