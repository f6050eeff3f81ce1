/**
 * Customer sessions, checkout, inventory and customer profiles:
 *
 * - `POST /api/sessions/:id/events` `{type, ts?, properties?}` → 202 once durable;
 * - `GET /api/sessions/:id` the customer's sessions, matched patterns, assessments;
 * - `POST /api/sessions/:id/checkout` `{checkoutId?, items: [{sku, price, quantity}]}`;
 * - `PUT|GET /api/inventory/:sku` `{available}`;
 * - `PUT|GET /api/customers/:id` `{creditLimit, riskScore, creditScore, timezone?}`.
 *
 * A session's id is its customer's: `PUT /api/customers/c-1` sets the profile the risk rules
 * and the checkout of `/api/sessions/c-1` use.
 *
 * @module
 */
import { z } from "zod";
import {
  CHECKOUT_SCHEMA,
  type CheckoutCommand,
  customerEvent,
  EVENT_SCHEMA,
  inventory,
  INVENTORY_ID,
  PROFILE_SCHEMA,
  session,
} from "../actors/sessions/mod.ts";
import { NotFoundError } from "../runtime/mod.ts";
import type { AppDeps } from "./deps.ts";
import { idOf, idParams } from "./params.ts";
import { ApiRoutes } from "./spec.ts";
import { CHECKOUT_RESULT, CUSTOMER, EVENT_RECEIPT, SESSION, STOCK } from "./responses/sessions.ts";

const customer = idParams(idOf("customer"));
const sku = z.strictObject({ sku: idOf("sku") });

const STOCK_SCHEMA = z.strictObject({
  available: z.number().int("a whole number").min(0).max(1e12).describe("units in stock"),
});

/** Routes under `/api`. */
export function sessionRoutes(deps: AppDeps): ApiRoutes {
  const { system, clock } = deps;
  const routes = new ApiRoutes(
    "sessions",
    "Customer sessions in event time, complex-event patterns and risk; checkout, inventory, " +
      "customer profiles.",
  );
  const sessionRef = (id: string) => system.ref(session, id);
  const inventoryRef = () => system.ref(inventory, INVENTORY_ID);

  routes.add({
    method: "post",
    path: "/sessions/:id/events",
    summary: "Record a customer event",
    description:
      "In event time: late events within the allowed lateness still count. 202 once durable.",
    params: customer,
    body: EVENT_SCHEMA,
    example: {
      type: "login",
      ts: "2026-05-01T02:00:00Z",
      properties: { location: { lat: 37.5, lon: 127 } },
    },
    responses: {
      202: { description: "the receipt", schema: EVENT_RECEIPT },
      422: {
        description: "`time_out_of_range`: `ts` is too far ahead of the server's clock " +
          "(`sessions.maxClockSkew`, 1 h by default)",
      },
    },
  }, async (c, { params: { id }, body }) => {
    const receipt = await sessionRef(id).ask("event", customerEvent(body, clock.now()));
    return c.json(receipt, 202);
  });

  routes.add({
    method: "get",
    path: "/sessions/:id",
    summary: "A customer's sessions",
    description: "Sessions, matched patterns and risk assessments.",
    params: customer,
    responses: {
      200: { description: "the customer's sessions", schema: SESSION },
      404: { description: "the customer has sent no event" },
    },
  }, async (c, { params: { id } }) => {
    const view = await sessionRef(id).ask("view");
    if (view === null) throw new NotFoundError(`customer ${id} has sent no event`);
    return c.json(view);
  });

  routes.add({
    method: "post",
    path: "/sessions/:id/checkout",
    summary: "Check out a basket",
    description:
      "All or nothing: `approved`, `approval_required` (a large total with a low credit score) " +
      "or `inventory_error` (nothing taken). Idempotent by `checkoutId`.",
    params: customer,
    body: CHECKOUT_SCHEMA,
    example: { checkoutId: "co-1", items: [{ sku: "sku-1", price: 12.5, quantity: 2 }] },
    responses: { 200: { description: "the decision", schema: CHECKOUT_RESULT } },
  }, async (c, { params: { id }, body }) => {
    const profile = await sessionRef(id).ask("profile");
    const command: CheckoutCommand = {
      checkoutId: body.checkoutId ?? crypto.randomUUID(),
      customer: id,
      items: body.items,
      creditScore: profile?.creditScore ?? null,
    };
    const { replayed, ...result } = await inventoryRef().ask("checkout", command);
    const risk = await sessionRef(id).ask("checkedOut", result);
    return c.json({ ...result, risk, replayed });
  });

  routes.add({
    method: "put",
    path: "/inventory/:sku",
    summary: "Set a sku's stock",
    params: sku,
    body: STOCK_SCHEMA,
    example: { available: 40 },
    responses: { 200: { description: "`{sku, available}`", schema: STOCK } },
  }, async (c, { params, body: { available } }) => {
    return c.json(await inventoryRef().ask("set", { sku: params.sku, available }));
  });

  routes.add({
    method: "get",
    path: "/inventory/:sku",
    summary: "A sku's stock",
    params: sku,
    responses: {
      200: { description: "`{sku, available}`", schema: STOCK },
      404: { description: "no stock record" },
    },
  }, async (c, { params }) => {
    const stock = await inventoryRef().ask("get", params.sku);
    if (stock === null) throw new NotFoundError(`sku ${params.sku} has no stock record`);
    return c.json(stock);
  });

  routes.add({
    method: "put",
    path: "/customers/:id",
    summary: "Set a customer's profile",
    description: "Used by the risk rules and the checkout of `/api/sessions/:id`.",
    params: customer,
    body: PROFILE_SCHEMA,
    example: { creditLimit: 500000, riskScore: 0.2, creditScore: 0.8, timezone: "Asia/Seoul" },
    responses: { 200: { description: "the profile", schema: CUSTOMER } },
  }, async (c, { params: { id }, body }) => {
    const profile = await sessionRef(id).ask("setProfile", body);
    return c.json({ customer: id, ...profile });
  });

  routes.add({
    method: "get",
    path: "/customers/:id",
    summary: "A customer's profile",
    params: customer,
    responses: {
      200: { description: "the profile", schema: CUSTOMER },
      404: { description: "no profile" },
    },
  }, async (c, { params: { id } }) => {
    const profile = await sessionRef(id).ask("profile");
    if (profile === null) throw new NotFoundError(`customer ${id} has no profile`);
    return c.json({ customer: id, ...profile });
  });

  return routes;
}
