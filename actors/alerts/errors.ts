/**
 * Errors of the alerts area, rendered by the HTTP app as problems like every `FlotillaError`
 * (their `code` is the problem's `type`, stable for clients).
 *
 * @module
 */
import { FlotillaError } from "../../runtime/mod.ts";

/**
 * An operator tried to acknowledge an alert that is already cleared. HTTP 409: a cleared alert
 * stays cleared; a new occurrence of its condition raises a new alert.
 */
export class AlertClearedError extends FlotillaError {
  constructor(id: string) {
    super(
      "alert_cleared",
      409,
      `alert ${id} is already cleared; a cleared alert cannot be acknowledged`,
    );
    this.name = "AlertClearedError";
  }
}
