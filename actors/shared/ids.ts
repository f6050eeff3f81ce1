/**
 * Ids of the things clients name in URLs and bodies — devices, edge nodes, terminals,
 * transactions, customers, skus, checkouts, webhooks: 1–128 letters, digits, `_` or `-`, so an
 * id is safe as a URL segment, a store key and a NATS subject token alike.
 *
 * @module
 */
import { ValidationError } from "../../runtime/mod.ts";

/** An entity id: 1–128 letters, digits, `_` or `-`. */
export const ENTITY_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Checks an id taken from a URL or a subject and returns it.
 * @param what what the id names, e.g. `"device id"`: it names the error and its message
 * @throws {ValidationError} at path `id` for anything but 1–128 letters, digits, `_` or `-`
 */
export function checkId(id: string, what: string): string {
  if (!ENTITY_ID.test(id)) {
    throw new ValidationError(`invalid ${what}`, [{
      path: "id",
      message: `${what}s hold 1-128 letters, digits, _ or -`,
    }]);
  }
  return id;
}
