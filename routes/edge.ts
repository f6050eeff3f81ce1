/**
 * Edge nodes and routing (SPEC §3.2): /api/edge-nodes, /api/route.
 *
 * @module
 */
import { Hono } from "hono";
import {
  edgeNode,
  edgeRegistry,
  NoEdgeNodeError,
  parseEdgeHeartbeat,
  parseEdgeRegistration,
  parseRouteRequest,
  REGISTRY_ID,
} from "../actors/mod.ts";
import { NotFoundError, ValidationError } from "../runtime/mod.ts";
import type { AppDeps } from "./deps.ts";
import { readJson } from "./body.ts";
import { afterParam, intParam, MAX_PAGE } from "./devices.ts";

const NODE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Checks an edge node id from a URL. @throws {ValidationError} */
export function checkNodeId(id: string): string {
  if (!NODE_ID.test(id)) {
    throw new ValidationError("invalid edge node id", [{
      path: "id",
      message: "edge node ids hold 1-128 letters, digits, _ or -",
    }]);
  }
  return id;
}

/** Routes under `/api`. */
export function edgeRoutes(deps: AppDeps): Hono {
  const { system } = deps;
  const routes = new Hono();
  const registry = () => system.ref(edgeRegistry, REGISTRY_ID);

  // Register or update: 201 with the node when new, 200 when updated.
  routes.put("/edge-nodes/:id", async (c) => {
    const id = checkNodeId(c.req.param("id"));
    const registration = parseEdgeRegistration(await readJson(c));
    const { created, node } = await system.ref(edgeNode, id).ask("register", registration);
    return c.json(node, created ? 201 : 200);
  });

  // A heartbeat {cpu, memory, storage, load}: 200 with the node; 404 for an unregistered node.
  routes.post("/edge-nodes/:id/heartbeat", async (c) => {
    const id = checkNodeId(c.req.param("id"));
    const heartbeat = parseEdgeHeartbeat(await readJson(c));
    return c.json(await system.ref(edgeNode, id).ask("heartbeat", heartbeat));
  });

  // Every node, a page at a time: {items, next}.
  routes.get("/edge-nodes", async (c) => {
    const limit = intParam(c, "limit", 100, 1, MAX_PAGE);
    const after = afterParam(c, checkNodeId);
    return c.json(await registry().ask("list", after === undefined ? { limit } : { after, limit }));
  });

  routes.get("/edge-nodes/:id", async (c) => {
    const id = checkNodeId(c.req.param("id"));
    const node = await system.ref(edgeNode, id).ask("view");
    if (node === null) throw new NotFoundError(`edge node ${id} is not registered`);
    return c.json(node);
  });

  // {capability, location: {lat, lon}} → {nodeId, score}, or 503 when no node is available.
  routes.post("/route", async (c) => {
    const request = parseRouteRequest(await readJson(c));
    const result = await registry().ask("route", request);
    if (result === null) throw new NoEdgeNodeError(request.capability);
    return c.json(result);
  });

  return routes;
}
