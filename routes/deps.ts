/**
 * What the HTTP app needs from the node it serves.
 *
 * @module
 */
import type {
  ActorSystem,
  Clock,
  EventBus,
  JsonValue,
  Logger,
  MetricsRegistry,
} from "../runtime/mod.ts";
import type { AuthTokens } from "./auth.ts";

/** The result of a readiness check. */
export interface Readiness {
  readonly ready: boolean;
  /** Each dependency's state: `"ok"` or what is wrong. */
  readonly checks: Readonly<Record<string, string>>;
}

/** One edge site link as a node sees it (`GET /api/sites`). */
export interface SiteStatus {
  readonly site: string;
  /** `"hub"`: this node follows the site; `"site"`: this node runs at it. */
  readonly role: "hub" | "site";
  readonly link: "connected" | "disconnected" | "unknown";
  /** When the link last changed state (epoch ms); `null` before the first probe. */
  readonly since: number | null;
  readonly uplinkLagMessages: number;
  readonly uplinkLagSeconds: number;
  readonly downlinkPending: number;
}

/** Operations a hub sends down to a site. */
export type DownlinkOp =
  | "register"
  | "desired"
  | "command"
  | "cards"
  | "terminal"
  | "alertAck"
  | "alertClear";

/** Edge sites, as the routes see them (`docs/edge-sites.md`). */
export interface SiteDeps {
  readonly role: "hub" | "site";
  /** The sites this node follows (hub), or the one it runs at (site). */
  readonly sites: readonly string[];
  /** Each link's state. */
  status(): SiteStatus[];
  /**
   * Hub: publishes a write for actor `id` of site `site` to the site's downlink; resolves with
   * its position there once the hub's stream holds it.
   */
  send(site: string, op: DownlinkOp, id: string, body: JsonValue, msgId?: string): Promise<number>;
}

/** Dependencies of the HTTP app. */
export interface AppDeps {
  readonly system: ActorSystem;
  readonly events: EventBus;
  readonly metrics: MetricsRegistry;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Checks the store (and, in cluster mode, NATS and partition ownership). */
  readonly readiness: () => Promise<Readiness>;
  /**
   * The tokens the API requires; `null` turns authentication off (tests of other concerns only:
   * a node always has a token, generated when none is configured).
   */
  readonly auth: AuthTokens | null;
  /** Origins allowed to call the API from a browser (CORS); none when empty. */
  readonly corsOrigins?: readonly string[];
  /** Interval of SSE heartbeat comments. @default 15000 */
  readonly heartbeatMs?: number;
  /** Largest request body accepted, in bytes. @default 65536 */
  readonly bodyLimit?: number;
  /** Events an SSE client may fall behind by before it is dropped. @default 1000 */
  readonly sseQueueLimit?: number;
  /**
   * The secret card tokens are hashed with (`FLOTILLA_CARD_KEY`, the same on every node).
   * @default a development key, with a warning
   */
  readonly cardKey?: string | null;
  /** Edge sites this node is part of; absent for a node of neither a site nor a hub. */
  readonly sites?: () => SiteDeps | null;
}
