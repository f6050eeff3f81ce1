/**
 * Customer sessions, checkout, inventory and customer profiles (SPEC §3.3):
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
import { Hono } from "hono";
import { z } from "zod";
import {
  type CheckoutCommand,
  type CheckoutResult,
  type CustomerEvent,
  type CustomerProfile,
  type EventReceipt,
  INVENTORY,
  INVENTORY_ID,
  parseCheckout,
  parseEvent,
  parseProfile,
  type RiskAssessment,
  SESSION,
  type SessionView,
} from "../actors/sessions/mod.ts";
import { checkId, parseWith } from "../actors/alerts/validation.ts";
import { NotFoundError } from "../runtime/mod.ts";
import { readJson } from "./body.ts";
import type { AppDeps } from "./deps.ts";

const stockSchema = z.strictObject({
  available: z.number().int("a whole number").min(0).max(1e12),
});

/** Routes under `/api`. */
export function sessionRoutes(deps: AppDeps): Hono {
  const { system, clock } = deps;
  const routes = new Hono();
  const session = (id: string) => system.ref(SESSION, id);
  const inventory = () => system.ref(INVENTORY, INVENTORY_ID);

  routes.post("/sessions/:id/events", async (c) => {
    const id = checkId(c.req.param("id"), "customer id");
    const event = parseEvent(await readJson(c), clock.now());
    const receipt = await session(id).ask("event", event satisfies CustomerEvent);
    return c.json(receipt as EventReceipt, 202);
  });

  routes.get("/sessions/:id", async (c) => {
    const id = checkId(c.req.param("id"), "customer id");
    const view = await session(id).ask("view") as SessionView | null;
    if (view === null) throw new NotFoundError(`customer ${id} has sent no event`);
    return c.json(view);
  });

  routes.post("/sessions/:id/checkout", async (c) => {
    const id = checkId(c.req.param("id"), "customer id");
    const request = parseCheckout(await readJson(c));
    const profile = await session(id).ask("profile") as CustomerProfile | null;
    const command: CheckoutCommand = {
      checkoutId: request.checkoutId ?? crypto.randomUUID(),
      customer: id,
      items: request.items,
      creditScore: profile?.creditScore ?? null,
    };
    const { replayed, ...result } = await inventory().ask("checkout", command) as
      & CheckoutResult
      & { replayed: boolean };
    const risk = await session(id).ask("checkedOut", result) as RiskAssessment | null;
    return c.json({ ...result, risk, replayed });
  });

  routes.put("/inventory/:sku", async (c) => {
    const sku = checkId(c.req.param("sku"), "sku");
    const { available } = parseWith(stockSchema, await readJson(c), '{"available": integer >= 0}');
    return c.json(await inventory().ask("set", { sku, available }));
  });

  routes.get("/inventory/:sku", async (c) => {
    const sku = checkId(c.req.param("sku"), "sku");
    const stock = await inventory().ask("get", sku);
    if (stock === null) throw new NotFoundError(`sku ${sku} has no stock record`);
    return c.json(stock);
  });

  routes.put("/customers/:id", async (c) => {
    const id = checkId(c.req.param("id"), "customer id");
    const profile = parseProfile(await readJson(c));
    return c.json({ customer: id, ...await session(id).ask("setProfile", profile) as object });
  });

  routes.get("/customers/:id", async (c) => {
    const id = checkId(c.req.param("id"), "customer id");
    const profile = await session(id).ask("profile") as CustomerProfile | null;
    if (profile === null) throw new NotFoundError(`customer ${id} has no profile`);
    return c.json({ customer: id, ...profile });
  });

  return routes;
}
