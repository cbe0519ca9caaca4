import { SecretRef } from './types';

/**
 * Freezes plain objects and arrays recursively. SecretRefs are frozen shallowly (their state is one
 * readonly field; the shared prototype is left alone). Other class instances are left as they are:
 * freezing a Map or Date does not make it immutable and may break it.
 */
export function deepFreeze<T>(value: T): T {
  if (value instanceof SecretRef) return Object.freeze(value);
  if (Array.isArray(value) || isPlainObject(value)) {
    for (const child of Object.values(value as object)) deepFreeze(child);
    return Object.freeze(value);
  }
  return value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
