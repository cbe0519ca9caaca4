// A hook for Kafka rolling-replace tests: stops one broker of a test Kafka cluster and starts a new
// JVM in its place, as an operator's replace script would. Run it with `node --import tsx`:
//
//   kafka-node-ctl.ts <cluster dir> <broker id> replace|stop|start [options]
//     --empty-disk <1,3|all>   brokers whose log dir is wiped and formatted anew before the start
//                              (a fresh disk); the others keep theirs (the old volume re-attached)
//     --kill                   stop with SIGKILL (a crash) instead of SIGTERM (controlled shutdown)
//     --log <file>             appends "<id> <action> begin" and "... done <old pid> -> <new pid>"
//
// Safe to run again: a stopped broker is not stopped twice, and a replace always ends with a running
// broker. Exit 0 when done, 1 with a message on stderr otherwise.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNodeSpec, runningPid, startNode, stopNode } from './kafka-node-process';

interface Options {
  dir: string;
  id: string;
  action: 'replace' | 'stop' | 'start';
  emptyDisk: string[];
  kill: boolean;
  log?: string;
}

function parse(argv: string[]): Options {
  const [dir, id, action, ...rest] = argv;
  if (!dir || !id || (action !== 'replace' && action !== 'stop' && action !== 'start')) {
    throw new Error('usage: kafka-node-ctl.ts <cluster dir> <broker id> replace|stop|start [options]');
  }
  const options: Options = { dir, id, action, emptyDisk: [], kill: false };
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    if (flag === '--kill') {
      options.kill = true;
      continue;
    }
    const value = rest[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--empty-disk') options.emptyDisk = value.split(',');
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
  const spec = readNodeSpec(join(options.dir, `broker-${options.id}.json`));
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
    const emptyLogDir = options.emptyDisk.includes('all') || options.emptyDisk.includes(options.id);
    after = await startNode(spec, { emptyLogDir });
  }
  note(`done ${String(before)} -> ${String(after)}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`kafka-node-ctl: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
