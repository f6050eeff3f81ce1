/**
 * Small assertions for `Deno.test`. JSR (and with it `@std/assert`) is unreachable from this
 * project, so these cover what the tests need, with the same names and argument order as
 * `@std/assert` so switching later is a change of import.
 *
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "./helpers/assert.ts";
 * assertEquals(parse("a=1"), new Map([["a", 1]]));
 * assertThrows(() => parse("="), SyntaxError, "empty key");
 * ```
 *
 * @module
 */

/** Thrown when an assertion fails. */
export class AssertionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AssertionError";
  }
}

/** A class whose instances an error is expected to be; any constructor signature fits. */
// `never[]` parameters accept every constructor, without resorting to `any`.
export type ErrorClass<E extends Error = Error> = abstract new (...args: never[]) => E;

/** Fails with `msg` unless `cond` is truthy; narrows `cond` for the compiler. */
export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new AssertionError(msg);
}

/**
 * Fails unless `actual` and `expected` are deeply equal (see {@link equal}); the failure shows
 * both values and, for strings, the first line that differs.
 */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  if (equal(actual, expected)) return;
  let detail = `actual:\n${show(actual)}\n\nexpected:\n${show(expected)}`;
  if (typeof actual === "string" && typeof expected === "string") {
    const a = actual.split("\n"), e = expected.split("\n");
    let i = 0;
    while (a[i] === e[i]) i++;
    const line = (s: string | undefined) => s === undefined ? "(no such line)" : JSON.stringify(s);
    detail = `first difference at line ${i + 1}:\n  actual:   ${line(a[i])}\n  ` +
      `expected: ${line(e[i])}\n\n${detail}`;
  }
  throw new AssertionError(`${msg ? `${msg}: ` : ""}values are not equal\n${detail}`);
}

/** Fails unless `str` matches `regex`. */
export function assertMatch(str: string, regex: RegExp, msg?: string): void {
  if (regex.test(str)) return;
  throw new AssertionError(msg ?? `expected ${show(str)} to match ${regex}`);
}

/**
 * Calls `fn` and fails unless it throws, the error is an `ErrorClass` (when given) and its
 * message includes `msgIncludes` (when given). Returns the error for further checks.
 */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  ErrorClass?: ErrorClass<E>,
  msgIncludes?: string,
): E {
  let result: unknown;
  try {
    result = fn();
  } catch (error) {
    return checkError(error, ErrorClass, msgIncludes);
  }
  if (typeof (result as PromiseLike<unknown> | undefined)?.then === "function") {
    throw new AssertionError("expected a throw but got a promise: use assertRejects");
  }
  throw new AssertionError("expected the function to throw, but it returned");
}

/**
 * Awaits `fn()` and fails unless the promise rejects, the reason is an `ErrorClass` (when
 * given) and its message includes `msgIncludes` (when given). A synchronous throw fails too:
 * callers of an async API should not have to catch twice. Returns the rejection reason.
 */
export async function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  ErrorClass?: ErrorClass<E>,
  msgIncludes?: string,
): Promise<E> {
  let promise: PromiseLike<unknown>;
  try {
    promise = fn();
  } catch (error) {
    throw new AssertionError("expected a rejected promise, but the function threw", {
      cause: error,
    });
  }
  try {
    await promise;
  } catch (error) {
    return checkError(error, ErrorClass, msgIncludes);
  }
  throw new AssertionError("expected the promise to reject, but it resolved");
}

function checkError<E extends Error>(
  error: unknown,
  ErrorClass: ErrorClass<E> | undefined,
  msgIncludes: string | undefined,
): E {
  if (ErrorClass !== undefined && !(error instanceof ErrorClass)) {
    throw new AssertionError(`expected a ${ErrorClass.name} but got ${show(error)}`, {
      cause: error,
    });
  }
  if (msgIncludes !== undefined) {
    const message = error instanceof Error ? error.message : String(error);
    if (!message.includes(msgIncludes)) {
      throw new AssertionError(
        `expected the error message to include ${show(msgIncludes)} but it was ${show(message)}`,
        { cause: error },
      );
    }
  }
  return error as E;
}

/**
 * Deep equality: primitives by `Object.is` (so `NaN` equals `NaN`, `0` differs from `-0`);
 * objects need the same prototype and equal own enumerable keys; arrays, `Map` (by key),
 * `Set` (by deep membership), `Date`, `RegExp`, typed arrays, `ArrayBuffer` and `DataView`
 * (byte for byte) and `Error` (also `name` and `message`) compare by content. Cycles are fine.
 */
export function equal(a: unknown, b: unknown): boolean {
  return deepEqual(a, b, new Map());
}

// `pending` maps each object under comparison to its counterpart; meeting the same pair again
// means a cycle, which is equal so far. Pairs are removed when done, so a failed comparison
// inside a Set search cannot be mistaken for a success later.
function deepEqual(a: unknown, b: unknown, pending: Map<object, object>): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (pending.get(a) === b) return true;
  pending.set(a, b);
  try {
    return sameContent(a, b, pending);
  } finally {
    pending.delete(a);
  }
}

function sameContent(a: object, b: object, pending: Map<object, object>): boolean {
  const eq = (x: unknown, y: unknown) => deepEqual(x, y, pending);
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime());
  if (a instanceof RegExp) return String(a) === String(b);
  if (ArrayBuffer.isView(a) || a instanceof ArrayBuffer || a instanceof SharedArrayBuffer) {
    const x = bytes(a), y = bytes(b as typeof a);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  if (a instanceof Map) {
    const m = b as Map<unknown, unknown>;
    if (a.size !== m.size) return false;
    // A key is found by identity first, as `Map` does, then among keys `a` lacks by content.
    return [...a].every(([k, v]) =>
      m.has(k) ? eq(v, m.get(k)) : [...m].some(([mk, mv]) => !a.has(mk) && eq(k, mk) && eq(v, mv))
    );
  }
  if (a instanceof Set) {
    const s = b as Set<unknown>;
    return a.size === s.size && [...a].every((v) => s.has(v) || [...s].some((w) => eq(v, w)));
  }
  if (a instanceof WeakMap || a instanceof WeakSet || a instanceof Promise) return false;
  if (a instanceof Error && (a.name !== (b as Error).name || a.message !== (b as Error).message)) {
    return false;
  }
  const keys = (o: object) => Reflect.ownKeys(o).filter((k) => isEnum(o, k));
  const ka = keys(a), kb = keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) =>
    isEnum(b, k) &&
    eq((a as Record<PropertyKey, unknown>)[k], (b as Record<PropertyKey, unknown>)[k])
  );
}

function isEnum(o: object, k: PropertyKey): boolean {
  return Object.prototype.propertyIsEnumerable.call(o, k);
}

function bytes(v: ArrayBufferView | ArrayBufferLike): Uint8Array {
  return ArrayBuffer.isView(v)
    ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
    : new Uint8Array(v);
}

function show(v: unknown): string {
  return Deno.inspect(v, {
    depth: Infinity,
    iterableLimit: Infinity,
    strAbbreviateSize: Infinity,
    sorted: true,
    trailingComma: true,
    compact: false,
  });
}
