// `npm run bench`: every figure of issue 9, each side by side with its baseline, as a table
// (or one JSON object with --json). Options: --only ack,dispatch,promotion,pgbouncer,scale,volume-swap,kafka-replace  --quick  --json
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLUSTER_PREFIXES, ownerOf } from '../../src/demo/pg-cluster';
import { benchAck } from './ack';
import {
  closeAllOpen,
  describeMachine,
  leftoverData,
  processes,
  type FigureOptions,
  type Row,
  type Summary,
} from './common';
import { benchDispatch } from './dispatch';
import { benchKafkaReplace } from './kafka-replace';
import { benchPgBouncer } from './pgbouncer';
import { benchPromotion } from './promotion';
import { benchScale } from './scale';
import { benchVolumeSwap } from './volume-swap';

const FIGURES: Record<string, (options: FigureOptions) => Promise<Row[]>> = {
  ack: benchAck,
  dispatch: benchDispatch,
  promotion: benchPromotion,
  pgbouncer: benchPgBouncer,
  scale: benchScale,
  'volume-swap': benchVolumeSwap,
  'kafka-replace': benchKafkaReplace,
};

interface Args {
  json: boolean;
  quick: boolean;
  only: string[];
}

function parseArgs(argv: string[]): Args {
  const args: Args = { json: false, quick: false, only: Object.keys(FIGURES) };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--json') args.json = true;
    else if (arg === '--quick') args.quick = true;
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg === '--only' ? argv[++i] : arg.slice('--only='.length);
      const names = (value ?? '').split(',').filter((name) => name !== '');
      const unknown = names.filter((name) => !(name in FIGURES));
      if (names.length === 0 || unknown.length > 0) {
        throw new Error(`--only takes a comma-separated list of: ${Object.keys(FIGURES).join(', ')}`);
      }
      args.only = names;
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(
        'usage: npm run bench -- [--quick] [--json] [--only ack,dispatch,promotion,pgbouncer,scale,volume-swap,kafka-replace]\n',
      );
      process.exit(0);
    } else {
      throw new Error(`unknown option ${arg} (try --help)`);
    }
  }
  return args;
}

function fmt(value: number | undefined, digits = 1): string {
  if (value === undefined || !Number.isFinite(value)) return '-';
  return value.toFixed(digits);
}

function pair(summary: Summary | null): string {
  return summary ? `${fmt(summary.p50)} / ${fmt(summary.p99)}` : '-';
}

