// A hook for Kafka rolling-replace tests: stops one broker of a test Kafka cluster and starts a new
// JVM in its place, as an operator's replace script would. Run it with `node --import tsx`:
//
//   kafka-node-ctl.ts <cluster dir> <broker id> replace|stop|start [options]
//     --empty-disk <1,3|all>   brokers whose log dir is wiped and formatted anew before the start
//                              (a fresh disk); the others keep theirs (the old volume re-attached)
//     --new-server <2|all>     brokers whose log dir moves to a new server (a new folder and port)
//                              before the start: the old broker's EBS volume attached elsewhere
//     --background <3|all>     brokers for which the hook starts the work in the background and
//                              returns at once (a hook that returns before the node is replaced)
//     --kill                   stop with SIGKILL (a crash) instead of SIGTERM (controlled shutdown)
//     --log <file>             appends "<id> <action> begin" and "... done <old pid> -> <new pid>"
//
// Safe to run again: a stopped broker is not stopped twice, and a replace always ends with a running
// broker. Exit 0 when done, 1 with a message on stderr otherwise.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, moveNode, readNodeSpec, runningPid, startNode, stopNode } from './kafka-node-process';

interface Options {
  dir: string;
  id: string;
  action: 'replace' | 'stop' | 'start';
  emptyDisk: string[];
  newServer: string[];
  background: string[];
  kill: boolean;
  log?: string;
}

function parse(argv: string[]): Options {
  const [dir, id, action, ...rest] = argv;
  if (!dir || !id || (action !== 'replace' && action !== 'stop' && action !== 'start')) {
    throw new Error('usage: kafka-node-ctl.ts <cluster dir> <broker id> replace|stop|start [options]');
  }
  const options: Options = { dir, id, action, emptyDisk: [], newServer: [], background: [], kill: false };
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    if (flag === '--kill') {
      options.kill = true;
      continue;
    }
    const value = rest[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--empty-disk') options.emptyDisk = value.split(',');
    else if (flag === '--new-server') options.newServer = value.split(',');
    else if (flag === '--background') options.background = value.split(',');
    else if (flag === '--log') options.log = value;
    else throw new Error(`unknown option ${flag}`);
  }
  return options;
}

async function main(): Promise<void> {
  // The bot may be killed while this runs: its end of our stdout goes away, which must not kill us.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  const options = parse(process.argv.slice(2));
  const applies = (list: string[]): boolean => list.includes('all') || list.includes(options.id);
  if (applies(options.background)) {
    // The same command without --background, detached, its output in the node's log: this hook
    // returns before the broker has even stopped.
    const argv = process.argv.slice(1);
    const at = argv.indexOf('--background');
    argv.splice(at, 2);
    const out = openSync(join(options.dir, `hook-${options.id}.out`), 'a');
    spawn(process.execPath, [...process.execArgv, ...argv], {
      detached: true,
      stdio: ['ignore', out, out],
    }).unref();
    process.stdout.write(`${options.id} ${options.action} continues in the background\n`);
    return;
  }
  let spec = readNodeSpec(join(options.dir, `broker-${options.id}.json`));
  const note = (line: string): void => {
    if (options.log) appendFileSync(options.log, `${options.id} ${options.action} ${line}\n`);
    process.stdout.write(`${options.id} ${options.action} ${line}\n`);
  };
  note('begin');
  const before = runningPid(spec);
  if (options.action !== 'start') await stopNode(spec, options.kill ? 'SIGKILL' : 'SIGTERM');
  let after: number | null = null;
  if (options.action === 'start' && before !== null) {
    after = before; // already running: nothing to do
  } else if (options.action !== 'stop') {
    if (applies(options.newServer)) {
      const server = join(
        options.dir,
        `broker-${options.id}-server-${randomBytes(3).toString('hex')}`,
        'data',
      );
      spec = moveNode(spec, server, await freePort());
    }
    after = await startNode(spec, { emptyLogDir: applies(options.emptyDisk) });
  }
  note(`done ${String(before)} -> ${String(after)}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`kafka-node-ctl: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
