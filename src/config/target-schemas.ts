// Schemas for the parts of the targets file every strategy shares: defaults and the common keys.
import { z } from 'zod';

import { cronProblem, isTimeZone } from '../windows';
import { describeValue } from './paths';
import { durationOrZeroSchema, durationSchema } from './units';

const TARGET_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const CHANNEL_ID = /^[CG][A-Z0-9]+$/;
const APPROVER_ID = /^[UWS][A-Z0-9]+$/;

/** Slack user ids (U…, W… on Enterprise Grid); S… ids are user groups. */
export const isUserId = (id: string): boolean => id.startsWith('U') || id.startsWith('W');

function patternString(pattern: RegExp, what: string) {
  const refused = (input: unknown): string => `must be ${what}, got ${describeValue(input)}`;
  return z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : refused(issue.input)) })
    .refine((text) => pattern.test(text), { error: (issue) => refused(issue.input) });
}

const channelSchema = patternString(
  CHANNEL_ID,
  'a Slack channel id such as C0123456789 (C or G, then capital letters and digits; not a #name)',
);

const approverSchema = patternString(
  APPROVER_ID,
  'a Slack user id (U… or W…) or user-group id (S…), such as U0AAAAAAA (not an @name)',
);

/** A non-empty list of people: user and user-group ids, each once. */
function peopleSchema(one: string) {
  return z
    .array(approverSchema, { error: 'must be a list of Slack user or user-group ids' })
    .min(1, { error: `must list at least one ${one}` })
    .superRefine((ids, ctx) => {
      ids.forEach((id, index) => {
        if (ids.indexOf(id) !== index) {
          ctx.addIssue({ code: 'custom', path: [index], message: `duplicate ${one} ${id}` });
        }
      });
    });
}

const approversSchema = peopleSchema('approver');

const wholeNumberError = (issue: { input?: unknown }) =>
  issue.input === undefined
    ? 'is required'
    : `must be a whole number of at least 1, got ${describeValue(issue.input)}`;

const sharedShape = {
  channel: channelSchema.optional(),
  approvers: approversSchema.optional(),
  /** Who may start, schedule and abort; unset: anyone in the channel starts and schedules. */
  operators: peopleSchema('operator').optional(),
  approvalTimeout: durationSchema.optional(),
  requiredApprovals: z.int({ error: wholeNumberError }).min(1, { error: wholeNumberError }).optional(),
  allowSelfApproval: z.boolean({ error: 'must be true or false' }).optional(),
  /** Refuse to start or schedule a run outside the target's windows. */
  requireWindow: z.boolean({ error: 'must be true or false' }).optional(),
  /** Least time between two cutovers of a target; 0 = none. */
  cooldown: durationOrZeroSchema.optional(),
  /** How long before a scheduled start the channel is reminded; 0 = no reminder. */
  reminder: durationOrZeroSchema.optional(),
};

export const defaultsSchema = z.object(sharedShape, { error: 'must be a mapping' }).strict();
export type Defaults = z.output<typeof defaultsSchema>;

// Field count here, for the clearest message; the expression itself is checked with cron-parser
// in windowSchema, once the time zone is known.
const hasCronFieldCount = (text: string): boolean => {
  const fields = text.trim().split(/\s+/).length;
  return fields === 5 || fields === 6;
};

const cronSchema = z.string({ error: 'is required' }).refine(hasCronFieldCount, {
  error: (issue) =>
    `must be a cron expression with 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), got ${describeValue(issue.input)}`,
});

// A timezone is required: a window's hours mean nothing without one, and a default would be a guess.
const timezoneSchema = z
  .string({ error: 'is required (an IANA time zone such as UTC or Europe/Berlin)' })
  .refine(isTimeZone, {
    error: (issue) =>
      `must be an IANA time zone such as UTC or Europe/Berlin, got ${describeValue(issue.input)}`,
  });

const windowSchema = z
  .object(
    { cron: cronSchema, duration: durationSchema, timezone: timezoneSchema },
    { error: 'must be a mapping' },
  )
  .strict()
  .superRefine(({ cron, timezone }, ctx) => {
    // Already reported above; zod still runs this refinement after a field's refinement failed.
    if (!hasCronFieldCount(cron) || !isTimeZone(timezone)) return;
    const problem = cronProblem(cron.trim(), timezone);
    if (problem !== null) {
      ctx.addIssue({
        code: 'custom',
        path: ['cron'],
        message: `is not a valid cron expression (${problem}), got ${describeValue(cron)}`,
      });
    }
  })
  .transform(({ cron, duration, timezone }) => ({ cron: cron.trim(), durationMs: duration, timezone }));

export const commonSchema = z
  .object(
    {
      name: patternString(
        TARGET_NAME,
        'a target name of lowercase letters, digits, ".", "_" and "-" (at most 63, starting with a letter or digit)',
      ),
      strategy: z.string({
        error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string'),
      }),
      ...sharedShape,
      windows: z.array(windowSchema, { error: 'must be a list of windows' }).optional(),
    },
    { error: 'must be a mapping' },
  )
  .strict();

/** Keys handled here; every other key of a target entry belongs to its strategy. */
export const COMMON_KEYS: readonly string[] = Object.keys(commonSchema.shape);
export const DEFAULT_KEYS: readonly string[] = Object.keys(defaultsSchema.shape);
