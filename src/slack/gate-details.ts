// What a gate prompt (and the approval record) says about the world right now.
import type { JsonObject, Run, StepRecord } from '../engine/types';
import type { LagSample } from '../ports/run-store';
import type { Condition } from './render/gate';
import { formatBytes, formatSeconds } from './render/sparkline';

export interface GateDetails {
  whatWillHappen: string;
  irreversible?: string;
  conditions: Condition[];
}

/** Warnings shown with one gate (Block Kit allows 10 fields a section). */
const MAX_WARNINGS = 6;

export function describeGate(run: Run, step: StepRecord, latestLag: LagSample | undefined): GateDetails {
  const conditions: Condition[] = [{ label: 'Target', value: run.target }];
  // A gate that opens right after a lag check may come before the first background sample.
  const lag = latestLag ?? lagReadBefore(run, step);
  if (lag?.laggingReplicas !== undefined) {
    conditions.push({ label: 'Lagging replicas', value: String(lag.laggingReplicas) });
  } else if (lag) {
    const bytes = lag.bytes === null ? 'unknown' : formatBytes(lag.bytes);
    const seconds = lag.seconds === null ? 'unknown' : formatSeconds(lag.seconds);
    conditions.push({ label: 'Replication lag', value: `${bytes} / ${seconds}` });
  }
  // What earlier checks warned about (what the cutover leaves behind or stops for), said before approval.
  for (const earlier of run.steps.slice(0, step.index)) {
    const warnings = earlier.output?.['warnings'];
    if (!Array.isArray(warnings)) continue;
    for (const warning of warnings.slice(0, MAX_WARNINGS)) {
      if (typeof warning === 'string') conditions.push({ label: 'Warning', value: warning });
    }
  }
  return {
    whatWillHappen: step.spec.explain ?? step.spec.title,
    ...(step.spec.warning ? { irreversible: step.spec.warning } : {}),
    conditions,
  };
}

type LagReading = Pick<LagSample, 'bytes' | 'seconds' | 'laggingReplicas'>;

const numberOrNull = (value: unknown): value is number | null => value === null || typeof value === 'number';

/** The lag the newest earlier step read itself (a lag check's output `{ bytes, seconds }`), if any. */
function lagReadBefore(run: Run, step: StepRecord): LagReading | undefined {
  for (const earlier of run.steps.slice(0, step.index).reverse()) {
    const output = earlier.output;
    if (!output || !numberOrNull(output['bytes']) || !numberOrNull(output['seconds'])) continue;
    if (output['bytes'] === null && output['seconds'] === null) continue;
    return { bytes: output['bytes'], seconds: output['seconds'] };
  }
  return undefined;
}

/** The conditions as recorded with an approval: what the approver saw when they clicked. */
export function seenConditions(details: GateDetails): JsonObject {
  const seen: JsonObject = {};
  for (const { label, value } of details.conditions) {
    const earlier = seen[label];
    // Several warnings: all of them, in order, under one label.
    seen[label] = earlier === undefined ? value : [...(Array.isArray(earlier) ? earlier : [earlier]), value];
  }
  return seen;
}
