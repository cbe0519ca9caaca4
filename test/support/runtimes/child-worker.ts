// Starts a worker script (or the bot) in its own Node process, so a test can SIGKILL it, and waits
// until it says it is ready; `runAsChildWorker` is a worker script's side of that.
import { spawn, type ChildProcess } from 'node:child_process';

/** What a worker script prints on stdout once it takes jobs. */
const READY = 'worker-ready';

/**
 * Starts `script` under `node --import tsx` with `env` added; `ready` resolves with the first match of
 * `readyLine` on its stdout, and rejects (with its stderr) if it exits before. `what` names it there.
 */
export function spawnScript(
  script: string,
  env: Record<string, string>,
  readyLine: RegExp,
  what = 'worker',
): { child: ChildProcess; ready: Promise<RegExpExecArray> } {
  // `node --import tsx`, not the tsx CLI: the CLI runs the script in a grandchild that a SIGKILL of
  // the CLI would leave running.
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ready = new Promise<RegExpExecArray>((resolve, reject) => {
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => {
      const match = readyLine.exec(chunk.toString());
      if (match) resolve(match);
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`${what} exited early (${code ?? signal}): ${stderr}`)),
    );
  });
  return { child, ready };
}

export async function spawnWorker(script: string, env: Record<string, string>): Promise<ChildProcess> {
  const { child, ready } = spawnScript(script, env, new RegExp(READY));
  await ready;
  return child;
}

/** Resolves once the child has exited, with its signal or exit code. */
export function exited(child: ChildProcess): Promise<NodeJS.Signals | number | null> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve(child.signalCode ?? child.exitCode);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
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
