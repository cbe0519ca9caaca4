// One seed for every fast-check property in a run: FC_SEED when given (to replay a failure), else
// a fresh one. `.ci/run` picks it, prints it and passes it down, so a CI failure can be replayed
// with `FC_SEED=<seed> npm test -- <file>`; fast-check's own failure message repeats it too.
import fc from 'fast-check';

export function fastCheckSeed(env: NodeJS.ProcessEnv = process.env): number {
  const given = env['FC_SEED'];
  if (given !== undefined && given !== '') {
    const seed = Number(given);
    if (!Number.isSafeInteger(seed))
      throw new Error(`FC_SEED must be an integer, got ${JSON.stringify(given)}`);
    return seed;
  }
  return Date.now() % 2 ** 31;
}

fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: fastCheckSeed() });
