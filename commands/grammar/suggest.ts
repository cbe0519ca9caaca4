// "Did you mean …?" — pure, small, and shared by the /cutover grammar and the target lookup.

/**
 * Optimal-string-alignment distance (Damerau–Levenshtein restricted to one edit per substring):
 * insertions, deletions, substitutions and transpositions of adjacent characters cost 1.
 * Works on code points, so an emoji or an accented letter counts as one character.
 */
export function editDistance(a: string, b: string): number {
  const s = Array.from(a);
  const t = Array.from(b);
  if (s.length === 0) return t.length;
  if (t.length === 0) return s.length;
  let prevPrev: number[] = [];
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const row = [i];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) {
        best = Math.min(best, prevPrev[j - 2]! + 1);
      }
      row.push(best);
    }
    prevPrev = prev;
    prev = row;
  }
  return prev[t.length]!;
}

/** How many edits still count as a typo: a third of the longer name, at least 1. */
export function typoCutoff(a: string, b: string): number {
  return Math.max(1, Math.floor(Math.max(Array.from(a).length, Array.from(b).length) / 3));
}

// Tiers, best first.
const EXACT = 0;
const PREFIX = 1; // the word starts a candidate: "sched" -> "schedule"
const CONTAINS = 2; // the word is inside a candidate, or a candidate starts the word: "db" -> "orders-db"
const TYPO = 3; // within the edit-distance cutoff

/**
 * The candidates closest to `word`, best first, at most `max` of them (case-insensitive; candidates
 * are returned as given, duplicates once). Prefix and substring matches rank before typo matches;
 * inside a tier, fewer edits (or a shorter completion) first, then shorter names, then A→Z.
 * Words too far from every candidate give `[]`.
 */
export function closestNames(word: string, candidates: readonly string[], max = 3): string[] {
  const w = word.trim().toLowerCase();
  if (w === '' || !(max > 0)) return [];
  const wLen = Array.from(w).length;
  const scored: { name: string; tier: number; score: number }[] = [];
  const seen = new Set<string>();
  for (const name of candidates) {
    if (seen.has(name)) continue;
    seen.add(name);
    const c = name.toLowerCase();
    if (c === '') continue;
    const cLen = Array.from(c).length;
    if (c === w) {
      scored.push({ name, tier: EXACT, score: 0 });
    } else if (wLen >= 2 && c.startsWith(w)) {
      scored.push({ name, tier: PREFIX, score: cLen - wLen });
    } else if ((wLen >= 3 && c.includes(w)) || (cLen >= 3 && w.startsWith(c))) {
      scored.push({ name, tier: CONTAINS, score: Math.abs(cLen - wLen) });
    } else {
      const cutoff = typoCutoff(w, c);
      // The length difference is a lower bound of the distance: skip the quadratic work when it is hopeless.
      if (Math.abs(cLen - wLen) > cutoff) continue;
      const distance = editDistance(w, c);
      if (distance <= cutoff) scored.push({ name, tier: TYPO, score: distance });
    }
  }
  scored.sort(
    (x, y) =>
      x.tier - y.tier ||
      x.score - y.score ||
      x.name.length - y.name.length ||
      (x.name < y.name ? -1 : x.name > y.name ? 1 : 0),
  );
  return scored.slice(0, Math.floor(max)).map((s) => s.name);
}

/** "a", "a or b", "a, b or c" — for messages. */
export function orList(names: readonly string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]!}`;
}
