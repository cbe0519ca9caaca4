// WAL positions and WAL file names as PostgreSQL prints them: pure arithmetic, no I/O.
//
// An LSN (`16/B374D848`) is a 64-bit byte position in the WAL, printed as two hex halves. Nothing here
// imports `pg` or talks to a server.

const LSN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

/** `16/B374D848` -> 0x16B374D848n. Throws on anything that is not an LSN. */
export function lsnToBigInt(lsn: string): bigint {
  const match = LSN.exec(lsn.trim());
  if (!match) throw new Error(`not a PostgreSQL LSN: ${JSON.stringify(lsn)}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** Bytes from `b` to `a` (a - b; negative when `a` is behind `b`), like pg_wal_lsn_diff(a, b). */
export function lsnDiff(a: string, b: string): number {
  return Number(lsnToBigInt(a) - lsnToBigInt(b));
}

/** A WAL position has reached `target`, allowing for a target that points just past a page header. */
export function walReached(position: bigint, target: bigint): boolean {
  if (position >= target) return true;
  // pg_current_wal_insert_lsn() at a page boundary points after the page header (24 bytes, 40 on the first
  // page of a segment) while write/replay positions stop at the boundary itself.
  const pageOffset = target % 8192n;
  return (pageOffset === 24n || pageOffset === 40n) && position >= target - pageOffset;
}

/** The timeline in a WAL file name (`000000020000000000000003` -> 2). */
export function timelineOfWalFile(walFileName: string): number {
  if (!/^[0-9A-Fa-f]{24}$/.test(walFileName)) throw new Error(`not a WAL file name: ${walFileName}`);
  return parseInt(walFileName.slice(0, 8), 16);
}
