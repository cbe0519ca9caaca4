// `{name}` and `{dotted.name}` in a hook's argv, filled from the step's variables. Each element stays
// one argument whatever the value holds (no shell, no re-splitting); `{{name}}` is a literal `{name}`.

const NAME = '[A-Za-z_][A-Za-z0-9_-]*(?:\\.[A-Za-z_][A-Za-z0-9_-]*)*';
const PLACEHOLDER = new RegExp(`\\{\\{(${NAME})\\}\\}|\\{(${NAME})\\}`, 'g');

export class UnknownPlaceholderError extends Error {
  constructor(
    readonly names: readonly string[],
    message: string,
  ) {
    super(message);
    this.name = 'UnknownPlaceholderError';
  }
}

/** The placeholder names used in `argv`, in order of first use (for checking a config before a run). */
export function placeholdersIn(argv: readonly string[]): string[] {
  const names = new Set<string>();
  for (const arg of argv) {
    for (const match of arg.matchAll(PLACEHOLDER)) if (match[2] !== undefined) names.add(match[2]);
  }
  return [...names];
}

/**
 * `argv` with every `{name}` replaced by `vars[name]`. Throws an UnknownPlaceholderError naming every
 * placeholder `vars` does not have, before anything is run.
 */
export function substitutePlaceholders(
  argv: readonly string[],
  vars: Readonly<Record<string, string>>,
): string[] {
  const unknown: string[] = [];
  const result = argv.map((arg) =>
    arg.replace(PLACEHOLDER, (whole, escaped: string | undefined, name: string | undefined) => {
      if (escaped !== undefined) return `{${escaped}}`;
      // Own properties only: `{constructor}` must not find Object.prototype.constructor.
      if (name !== undefined && Object.hasOwn(vars, name)) return vars[name] ?? '';
      unknown.push(name ?? whole);
      return whole;
    }),
  );
  if (unknown.length > 0) {
    const names = [...new Set(unknown)];
    const available = Object.keys(vars).sort();
    throw new UnknownPlaceholderError(
      names,
      `hook command ${JSON.stringify(argv[0] ?? '')}: ${describeUnknownPlaceholders(names, available)}` +
        ' (write {{name}} for a literal {name})',
    );
  }
  return result;
}

/** `unknown placeholder {x}; available here: {a}, {b}`: what every check of placeholders says. */
export function describeUnknownPlaceholders(
  unknown: readonly string[],
  available: readonly string[],
): string {
  const braced = (names: readonly string[]): string => names.map((name) => `{${name}}`).join(', ');
  return (
    `unknown placeholder${unknown.length > 1 ? 's' : ''} ${braced(unknown)}; ` +
    (available.length > 0 ? `available here: ${braced(available)}` : 'no placeholders are available here')
  );
}
