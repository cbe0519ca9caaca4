import {
  placeholdersIn,
  substitutePlaceholders,
  UnknownPlaceholderError,
} from '../../../src/hooks/placeholders';

describe('substitutePlaceholders', () => {
  const vars = { target: 'orders-db', 'standby.host': '10.0.0.5', 'standby.port': '5432' };

  it('fills {name} and {dotted.name}, several per argument', () => {
    expect(
      substitutePlaceholders(['./repoint.sh', '{standby.host}', '--to={standby.host}:{standby.port}'], vars),
    ).toEqual(['./repoint.sh', '10.0.0.5', '--to=10.0.0.5:5432']);
  });

  it('never re-splits or re-reads a substituted value', () => {
    const tricky = { a: 'x y; rm -rf / $(id) {b}', b: 'B' };
    expect(substitutePlaceholders(['./x.sh', '{a}', '{b}'], tricky)).toEqual([
      './x.sh',
      'x y; rm -rf / $(id) {b}',
      'B',
    ]);
  });

  it('leaves braces that are not placeholders alone and reads {{name}} as a literal {name}', () => {
    expect(
      substitutePlaceholders(['awk', '{ print $1 }', '{"a": 1}', '{}', '{{target}}', '{{{target}}}'], vars),
    ).toEqual(['awk', '{ print $1 }', '{"a": 1}', '{}', '{target}', '{{target}}']);
  });

  it('throws before anything runs, naming every unknown placeholder and what is available', () => {
    let caught: unknown;
    try {
      substitutePlaceholders(['./x.sh', '{standby.hots}', '{primary.host}', '{standby.hots}'], vars);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UnknownPlaceholderError);
    expect((caught as UnknownPlaceholderError).names).toEqual(['standby.hots', 'primary.host']);
    expect((caught as Error).message).toBe(
      'hook command "./x.sh": unknown placeholders {standby.hots}, {primary.host}; available here: ' +
        '{standby.host}, {standby.port}, {target} (write {{name}} for a literal {name})',
    );
  });

  it('does not find names on Object.prototype', () => {
    expect(() => substitutePlaceholders(['./x.sh', '{constructor}'], {})).toThrow(
      'hook command "./x.sh": unknown placeholder {constructor}; no placeholders are available here',
    );
  });

  it('lists the placeholders a command uses', () => {
    expect(placeholdersIn(['./x.sh', '{a.b}:{c}', '{{literal}}', '{a.b}'])).toEqual(['a.b', 'c']);
  });
});
