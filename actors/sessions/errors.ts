/**
 * Errors of the customer sessions area, rendered by the HTTP app as problems like every
 * `FlotillaError` (their `code` is the problem's `type`, stable for clients).
 *
 * @module
 */
import { FlotillaError } from "../../runtime/mod.ts";

/**
 * Setting the stock of a new sku while the inventory holds as many skus as it may. HTTP 409:
 * raise `sessions.checkout.maxSkus`, or reuse a sku.
 */
export class InventoryFullError extends FlotillaError {
  constructor(max: number) {
    super(
      "inventory_full",
      409,
      `the inventory holds at most ${max} skus; raise sessions.checkout.maxSkus`,
    );
    this.name = "InventoryFullError";
  }
}
