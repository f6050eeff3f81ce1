/**
 * The edge node actor: one per node of the device / edge / fog / cloud tiers, with
 * its location, capabilities, resource limits, current load, and health from heartbeats — active
 * while heartbeats come within the timeout, inactive when they stop (timed like a device's
 * telemetry, see `watchdog.ts`). Every change is told to the `edge-registry` (which routes) and
 * published on the `nodes` topic.
 *
 * @module
 */
import { z } from "zod";
import {
  type ActorContext,
  defineActor,
  type JsonValue,
  NotFoundError,
  toMillis,
} from "../../runtime/mod.ts";
import type { ResolvedDevicesConfig } from "./config.ts";
import { EDGE_REGISTRY, REGISTRY_ID } from "./edge_registry.ts";
import type { LatLon } from "../shared/geo.ts";
import { CAPABILITY, type Limits, type NodeCandidate } from "./routing.ts";
import { parseOrThrow } from "../shared/validation.ts";
import { durationMs } from "../shared/schemas.ts";
import { coordinates, HEARTBEAT_BOUNDS } from "./twin.ts";
import {
  activated,
  armHeartbeat,
  checked,
  passivating,
  timerFired,
  wentOffline,
  wentOnline,
} from "./watchdog.ts";
import { resolveDevicesConfig } from "./config.ts";

/** The tiers a node may belong to, nearest the devices first. */
export const TIERS = ["device", "edge", "fog", "cloud"] as const;

/** A node's tier. */
export type Tier = (typeof TIERS)[number];

/** The actor type of edge nodes. */
export const EDGE_NODE = "edge-node";

/** A validated registration (`PUT /api/edge-nodes/:id`). */
export interface EdgeRegistration {
  readonly tier: Tier;
  readonly location: LatLon;
  readonly capabilities: readonly string[];
  readonly limits?: Partial<Limits>;
  /** ms */
  readonly heartbeatTimeout?: number;
}

/** A validated heartbeat: percentages of CPU, memory and storage in use, and the load. */
export interface EdgeHeartbeat {
  readonly cpu: number;
  readonly memory: number;
  readonly storage: number;
  readonly load: number;
}

const percent = z.number().min(0).max(100);

/** An edge node registration body (`PUT /api/edge-nodes/:id`). */
export const EDGE_REGISTRATION_SCHEMA = z.strictObject({
  tier: z.enum(TIERS, { error: `must be one of ${TIERS.join(", ")}` }),
  location: coordinates,
  capabilities: z.array(
    z.string().regex(CAPABILITY, "capabilities hold letters, digits, _ - . : (1-64)"),
  ).max(64).refine((c) => new Set(c).size === c.length, "lists a capability twice")
    .meta({ uniqueItems: true }),
  limits: z.strictObject({
    cpu: percent.optional(),
    memory: percent.optional(),
    storage: percent.optional(),
  }).optional(),
  heartbeatTimeout: durationMs(HEARTBEAT_BOUNDS.min, HEARTBEAT_BOUNDS.max).optional(),
});

/** A heartbeat body (`POST /api/edge-nodes/:id/heartbeat`). */
export const EDGE_HEARTBEAT_SCHEMA = z.strictObject({
  cpu: percent,
  memory: percent,
  storage: percent,
  load: z.number().min(0).max(1_000_000),
});

/** Validates `{tier, location: {lat, lon}, capabilities, limits?, heartbeatTimeout?}`. @throws {ValidationError} */
export function parseEdgeRegistration(body: unknown): EdgeRegistration {
  return parseOrThrow(
    EDGE_REGISTRATION_SCHEMA,
    body,
    "the edge node registration is not valid",
  ) as EdgeRegistration;
}

/** Validates `{cpu, memory, storage, load}`. @throws {ValidationError} */
export function parseEdgeHeartbeat(body: unknown): EdgeHeartbeat {
  return parseOrThrow(EDGE_HEARTBEAT_SCHEMA, body, "the heartbeat is not valid");
}

/** An edge node's state (plain JSON). */
export interface EdgeNodeState {
  registered: boolean;
  tier: Tier | null;
  location: LatLon | null;
  capabilities: string[];
  /** Effective limits (the node's own over the defaults). */
  limits: Limits;
  /** The node's own heartbeat timeout, ms. */
  heartbeatTimeout: number | null;
  metrics: EdgeHeartbeat | null;
  lastHeartbeat: number | null;
  heartbeats: number;
  status: "active" | "inactive";
  statusSince: number | null;
  registeredAt: number | null;
}

/** An edge node as the API shows it. */
export interface EdgeNodeView extends NodeCandidate {
  /** Effective heartbeat timeout, ms. */
  readonly heartbeatTimeout: number;
  readonly heartbeats: number;
  readonly statusSince: number | null;
  readonly registeredAt: number | null;
}

