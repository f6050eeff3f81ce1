/**
 * The edge registry: one actor holding what the router needs of every edge node, fed by the
 * `edge-node` actors on every change (registration, heartbeat, status), so a routing request
 * is one in-memory pass over the nodes — no store scan per request.
 *
 * It is persisted like any actor, so routing works at once after a restart (statuses follow
 * the nodes' own heartbeat timeouts, which hold across restarts). Cost: one registry write per
 * commit batch in which a node changed, of a size proportional to the number of nodes — right
 * for hundreds of nodes; a larger fleet would shard the registry by region or capability.
 *
 * @module
 */
import { defineActor } from "../../runtime/mod.ts";
import {
  DEFAULT_EDGE,
  type EdgeConfig,
  type NodeCandidate,
  type RouteRequest,
  type RouteResult,
  selectNode,
} from "./routing.ts";

/** The actor type of the registry (one actor, id {@link REGISTRY_ID}). */
export const EDGE_REGISTRY = "edge-registry";
/** The id of the registry actor. */
export const REGISTRY_ID = "all";

interface RegistryState {
  nodes: Record<string, NodeCandidate>;
}

/** A page of nodes, ascending by id. */
export interface NodePage {
  readonly items: NodeCandidate[];
  /** Pass as `after` for the next page; `null` on the last. */
  readonly next: string | null;
}

/** The registry actor type, configured. */
export function edgeRegistryActor(edge: EdgeConfig) {
  return defineActor({
    name: EDGE_REGISTRY,
    initialState: (): RegistryState => ({ nodes: {} }),
    handlers: {
      /** A node's current description. */
      upsert(ctx, node: NodeCandidate) {
        ctx.state.nodes[node.id] = node;
      },
    },
    queries: {
      /** The best node for a request, or `null`. */
      route(ctx, request: RouteRequest): RouteResult | null {
        return selectNode(Object.values(ctx.state.nodes), request, edge.distanceUnitKm);
      },
      /** Nodes by id, a page at a time. */
      list(ctx, page: { after?: string; limit: number }): NodePage {
        const ids = Object.keys(ctx.state.nodes).sort();
        let start = 0;
        if (page.after !== undefined) {
          while (start < ids.length && ids[start]! <= page.after) start++;
        }
        const slice = ids.slice(start, start + page.limit);
        const more = start + page.limit < ids.length;
        return {
          items: slice.map((id) => ctx.state.nodes[id]!),
          next: more && slice.length > 0 ? slice[slice.length - 1]! : null,
        };
      },
    },
    options: { persistence: "snapshot", passivateAfter: null },
  });
}

/** The registry actor type with the default configuration, for typing refs (id {@link REGISTRY_ID}). */
export const edgeRegistry = edgeRegistryActor(DEFAULT_EDGE);
