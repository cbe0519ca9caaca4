// The form parameters of a Query request (Action=...&Version=...&VolumeId.1=...), read by name.
// EC2 flattens lists (`VolumeId.1`, `TagSpecification.1.Tag.1.Key`); RDS wraps them
// (`Filters.Filter.1.Values.Value.1`): callers name the full prefix of the list they read.
import { AwsError, invalidParameterValue, missingParameter } from './aws-error';

export class QueryParams {
  private constructor(
    private readonly values: ReadonlyMap<string, string>,
    private readonly prefix: string,
  ) {}

  static parse(body: string): QueryParams {
    return new QueryParams(new Map(new URLSearchParams(body)), '');
  }

  string(name: string): string | undefined {
    return this.values.get(this.prefix + name);
  }

  required(name: string): string {
    const value = this.string(name);
    if (value === undefined || value === '') throw missingParameter(this.prefix + name);
    return value;
  }

  bool(name: string): boolean | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    if (value === 'true') return true;
    if (value === 'false') return false;
    throw invalidParameterValue(
      `Value (${value}) for parameter ${this.prefix + name} is invalid. Expected: 'true' or 'false'.`,
    );
  }

  int(name: string): number | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    const number = Number(value);
    if (!Number.isInteger(number)) {
      throw invalidParameterValue(
        `Value (${value}) for parameter ${this.prefix + name} is invalid. Expected an integer.`,
      );
    }
    return number;
  }

  /** A numbered list of values: `name.1`, `name.2`, ... (stops at the first gap, as AWS reads it). */
  list(name: string): string[] {
    const found: string[] = [];
    for (let index = 1; ; index += 1) {
      const value = this.string(`${name}.${index}`);
      if (value === undefined) return found;
      found.push(value);
    }
  }

  /** A numbered list of structures: `name.1.X`, `name.2.X`, ..., each read on its own. */
  structs(name: string): QueryParams[] {
    const found: QueryParams[] = [];
    for (let index = 1; ; index += 1) {
      const scoped = this.scope(`${name}.${index}`);
      if (!scoped.hasAny()) return found;
      found.push(scoped);
    }
  }

  /** The members of one structure: `name.X`. */
  scope(name: string): QueryParams {
    return new QueryParams(this.values, `${this.prefix}${name}.`);
  }

  hasAny(): boolean {
    for (const key of this.values.keys()) if (key.startsWith(this.prefix)) return true;
    return false;
  }

  /** Every parameter but Action and Version, as sent (for the call log). */
  record(): Record<string, string> {
    const recorded: Record<string, string> = {};
    for (const [key, value] of this.values) {
      if (key !== 'Action' && key !== 'Version') recorded[key] = value;
    }
    return recorded;
  }
}

export { AwsError };
