/**
 * Response schemas of the edge node routes.
 *
 * @module
 */
import { z } from "zod";
import { TIERS } from "../../actors/devices/mod.ts";
import { pageOf } from "../params.ts";
import { count, maybeEpochMs } from "./common.ts";

const latLon = z.object({ lat: z.number(), lon: z.number() });

/** An edge node as the API shows it. */
export const EDGE_NODE = z.object({
  id: z.string(),
  tier: z.enum(TIERS).nullable(),
  location: latLon.nullable(),
  capabilities: z.array(z.string()),
  limits: z.object({ cpu: z.number(), memory: z.number(), storage: z.number() })
    .describe("effective limits, % in use above which the node takes no work"),
  status: z.enum(["active", "inactive"]),
  metrics: z.object({
    cpu: z.number(),
    memory: z.number(),
    storage: z.number(),
    load: z.number(),
  }).nullable().describe("the last heartbeat"),
  lastHeartbeat: maybeEpochMs,
  heartbeatTimeout: z.number().describe("ms"),
  heartbeats: count,
  statusSince: maybeEpochMs,
  registeredAt: maybeEpochMs,
});

/** `GET /api/edge-nodes`. */
export const EDGE_NODE_PAGE = pageOf(EDGE_NODE);

/** `POST /api/route`. */
export const ROUTE = z.object({
  nodeId: z.string(),
  score: z.number().describe("1 / (1 + distance in km + load / 100)"),
});
