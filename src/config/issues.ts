// Turns zod issues into "path: problem" pairs an operator can act on.
import type { z } from 'zod';

import { formatPath } from './paths';

export interface Problem {
  path: string;
  message: string;
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
  tuple: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  null: 'null',
};

/** The kind of a value, never its content: a misplaced value may be a secret. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'boolean') return String(value);
  return `a ${typeof value}`;
}

/**
 * Error map for parsing config: plain-language defaults for schemas (strategy schemas included)
 * that do not set their own messages. Returns undefined to keep zod's message otherwise.
 */
export const configErrorMap: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'is required';
    return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${kindOf(issue.input)}`;
  }
  if (issue.code === 'invalid_value') {
    return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return undefined;
};

/** Options for safeParse in config code. */
export const CONFIG_PARSE_OPTIONS = { error: configErrorMap } as const;

/**
 * One Problem per issue; an unknown-keys issue becomes one Problem per key, with a suggestion when
 * `knownKeys` (for the object at that path) has a close match, since most unknown keys are typos.
 */
export function problemsFromIssues(
  issues: readonly z.core.$ZodIssue[],
  base: readonly PropertyKey[] = [],
  knownKeys: (path: readonly PropertyKey[]) => readonly string[] = () => [],
): Problem[] {
  return issues.flatMap((issue) => {
    const path = [...base, ...issue.path];
    if (issue.code !== 'unrecognized_keys') return [{ path: formatPath(path), message: issue.message }];
    return issue.keys.map((key) => unknownKeyProblem([...path, key], knownKeys(path)));
  });
}

export function unknownKeyProblem(path: readonly PropertyKey[], knownKeys: readonly string[]): Problem {
  const suggestion = closest(String(path[path.length - 1]), knownKeys);
  return {
    path: formatPath(path),
    message: suggestion === undefined ? 'unknown key' : `unknown key (did you mean "${suggestion}"?)`,
  };
}

function closest(key: string, candidates: readonly string[]): string | undefined {
  const limit = key.length <= 4 ? 1 : 2;
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
