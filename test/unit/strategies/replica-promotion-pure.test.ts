// The pure pieces of the replica promotion: what the stop hook's pg_controldata says, and
// synchronous_standby_names as PostgreSQL reads it (the real servers are in the integration tests).
import { readControlData } from '../../../src/strategies/replica-promotion/fence-modes';
import { parseSyncStandbys, satisfiedBy } from '../../../src/strategies/replica-promotion/sync-standbys';

const CONTROL = `pg_control version number:            1300
Catalog version number:               202209061
Database system identifier:           7449876543210987654
Database cluster state:               shut down
pg_control last modified:             Mon 07 Dec 2026 02:00:00 PM UTC
Latest checkpoint location:           0/3000060
Latest checkpoint's REDO location:    0/3000060
`;

describe('readControlData', () => {
  it('reads the state and the checkpoint location', () => {
    expect(readControlData(CONTROL)).toEqual({ state: 'shut down', checkpoint: '0/3000060' });
  });
  it('keeps a standby’s or a crashed server’s state as it is, for the fence to refuse', () => {
    expect(readControlData(CONTROL.replace('shut down', 'shut down in recovery')).state).toBe(
      'shut down in recovery',
    );
    expect(readControlData(CONTROL.replace('shut down', 'in production')).state).toBe('in production');
  });
  it('finds nothing in output that is not pg_controldata (a hook that only stops)', () => {
    expect(readControlData('waiting for server to shut down.... done\nserver stopped\n')).toEqual({
      state: null,
      checkpoint: null,
    });
    // The REDO line is not the checkpoint location.
    expect(readControlData("Latest checkpoint's REDO location:    0/3000060\n").checkpoint).toBeNull();
  });
});

describe('synchronous_standby_names', () => {
  it('reads the three forms PostgreSQL accepts', () => {
    expect(parseSyncStandbys('')).toBeNull();
    expect(parseSyncStandbys('  ')).toBeNull();
    expect(parseSyncStandbys('s1, s2')).toEqual({ method: 'first', count: 1, names: ['s1', 's2'] });
    expect(parseSyncStandbys('FIRST 2 (s1, s2, s3)')).toEqual({
      method: 'first',
      count: 2,
      names: ['s1', 's2', 's3'],
    });
    expect(parseSyncStandbys('2 (s1, s2)')).toEqual({ method: 'first', count: 2, names: ['s1', 's2'] });
    expect(parseSyncStandbys('any 1 ("Quoted, Name", *)')).toEqual({
      method: 'any',
      count: 1,
      names: ['Quoted, Name', '*'],
    });
  });
  it('refuses what PostgreSQL would not accept', () => {
    expect(() => parseSyncStandbys('FIRST 1 (s1,, s2)')).toThrow(/cannot read/);
    expect(() => parseSyncStandbys('s1 s2')).toThrow(/cannot read/);
  });
  it('is satisfied only by enough matching standbys streaming (names compared case-insensitively)', () => {
    expect(satisfiedBy(null, [])).toBe(true);
    expect(satisfiedBy(parseSyncStandbys('no_such_standby'), [])).toBe(false);
    expect(satisfiedBy(parseSyncStandbys('FIRST 1 (s1)'), ['S1'])).toBe(true);
    expect(satisfiedBy(parseSyncStandbys('ANY 2 (s1, s2, s3)'), ['s1', 'other'])).toBe(false);
    expect(satisfiedBy(parseSyncStandbys('ANY 2 (s1, s2, s3)'), ['s3', 's1'])).toBe(true);
    expect(satisfiedBy(parseSyncStandbys('*'), [])).toBe(false);
    expect(satisfiedBy(parseSyncStandbys('*'), ['anything'])).toBe(true);
  });
});
