/**
 * Routing a device's work to an edge node: among the active nodes that have the
 * capability and are under all their limits, the one with the best
 * score = 1 / (1 + distance + load / 100), distance by haversine in kilometres (divided by
 * `distanceUnitKm`, 1 by default); ties go to the smallest node id.
 *
 * @module
 */
import { z } from "zod";
import type { Duration } from "../../runtime/mod.ts";
import { haversineKm, type LatLon } from "../shared/geo.ts";
import { parseOrThrow } from "../shared/validation.ts";
import { coordinates } from "./twin.ts";

/** Resource limits, percent: a node at or above one takes no work. */
export interface Limits {
  readonly cpu: number;
  readonly memory: number;
  readonly storage: number;
}

/** Edge node settings, with their defaults. */
export interface EdgeConfig {
  /** Inactive after this long without a heartbeat (a node may set its own). @default "PT30S" */
  readonly heartbeatTimeout: Duration;
  /** Limits of a node that sets none: CPU 80 %, memory 85 %, storage 90 %. */
  readonly limits: Limits;
  /** Routing distance = km / this (1: the score's distance is in km). @default 1 */
  readonly distanceUnitKm: number;
}

/**
 * The defaults: inactive after 30 s without a heartbeat; limits CPU 80 %, memory 85 %,
 * storage 90 %; distances in km.
 */
export const DEFAULT_EDGE: EdgeConfig = {
  heartbeatTimeout: "PT30S",
  limits: { cpu: 80, memory: 85, storage: 90 },
  distanceUnitKm: 1,
};

/** What the router knows of a node. */
export interface NodeCandidate {
  readonly id: string;
  readonly tier: string;
  readonly location: LatLon;
  readonly capabilities: readonly string[];
  readonly limits: Limits;
  readonly status: "active" | "inactive";
  /** Latest heartbeat: percentages and load; `null` before the first. */
  readonly metrics: {
    readonly cpu: number;
    readonly memory: number;
    readonly storage: number;
    readonly load: number;
  } | null;
  readonly lastHeartbeat: number | null;
}

/** A routing request (`POST /api/route`). */
export interface RouteRequest {
  readonly capability: string;
  readonly location: LatLon;
}

/** The chosen node. */
export interface RouteResult {
  readonly nodeId: string;
  readonly score: number;
}

/** Capability names: letters, digits, `_`, `-`, `.` and `:`, 1–64. */
export const CAPABILITY = /^[A-Za-z0-9_.:-]{1,64}$/;

/** A routing request body (`POST /api/route`). */
export const ROUTE_REQUEST_SCHEMA = z.strictObject({
  capability: z.string().regex(CAPABILITY, "capabilities hold letters, digits, _ - . : (1-64)"),
  location: coordinates,
});

/** Validates a routing request. @throws {ValidationError} */
export function parseRouteRequest(body: unknown): RouteRequest {
  return parseOrThrow(ROUTE_REQUEST_SCHEMA, body, "the routing request is not valid");
}

/** score = 1 / (1 + distance / unit + load / 100), in (0, 1]. */
export function scoreOf(distanceKm: number, load: number, distanceUnitKm = 1): number {
  return 1 / (1 + distanceKm / distanceUnitKm + load / 100);
}

/** Whether a node can take work of `capability`: active, capable, strictly under every limit. */
export function eligible(node: NodeCandidate, capability: string): boolean {
  const m = node.metrics;
  return node.status === "active" && m !== null && node.capabilities.includes(capability) &&
    m.cpu < node.limits.cpu && m.memory < node.limits.memory && m.storage < node.limits.storage;
}

/**
 * The best node for a request, or `null` when none is eligible. Deterministic: equal scores go
 * to the smallest id (by code unit), whatever the order of `nodes`.
 */
export function selectNode(
  nodes: Iterable<NodeCandidate>,
  request: RouteRequest,
  distanceUnitKm = 1,
): RouteResult | null {
  let best: RouteResult | null = null;
  for (const node of nodes) {
    if (!eligible(node, request.capability)) continue;
    const score = scoreOf(
      haversineKm(request.location, node.location),
      node.metrics!.load,
      distanceUnitKm,
    );
    if (best === null || score > best.score || (score === best.score && node.id < best.nodeId)) {
      best = { nodeId: node.id, score };
    }
  }
  return best;
}
