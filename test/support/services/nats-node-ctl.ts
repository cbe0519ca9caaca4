// A hook for rolling-replace tests: stops one node of a test NATS cluster and starts a new server
// in its place, as an operator's replace script would. Run it with `node --import tsx`:
//
//   nats-node-ctl.ts <cluster dir> <node> replace|stop|start [options]
//     --empty-store <n1,n3|all>   nodes whose store is wiped before the start (a fresh disk);
//                                 the others keep theirs (the old volume re-attached)
//     --log <file>                appends "<node> <action> begin" and "... done <old pid> -> <new pid>"
//     --hold-while <file>         before touching the node, waits for as long as this file exists
//
// Safe to run again: a stopped node is not stopped twice, and a replace always ends with a running
// server. Exit 0 when done, 1 with a message on stderr otherwise.
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { readNodeSpec, runningPid, startNode, stopNode } from './nats-node-process';

interface Options {
  dir: string;
  node: string;
  action: 'replace' | 'stop' | 'start';
  emptyStore: string[];
  log?: string;
  holdWhile?: string;
}

function parse(argv: string[]): Options {
  const [dir, node, action, ...rest] = argv;
  if (!dir || !node || (action !== 'replace' && action !== 'stop' && action !== 'start')) {
    throw new Error('usage: nats-node-ctl.ts <cluster dir> <node> replace|stop|start [options]');
  }
  const options: Options = { dir, node, action, emptyStore: [] };
  for (let i = 0; i < rest.length; i += 2) {
    const [flag, value] = [rest[i], rest[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--empty-store') options.emptyStore = value.split(',');
    else if (flag === '--log') options.log = value;
    else if (flag === '--hold-while') options.holdWhile = value;
    else throw new Error(`unknown option ${flag}`);
  }
  return options;
}

async function main(): Promise<void> {
  // The bot may be killed while this runs: its end of our stdout goes away, which must not kill us.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  const options = parse(process.argv.slice(2));
  const spec = readNodeSpec(join(options.dir, `${options.node}.json`));
  const note = (line: string): void => {
    if (options.log) appendFileSync(options.log, `${options.node} ${options.action} ${line}\n`);
    process.stdout.write(`${options.node} ${options.action} ${line}\n`);
  };
  note('begin');
  if (options.holdWhile) {
    while (existsSync(options.holdWhile)) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const before = runningPid(spec);
  if (options.action !== 'start') await stopNode(spec);
  let after: number | null = null;
  if (options.action === 'start' && before !== null) {
    after = before; // already running: nothing to do
  } else if (options.action !== 'stop') {
    const emptyStore = options.emptyStore.includes('all') || options.emptyStore.includes(options.node);
    after = await startNode(spec, { emptyStore });
  }
  note(`done ${String(before)} -> ${String(after)}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`nats-node-ctl: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
