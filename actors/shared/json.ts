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