/** The edge node actor type, configured. */
export function edgeNodeActor(cfg: ResolvedDevicesConfig) {
  const shards = cfg.presence.shards;
  const defaultTimeout = toMillis(cfg.edge.heartbeatTimeout, "edge.heartbeatTimeout");
  const timeoutOf = (s: EdgeNodeState) => s.heartbeatTimeout ?? defaultTimeout;
  const deadlineOf = (s: EdgeNodeState) => (s.lastHeartbeat ?? -Infinity) + timeoutOf(s);

  function view(ctx: ActorContext<EdgeNodeState>): EdgeNodeView {
    const s = ctx.state;
    return {
      id: ctx.id,
      tier: s.tier ?? "edge",
      location: s.location ?? { lat: 0, lon: 0 },
      capabilities: s.capabilities,
      limits: s.limits,
      status: s.status,
      metrics: s.metrics,
      lastHeartbeat: s.lastHeartbeat,
      heartbeatTimeout: timeoutOf(s),
      heartbeats: s.heartbeats,
      statusSince: s.statusSince,
      registeredAt: s.registeredAt,
    };
  }

  /** Tells the registry and the `nodes` topic. */
  function publish(ctx: ActorContext<EdgeNodeState>, event: string): void {
    const v = view(ctx);
    ctx.tell({ type: EDGE_REGISTRY, id: REGISTRY_ID }, "upsert", v);
    ctx.emit("nodes", { event, ...v } as unknown as JsonValue, ctx.id);
  }

  return defineActor({
    name: EDGE_NODE,
    initialState: (): EdgeNodeState => ({
      registered: false,
      tier: null,
      location: null,
      capabilities: [],
      limits: cfg.edge.limits,
      heartbeatTimeout: null,
      metrics: null,
      lastHeartbeat: null,
      heartbeats: 0,
      status: "inactive",
      statusSince: null,
      registeredAt: null,
    }),
    handlers: {
      /** Registers or updates the node (a whole replacement of its description). */
      register(ctx, reg: EdgeRegistration): { created: boolean; node: EdgeNodeView } {
        const s = ctx.state;
        const created = !s.registered;
        const before = timeoutOf(s);
        s.registered = true;
        s.tier = reg.tier;
        s.location = { lat: reg.location.lat, lon: reg.location.lon };
        s.capabilities = [...reg.capabilities];
        s.limits = { ...cfg.edge.limits, ...reg.limits };
        s.heartbeatTimeout = reg.heartbeatTimeout ?? null;
        if (created) s.registeredAt = ctx.now();
        if (s.status === "active" && timeoutOf(s) !== before) {
          wentOnline(ctx, shards, timeoutOf(s), deadlineOf(s));
        }
        publish(ctx, created ? "registered" : "updated");
        return { created, node: view(ctx) };
      },

      /** A heartbeat: load and health; the node is active until the timeout passes without one. */
      heartbeat(ctx, hb: EdgeHeartbeat): EdgeNodeView {
        const s = ctx.state;
        if (!s.registered) {
          throw new NotFoundError(
            `edge node ${ctx.id} is not registered; PUT /api/edge-nodes/${ctx.id} first`,
          );
        }
        const now = ctx.now();
        s.metrics = { cpu: hb.cpu, memory: hb.memory, storage: hb.storage, load: hb.load };
        s.lastHeartbeat = Math.max(s.lastHeartbeat ?? now, now);
        s.heartbeats++;
        if (s.status === "active") {
          armHeartbeat(ctx, deadlineOf(s));
          publish(ctx, "heartbeat");
        } else {
          s.status = "active";
          s.statusSince = now;
          wentOnline(ctx, shards, timeoutOf(s), deadlineOf(s));
          publish(ctx, "active");
        }
        return view(ctx);
      },

      /** From the heartbeat timer or the presence shard: inactive if still silent. */
      goInactive(ctx) {
        const s = ctx.state;
        if (s.status !== "active") return;
        const deadline = deadlineOf(s);
        const now = ctx.now();
        if (now < deadline) {
          armHeartbeat(ctx, deadline);
          return;
        }
        s.status = "inactive";
        s.statusSince = now;
        wentOffline(ctx, shards);
        publish(ctx, "inactive");
      },
    },
    queries: {
      /** The node, or `null` when not registered. */
      view(ctx): EdgeNodeView | null {
        return ctx.state.registered ? view(ctx) : null;
      },
      heartbeatCheck(ctx) {
        timerFired(ctx, ctx.state.status === "active", deadlineOf(ctx.state), "goInactive");
      },
      presenceCheck(ctx) {
        checked(ctx, shards, ctx.state.status === "active", deadlineOf(ctx.state), "goInactive");
      },
    },
    onActivate(ctx) {
      activated(ctx, shards, ctx.state.status === "active", deadlineOf(ctx.state));
    },
    onPassivate(ctx) {
      passivating(ctx, shards, ctx.state.status === "active", deadlineOf(ctx.state));
    },
    options: { persistence: "snapshot", passivateAfter: cfg.passivateAfter },
  });
}

/** The edge node actor type with the default configuration, for typing refs. */
export const edgeNode = edgeNodeActor(resolveDevicesConfig());
