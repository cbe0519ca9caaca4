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
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readNodeSpec, runningPid, startNode, stopNode } from './nats-node-process';
import { controlNode, listed, parseNodeCtlArgs, runNodeCtl } from './node-process';

runNodeCtl('nats-node-ctl', async () => {
  const args = parseNodeCtlArgs(
    process.argv.slice(2),
    'nats-node-ctl.ts <cluster dir> <node> replace|stop|start [options]',
    { valued: ['--empty-store', '--hold-while'] },
  );
  const spec = readNodeSpec(join(args.dir, `${args.node}.json`));
  const holdWhile = args.values.get('--hold-while');
  await controlNode(args, {
    hold: async () => {
      while (holdWhile && existsSync(holdWhile)) await new Promise((resolve) => setTimeout(resolve, 50));
    },
    running: () => runningPid(spec),
    stop: () => stopNode(spec),
    start: () => startNode(spec, { emptyStore: listed(args, '--empty-store') }),
  });
});
