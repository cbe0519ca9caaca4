// `npm run test:faults`, after Jest: prints the fault suite's table from the per-case counters
// (.test-artifacts/faults/cases/*.json) and Jest's results (.test-artifacts/faults/jest-results.json),
// and exits non-zero if a case failed, a case reported nothing, or any acknowledged write was lost
// or any irreversible action was done twice.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface CaseRecord {
  suite: string;
  name: string;
  note: string;
  faultsInjected: number;
  runsCompleted: number;
  ackedWritesLost: number;
  irreversibleTwice: number;
}

interface JestAssertion {
  title: string;
  fullName: string;
  status: string;
}

interface JestResults {
  numFailedTests: number;
  numPassedTests: number;
  numRuntimeErrorTestSuites?: number;
  testResults: { name: string; status: string; message?: string; assertionResults: JestAssertion[] }[];
}

const dir = path.join(__dirname, '../.test-artifacts/faults');
const casesDir = path.join(dir, 'cases');
const resultsFile = path.join(dir, 'jest-results.json');

function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function table(headers: string[], rows: string[][], rightAligned: Set<number>): string[] {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const cell = (text: string, i: number) =>
    rightAligned.has(i) ? text.padStart(widths[i]!) : text.padEnd(widths[i]!);
  const line = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
  return [
    line(headers),
    `|${widths.map((w, i) => (rightAligned.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`,
    ...rows.map(line),
  ];
}

function main(): number {
  const cases: CaseRecord[] = existsSync(casesDir)
    ? readdirSync(casesDir)
        .filter((file) => file.endsWith('.json'))
        .map((file) => JSON.parse(readFileSync(path.join(casesDir, file), 'utf8')) as CaseRecord)
    : [];
  const results: JestResults | null = existsSync(resultsFile)
    ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as JestResults)
    : null;
  const statusOf = new Map<string, string>();
  for (const suite of results?.testResults ?? [])
    for (const assertion of suite.assertionResults) statusOf.set(assertion.title, assertion.status);

  cases.sort((a, b) => a.suite.localeCompare(b.suite) || a.name.localeCompare(b.name));
  const rows = cases.map((c) => [
    c.suite,
    c.name,
    statusOf.get(c.name) ?? 'unknown',
    String(c.faultsInjected),
    String(c.runsCompleted),
    String(c.ackedWritesLost),
    String(c.irreversibleTwice),
  ]);
  const total = (key: keyof CaseRecord) => cases.reduce((sum, c) => sum + Number(c[key]), 0);
  rows.push([
    'total',
    `${cases.length} cases`,
    `${[...statusOf.values()].filter((s) => s === 'passed').length} passed`,
    String(total('faultsInjected')),
    String(total('runsCompleted')),
    String(total('ackedWritesLost')),
    String(total('irreversibleTwice')),
  ]);

  out();
  out('Fault injection summary');
  out();
  for (const line of table(
    [
      'suite',
      'case',
      'result',
      'faults injected',
      'runs completed',
      'acked writes lost',
      'irreversible twice',
    ],
    rows,
    new Set([3, 4, 5, 6]),
  ))
    out(line);
  out();
  for (const c of cases) if (c.note) out(`- ${c.name}: ${c.note}`);
  out();

  const problems: string[] = [];
  if (!results) problems.push(`Jest wrote no results (${resultsFile})`);
  else {
    if (results.numFailedTests > 0) problems.push(`${results.numFailedTests} case(s) failed`);
    if ((results.numRuntimeErrorTestSuites ?? 0) > 0)
      problems.push(`${results.numRuntimeErrorTestSuites} suite(s) did not run`);
    for (const suite of results.testResults)
      if (suite.status === 'failed' && suite.assertionResults.length === 0)
        problems.push(`${path.basename(suite.name)} failed to run: ${(suite.message ?? '').split('\n')[0]}`);
    const recorded = new Set(cases.map((c) => c.name));
    for (const title of statusOf.keys())
      if (!recorded.has(title)) problems.push(`"${title}" recorded no counters`);
  }
  if (cases.length === 0) problems.push('no case recorded counters');
  if (total('ackedWritesLost') > 0) problems.push(`${total('ackedWritesLost')} acknowledged write(s) lost`);
  if (total('irreversibleTwice') > 0)
    problems.push(`${total('irreversibleTwice')} irreversible action(s) executed twice`);
  for (const c of cases)
    if (statusOf.get(c.name) === 'failed') problems.push(`failed: ${c.suite} / ${c.name}`);

  if (problems.length > 0) {
    out(`FAULTS: FAIL`);
    for (const problem of problems) out(`  ${problem}`);
    return 1;
  }
  out(`FAULTS: OK (${cases.length} cases, 0 acknowledged writes lost, 0 irreversible actions twice)`);
  return 0;
}

process.exitCode = main();
