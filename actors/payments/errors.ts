/**
 * Errors of the payments area, rendered by the HTTP app as problems like every `FlotillaError`
 * (their `code` is the problem's `type`, stable for clients).
 *
 * @module
 */
import { FlotillaError } from "../../runtime/mod.ts";

/**
 * A transaction id was reused with another amount, currency or card: a retry must repeat the
 * request unchanged, a new payment needs a new id. HTTP 409.
 */
export class IdempotencyConflictError extends FlotillaError {
  constructor(message: string) {
    super("idempotency_conflict", 409, message);
    this.name = "IdempotencyConflictError";
  }
}
