// Per-case counters of the fault suite. Each case writes one JSON file under
// .test-artifacts/faults/cases/ (in a `finally`, so a failing case still reports what it saw);
// scripts/faults-summary.ts reads them back and prints the table.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const FAULTS_DIR = path.join(__dirname, '../../../.test-artifacts/faults');
export const CASES_DIR = path.join(FAULTS_DIR, 'cases');

export interface FaultCounters {
  /** Faults injected: kills, restarts, flushes, duplicate deliveries, malformed requests. */
  faultsInjected: number;
  /** Runs that reached a finished state (succeeded, aborted, failed). */
  runsCompleted: number;
  /** Writes the old primary acknowledged that are missing where they must be. Must be 0. */
  ackedWritesLost: number;
  /** Irreversible actions (a promotion, the test strategy's switch) done more than once. Must be 0. */
  irreversibleTwice: number;
}

export interface FaultCaseRecord extends FaultCounters {
  suite: string;
  name: string;
  /** Free text: what was checked, for the table's last column. */
  note: string;
}

export class FaultCase implements FaultCounters {
  faultsInjected = 0;
  runsCompleted = 0;
  ackedWritesLost = 0;
  irreversibleTwice = 0;
  note = '';

  constructor(
    readonly suite: string,
    readonly name: string,
  ) {}

  save(): void {
    mkdirSync(CASES_DIR, { recursive: true });
    const record: FaultCaseRecord = {
      suite: this.suite,
      name: this.name,
      note: this.note,
      faultsInjected: this.faultsInjected,
      runsCompleted: this.runsCompleted,
      ackedWritesLost: this.ackedWritesLost,
      irreversibleTwice: this.irreversibleTwice,
    };
    const slug = `${this.suite}--${this.name}`.replace(/[^a-z0-9]+/gi, '-').slice(0, 150);
    writeFileSync(path.join(CASES_DIR, `${slug}.json`), JSON.stringify(record, null, 2));
  }
}

/** Runs `body` with a fresh case and saves the counters whatever happens. */
export async function withFaultCase(
  suite: string,
  name: string,
  body: (fault: FaultCase) => Promise<void>,
): Promise<void> {
  const fault = new FaultCase(suite, name);
  try {
    await body(fault);
  } finally {
    fault.save();
  }
}

/** A Jest test whose counters are saved under its own title (the summary joins on it). */
export function faultTest(
  suite: string,
  name: string,
  body: (fault: FaultCase) => Promise<void>,
  timeoutMs?: number,
): void {
  test(name, () => withFaultCase(suite, name, body), timeoutMs);
}
