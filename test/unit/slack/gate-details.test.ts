// What a gate prompt says about replication lag: the newest background sample, or, when the gate
// opened before the first one, the lag that the check right before it read itself.
import { describeGate } from '../../../src/slack/gate-details';
import { at, makeRun, stepOf } from './fixtures';

const GATE = 3; // approve-promotion, after wait-lag

function runAtGate(waitLagOutput: Record<string, unknown> | null) {
  const run = makeRun();
  for (let i = 0; i < GATE; i++) stepOf(run, i).state = 'succeeded';
  stepOf(run, GATE - 1).output = waitLagOutput as never;
  return run;
}

describe('the lag shown with a gate', () => {
  it('is the lag the check before the gate read, when no sample exists yet', () => {
    const run = runAtGate({ bytes: 392, seconds: 0.8 });
    const { conditions } = describeGate(run, stepOf(run, GATE), undefined);
    expect(conditions).toContainEqual({ label: 'Replication lag', value: '392 B / 0.8 s' });
  });

  it('is the newest sample when there is one', () => {
    const run = runAtGate({ bytes: 392, seconds: 0.8 });
    const sample = { runId: run.id, at: at(5_000), bytes: 2048, seconds: 0.1 };
    const { conditions } = describeGate(run, stepOf(run, GATE), sample);
    expect(conditions).toContainEqual({ label: 'Replication lag', value: '2.0 kB / 0.1 s' });
  });

  it('is left out when nothing measured it', () => {
    for (const output of [null, { bytes: null, seconds: null }, { fenced: true }]) {
      const run = runAtGate(output);
      const { conditions } = describeGate(run, stepOf(run, GATE), undefined);
      expect(conditions.map((condition) => condition.label)).not.toContain('Replication lag');
    }
  });
});
