/**
 * The counters' routes, declared in the route registry: the zod schemas below validate every
 * request and are what `/openapi.json` shows.
 *
 * - `POST /api/counters/:id/add` `{n}` → 200 the counter, once durable; 409 `counter_full`;
 * - `GET /api/counters/:id` → the counter; 404 for one never added to.
 *
 * @module
 */
import { z } from "zod";
import type { AppDeps } from "../../../routes/deps.ts";
import { idOf, idParams } from "../../../routes/params.ts";
import { ApiRoutes } from "../../../routes/spec.ts";
import { NotFoundError } from "../../../runtime/mod.ts";
import { counter } from "./mod.ts";

/** The body of `add`. Every rule is one JSON Schema can say, so the document shows it. */
export const ADD_SCHEMA = z.strictObject({
  n: z.number().int("a whole number").min(1).max(100).describe("how much to add, 1-100"),
});

/** A counter as the routes answer it (kept in `routes/responses/<area>.ts` in the project). */
export const COUNTER_RESPONSE = z.object({
  id: z.string(),
  count: z.number().int().min(0),
  changedAt: z.number().nullable().describe("epoch milliseconds; null before the first add"),
});

/** Routes under `/api`. */
export function counterRoutes(deps: AppDeps): ApiRoutes {
  const routes = new ApiRoutes("counters", "Counters: the worked example of CONTRIBUTING.md.");
  const params = idParams(idOf("counter"));
  const ref = (id: string) => deps.system.ref(counter, id);

  routes.add({
    method: "post",
    path: "/counters/:id/add",
    summary: "Add to a counter",
    description: "200 once the new count is durable. `counter_full` (409) past the maximum.",
    params,
    body: ADD_SCHEMA,
    example: { n: 2 },
    responses: {
      200: { description: "the counter", schema: COUNTER_RESPONSE },
      409: { description: "`counter_full`: the count would pass the maximum" },
    },
  }, async (c, { params: { id }, body }) => c.json(await ref(id).ask("add", body)));

  routes.add({
    method: "get",
    path: "/counters/:id",
    summary: "A counter",
    params,
    responses: {
      200: { description: "the counter", schema: COUNTER_RESPONSE },
      404: { description: "never added to" },
    },
  }, async (c, { params: { id } }) => {
    const counter = await ref(id).ask("get");
    if (counter === null) throw new NotFoundError(`counter ${id} has never been added to`);
    return c.json(counter);
  });

  return routes;
}
