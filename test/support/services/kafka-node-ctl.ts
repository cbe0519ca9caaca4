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
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, moveNode, readNodeSpec, runningPid, startNode, stopNode } from './kafka-node-process';
import { controlNode, listed, parseNodeCtlArgs, runNodeCtl } from './node-process';

runNodeCtl('kafka-node-ctl', async () => {
  const args = parseNodeCtlArgs(
    process.argv.slice(2),
    'kafka-node-ctl.ts <cluster dir> <broker id> replace|stop|start [options]',
    { valued: ['--empty-disk', '--new-server', '--background'], switches: ['--kill'] },
  );
  if (listed(args, '--background')) {
    // The same command without --background, detached, its output in the node's log: this hook
    // returns before the broker has even stopped.
    const argv = process.argv.slice(1);
    const at = argv.indexOf('--background');
    argv.splice(at, 2);
    const out = openSync(join(args.dir, `hook-${args.node}.out`), 'a');
    spawn(process.execPath, [...process.execArgv, ...argv], {
      detached: true,
      stdio: ['ignore', out, out],
    }).unref();
    process.stdout.write(`${args.node} ${args.action} continues in the background\n`);
    return;
  }
  let spec = readNodeSpec(join(args.dir, `broker-${args.node}.json`));
  await controlNode(args, {
    running: () => runningPid(spec),
    stop: () => stopNode(spec, args.switches.has('--kill') ? 'SIGKILL' : 'SIGTERM'),
    start: async () => {
      if (listed(args, '--new-server')) {
        const server = join(args.dir, `broker-${args.node}-server-${randomBytes(3).toString('hex')}`, 'data');
        spec = moveNode(spec, server, await freePort());
      }
      return startNode(spec, { emptyLogDir: listed(args, '--empty-disk') });
    },
  });
});
