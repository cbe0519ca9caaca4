// What the report steps of both promotions (PostgreSQL and fenced RDS) read back from the steps
// before them, each through that step's own schema, and the lines they have in common.
import { z } from 'zod';
import type { JsonObject, Run } from '../../engine/types';
import { outputOf, progressCodec } from '../progress';
import { readFenceProgress, type FenceProgress } from './fence-modes';

/** What the prepare step records (pg-prepare and rds-prepare). */
export const prepareRecord = progressCodec(
  z
    .object({
      /** The prepared transactions a person chose to carry over (gids). */
      preparedXacts: z.array(z.string()),
      /** The standby's synchronous_standby_names it cleared (null: none), given back on undo. */
      syncStandbyNamesCleared: z.string().nullable(),
      rolesToLock: z.number(),
    })
    .partial()
    .passthrough(),
);

/** What the preflight records that the report repeats: its warnings. */
export const preflightRecord = progressCodec(
  z
    .object({ warnings: z.array(z.string()) })
    .partial()
    .passthrough(),
);

/** The fence-and-promote step's record, read through its schema. */
export function promotionOf(run: Run, stepName: string): FenceProgress {
  return readFenceProgress(outputOf(run, stepName));
}

/** Fence (or stop) → first commit on the new primary, when both were measured. */
export function writeUnavailableMs(promoted: FenceProgress): number | null {
  const { fencedAtMs, writableAtMs } = promoted;
  return fencedAtMs !== undefined && writableAtMs !== undefined ? writableAtMs - fencedAtMs : null;
}

/** " (fence 20 ms, catch-up 1 ms, promote 24 ms)", or nothing when the parts were not measured. */
export function phasesText(phases: FenceProgress['phasesMs']): string {
  if (!phases) return '';
  return ` (fence ${phases.fence} ms, catch-up ${phases.catchUp} ms, promote ${phases.promote} ms)`;
}

/** How the report names the two servers and the sessions it counts. */
export interface ReportNames {
  oldPrimary: string;
  newPrimary: string;
  /** "client" or "application" */
  sessions: string;
}

/** Roles kept out during the window, prepared transactions carried over, sessions left, the route. */
export function sharedLines(
  promoted: FenceProgress,
  prepared: JsonObject | null,
  names: ReportNames,
): string[] {
  const lines: string[] = [];
  if (promoted.lockedRoles) {
    lines.push(
      `• ${promoted.lockedRoles.length} role(s) could not log in during the window; their logins are restored on ${names.newPrimary}.`,
    );
  }
  const { preparedXacts, syncStandbyNamesCleared } = prepareRecord.parse(prepared);
  if (typeof syncStandbyNamesCleared === 'string') {
    lines.push(
      `• The standby had \`synchronous_standby_names = '${syncStandbyNamesCleared}'\`, naming servers that do not stream from it; it was cleared before the promotion.`,
    );
  }
  if (preparedXacts && preparedXacts.length > 0) {
    lines.push(
      `• ${preparedXacts.length} prepared transaction(s) moved to ${names.newPrimary} still prepared: ${preparedXacts.join(', ')}.`,
    );
  }
  lines.push(...clientLines(promoted));
  const sessions = promoted.oldPrimarySessions;
  if (typeof sessions === 'number') {
    lines.push(
      sessions === 0
        ? `• No ${names.sessions} session is left on ${names.oldPrimary}.`
        : `• :warning: ${sessions} session(s) were still on ${names.oldPrimary} after the switch (they can no longer log in).`,
    );
  }
  if (typeof promoted.routeReport === 'string') lines.push(`• Route:\n${promoted.routeReport}`);
  return lines;
}

/** The client-side figures for the report's output: the pause and what the probe saw. */
export function clientFigures(promoted: FenceProgress): JsonObject {
  const pooler = promoted.pgbouncer;
  if (!pooler) return {};
  const { pausedAtMs, resumedAtMs, figures } = pooler;
  return {
    clientPauseMs: pausedAtMs !== undefined && resumedAtMs !== undefined ? resumedAtMs - pausedAtMs : null,
    clientLongestStallMs: figures?.longestStallMs ?? null,
    clientErrors: figures?.errors ?? null,
  };
}

/** What clients saw through PgBouncer: the pause, the probe's longest stall and its errors. */
function clientLines(promoted: FenceProgress): string[] {
  const pooler = promoted.pgbouncer;
  if (!pooler) return [];
  const { pausedAtMs, resumedAtMs, figures } = pooler;
  const lines: string[] = [];
  if (pausedAtMs !== undefined && resumedAtMs !== undefined)
    lines.push(
      `• Clients waited in PgBouncer for ${resumedAtMs - pausedAtMs} ms (PAUSE → RESUME, the route inside).`,
    );
  if (figures) {
    lines.push(
      `• A client writing through PgBouncer the whole time: longest stall ${figures.longestStallMs} ms, ${figures.errors} error(s) in ${figures.writes} writes.`,
    );
  }
  return lines;
}
