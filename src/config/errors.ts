/**
 * A configuration that cannot be used. Carries every problem found, one line each, so an operator
 * fixes them all in one pass instead of one per restart.
 */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
    this.problems = Object.freeze([...problems]);
  }
}