function table(rows: Row[]): string {
  const header = [
    'figure',
    'metric',
    'unit',
    'bot p50 / p99',
    'baseline p50 / p99',
    'ratio',
    'goal',
    'verdict',
  ];
  const lines = rows.map((row) => [
    row.figure,
    row.metric,
    row.unit,
    row.subject ? pair(row.subject) : fmt(row.value, 2),
    row.baseline ? pair(row.baseline) : fmt(row.baselineValue, 2),
    row.ratio ? `${fmt(row.ratio.value, 2)}× (${row.ratio.of})` : '-',
    row.goal,
    row.verdict,
  ]);
  const widths = header.map((title, i) =>
    Math.max(title.length, ...lines.map((line) => (line[i] ?? '').length)),
  );
  const render = (cells: string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [render(header), render(widths.map((w) => '-'.repeat(w))), ...lines.map(render)].join('\n');
}

/** Server processes (postmasters, redis-server) that were not running before: pgrep -a lines. */
function newServers(before: string[], name: string): string[] {
  const known = new Set(before.map((line) => line.split(' ')[0]));
  return processes(name).filter(
    // Backends ("postgres: 15/main: user db ...") of other users' sessions are not servers.
    (line) => !known.has(line.split(' ')[0]) && !/^\d+ postgres: /.test(line),
  );
}

function parentOf(pid: number): number {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

/**
 * Ours: a descendant of this process, or a postmaster whose data directory is in a cluster folder
 * this process owns (pg_ctl daemonizes, so its postmasters are not our descendants) or that is gone.
 * The machine is shared: other users' test suites start servers of their own meanwhile.
 */
function isOurs(line: string): boolean {
  const pid = Number(line.split(' ')[0]);
  for (let p = parentOf(pid), hops = 0; p > 1 && hops < 64; p = parentOf(p), hops++) {
    if (p === process.pid) return true;
  }
  const dataDir = / -D (\S+)/.exec(line)?.[1];
  const root = dataDir && /^(\/tmp\/cutover-pg[^/]+)/.exec(dataDir)?.[1];
  return Boolean(root && (!existsSync(root) || ownerOf(root) === process.pid));
}

/** This process's own TCP connections still open to PostgreSQL or Redis (there should be none). */
function ownConnections(): string[] {
  try {
    return execFileSync('ss', ['-tnpH', 'state', 'established'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes(`pid=${process.pid},`));
  } catch {
    return [];
  }
}

/** Cluster folders this process created and did not remove. */
function ownFolders(): string[] {
  return readdirSync('/tmp')
    .filter((name) => CLUSTER_PREFIXES.some((prefix) => name.startsWith(prefix)))
    .filter((name) => ownerOf(join('/tmp', name)) === process.pid);
}

/** Ctrl-C or SIGTERM: close what is open (schemas, queues, pairs), then exit. */
function closeOnSignals(log: (line: string) => void): void {
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      log(`${signal}: cleaning up`);
      void closeAllOpen().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (line: string): void => {
    process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  };
  closeOnSignals(log);
  const before = { postgres: processes('postgres'), redis: processes('redis-server') };
  const machine = await describeMachine();
  log(`machine: ${machine.cores} cores, node ${machine.node}, redis ${machine.redis}`);
  const started = Date.now();
  const rows: Row[] = [];
  const errors: Record<string, string> = {};
  for (const name of args.only) {
    const figure = FIGURES[name] as (options: FigureOptions) => Promise<Row[]>;
    const t0 = Date.now();
    log(`${name}: start`);
    try {
      rows.push(...(await figure({ quick: args.quick, log })));
    } catch (error) {
      errors[name] = error instanceof Error ? (error.stack ?? error.message) : String(error);
      log(`${name}: FAILED ${errors[name]}`);
    }
    log(`${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  // Give exited children a moment to be reaped before looking for leftovers.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const appeared = [...newServers(before.postgres, 'postgres'), ...newServers(before.redis, 'redis-server')];
  const data = await leftoverData();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const left = {
    servers: appeared.filter(isOurs),
    connections: ownConnections(),
    folders: ownFolders(),
    schemas: data.schemas,
    redisKeys: data.redisKeys,
  };
  const result = {
    machine,
    options: { quick: args.quick, only: args.only },
    durationSeconds: Math.round((Date.now() - started) / 100) / 10,
    rows,
    errors,
    leftoverProcesses: left,
    otherUsersServersStartedMeanwhile: appeared.filter((line) => !isOurs(line)),
  };
  if (args.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    process.stdout.write(
      [
        `machine: ${machine.cores} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, ${machine.os}, load ${machine.loadAverage.join(' ')}`,
        `node ${machine.node} · state DB ${machine.postgresState.split(' on ')[0]} · pair ${machine.postgresPair} · redis ${machine.redis}`,
        `run: ${args.quick ? 'quick' : 'full'}, ${result.durationSeconds} s`,
        '',
        table(rows),
        '',
        ...Object.entries(errors).map(([name, error]) => `${name} FAILED: ${error.split('\n')[0]}`),
        left.servers.length +
          left.connections.length +
          left.folders.length +
          left.schemas.length +
          left.redisKeys ===
        0
          ? 'cleanup: nothing of ours left (no postgres or redis-server we started, no open connection, no cluster folder, no bench_* schema, no bull:bench-* key)'
          : `cleanup: LEFT BEHIND ${JSON.stringify(left)}`,
        ...(result.otherUsersServersStartedMeanwhile.length > 0
          ? [
              `(started meanwhile by other users of this machine, not ours: ${result.otherUsersServersStartedMeanwhile.join('; ')})`,
            ]
          : []),
        '',
      ].join('\n'),
    );
  }
  process.exitCode = Object.keys(errors).length > 0 ? 1 : 0;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(2);
});
