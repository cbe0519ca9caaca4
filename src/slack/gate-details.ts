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

export function describeGate(run: Run, step: StepRecord, latestLag: LagSample | undefined): GateDetails {
  const conditions: Condition[] = [{ label: 'Target', value: run.target }];
  if (latestLag?.laggingReplicas !== undefined) {
    conditions.push({ label: 'Lagging replicas', value: String(latestLag.laggingReplicas) });
  } else if (latestLag) {
    const bytes = latestLag.bytes === null ? 'unknown' : formatBytes(latestLag.bytes);
    const seconds = latestLag.seconds === null ? 'unknown' : formatSeconds(latestLag.seconds);
    conditions.push({ label: 'Replication lag', value: `${bytes} / ${seconds}` });
  }
  return {
    whatWillHappen: step.spec.explain ?? step.spec.title,
    ...(step.spec.warning ? { irreversible: step.spec.warning } : {}),
    conditions,
  };
}

/** The conditions as recorded with an approval: what the approver saw when they clicked. */
export function seenConditions(details: GateDetails): JsonObject {
  return Object.fromEntries(details.conditions.map((condition) => [condition.label, condition.value]));
}
