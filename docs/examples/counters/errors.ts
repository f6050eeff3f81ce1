/**
 * Errors of the counters area. Each is a `FlotillaError` with a stable `code`: the HTTP app
 * renders it as a problem of that code and the error's status, with no route code of its own.
 *
 * @module
 */
import { FlotillaError } from "../../../runtime/mod.ts";

/** Adding would take a counter past its maximum. HTTP 409: add less, or raise the maximum. */
export class CounterFullError extends FlotillaError {
  constructor(max: number, count: number) {
    super(
      "counter_full",
      409,
      `the counter is at ${count} and may not pass ${max}; add at most ${max - count}`,
    );
    this.name = "CounterFullError";
  }
}
