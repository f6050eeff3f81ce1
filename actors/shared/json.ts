/**
 * Plain data as a {@link JsonValue}: the event bus and the stores take JSON, and TypeScript
 * does not see an interface of JSON fields (which has no index signature) as one.
 *
 * @module
 */
import type { JsonValue } from "../../runtime/mod.ts";

/** `value`, typed as JSON. Only for plain data: no `Date`, `Map`, `undefined` or class instances. */
export function asJson<T extends object>(value: T): JsonValue {
  return value as unknown as JsonValue;
}

/**
 * Whether two JSON values are equal: the same scalars, arrays of equal items in the same order,
 * objects with the same keys (in any order) holding equal values.
 */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  const x = a as { readonly [key: string]: JsonValue };
  const y = b as { readonly [key: string]: JsonValue };
  const keys = Object.keys(x);
  if (keys.length !== Object.keys(y).length) return false;
  return keys.every((key) => Object.hasOwn(y, key) && jsonEqual(x[key], y[key]));
}
