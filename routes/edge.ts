/**
 * Edge nodes and routing: /api/edge-nodes, /api/route.
 *
 * @module
 */
import { z } from "zod";
import {
  EDGE_HEARTBEAT_SCHEMA,
  EDGE_REGISTRATION_SCHEMA,
  edgeNode,
  edgeRegistry,
  NoEdgeNodeError,
  REGISTRY_ID,
  ROUTE_REQUEST_SCHEMA,
} from "../actors/devices/mod.ts";
import { NotFoundError } from "../runtime/mod.ts";
import type { AppDeps } from "./deps.ts";
import { idOf, idParams, pageAfter, pageLimit } from "./params.ts";
import { ApiRoutes } from "./spec.ts";
import { EDGE_NODE, EDGE_NODE_PAGE, ROUTE } from "./responses/edge.ts";

/** An edge node id: 1–128 letters, digits, `_` or `-`. */
export const nodeId: z.ZodString = idOf("edge node");

const params = idParams(nodeId);

/** Routes under `/api`. */
export function edgeRoutes(deps: AppDeps): ApiRoutes {
  const { system } = deps;
  const routes = new ApiRoutes(
    "edge",
    "Edge nodes of the device / edge / fog / cloud tiers, their health, and routing to them.",
  );
  const registry = () => system.ref(edgeRegistry, REGISTRY_ID);

  routes.add({
    method: "put",
    path: "/edge-nodes/:id",
    summary: "Register or update an edge node",
    description: "`heartbeatTimeout` is milliseconds or an ISO-8601 duration (1 s to 30 days).",
    params,
    body: EDGE_REGISTRATION_SCHEMA,
    example: {
      tier: "edge",
      location: { lat: 37.5665, lon: 126.978 },
      capabilities: ["inference", "storage"],
      limits: { cpu: 80 },
    },
    responses: {
      200: { description: "updated: the node", schema: EDGE_NODE },
      201: { description: "registered: the node", schema: EDGE_NODE },
    },
  }, async (c, { params: { id }, body }) => {
    const { created, node } = await system.ref(edgeNode, id).ask("register", body);
    return c.json(node, created ? 201 : 200);
  });

  routes.add({
    method: "post",
    path: "/edge-nodes/:id/heartbeat",
    summary: "A heartbeat with the node's load",
    description: "Percentages of CPU, memory and storage in use, and the load.",
    params,
    body: EDGE_HEARTBEAT_SCHEMA,
    example: { cpu: 42.5, memory: 61, storage: 30, load: 0.7 },
    responses: {
      200: { description: "the node", schema: EDGE_NODE },
      404: { description: "the node is not registered" },
    },
  }, async (c, { params: { id }, body }) => {
    return c.json(await system.ref(edgeNode, id).ask("heartbeat", body));
  });

  routes.add({
    method: "get",
    path: "/edge-nodes",
    summary: "Every edge node, a page at a time",
    query: z.strictObject({ limit: pageLimit(100), after: pageAfter(nodeId) }),
    responses: { 200: { description: "`{items, next}`", schema: EDGE_NODE_PAGE } },
  }, async (c, { query: { limit, after } }) => {
    return c.json(await registry().ask("list", after === undefined ? { limit } : { after, limit }));
  });

  routes.add({
    method: "get",
    path: "/edge-nodes/:id",
    summary: "An edge node",
    description: "Tier, location, capabilities, limits, load, and health from its heartbeats.",
    params,
    responses: {
      200: { description: "the node", schema: EDGE_NODE },
      404: { description: "the node is not registered" },
    },
  }, async (c, { params: { id } }) => {
    const node = await system.ref(edgeNode, id).ask("view");
    if (node === null) throw new NotFoundError(`edge node ${id} is not registered`);
    return c.json(node);
  });

  routes.add({
    method: "post",
    path: "/route",
    summary: "Choose a node for a task",
    description: "The active node with the capability scoring best on distance and load.",
    body: ROUTE_REQUEST_SCHEMA,
    example: { capability: "inference", location: { lat: 37.5, lon: 127 } },
    responses: {
      200: {
        description: "the chosen node",
        schema: ROUTE,
      },
      503: {
        description:
          "`no_available_edge_node`: no active node with the capability is under its limits",
      },
    },
  }, async (c, { body }) => {
    const result = await registry().ask("route", body);
    if (result === null) throw new NoEdgeNodeError(body.capability);
    return c.json(result);
  });

  return routes;
}
