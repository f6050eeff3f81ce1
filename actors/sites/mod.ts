/**
 * Edge sites, the hub's half: read replicas of the sites' actors, fed by each site's uplink
 * (`replicas.ts`), and the shape and routing of uplink items (`uplink_item.ts`). The site's
 * half (what it publishes, how it applies the downlink) is assembled in `node/sites/`.
 *
 * @module
 */
import type { AnyActorDefinition } from "../../runtime/mod.ts";
import { siteAlerts, siteDevice, siteLink, siteTerminal } from "./replicas.ts";

export {
  LIVE_READING_MS,
  type PositionedItem,
  REPLICA_ALERTS,
  REPLICA_PAYMENTS,
  type ReplicaMessage,
  type Replicated,
  siteAlerts,
  siteDevice,
  siteLink,
  siteTerminal,
} from "./replicas.ts";
export {
  isUplinkItem,
  replicaOf,
  SITE_ALERTS,
  SITE_DEVICE,
  SITE_LINK,
  SITE_TERMINAL,
  UPLINK_KINDS,
  type UplinkItem,
  type UplinkKind,
} from "./uplink_item.ts";

/** The replica actor types (registered on every node: cheap, and used only at a hub). */
export function actors(): AnyActorDefinition[] {
  return [siteDevice, siteTerminal, siteAlerts, siteLink];
}
