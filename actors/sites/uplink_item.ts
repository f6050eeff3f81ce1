/**
 * What an edge site sends its hub over the uplink, and which hub actor applies each item.
 *
 * An item is either a **snapshot** (the latest view of a device twin, a terminal, an alert, a
 * payment's latest outcome, the link's own state): the hub keeps the newest, so snapshots of
 * the same key taken while the link was down collapse into one at the site and are applied
 * once, in order, at the hub; or an **event** (a sampled telemetry reading, a status change,
 * a rollup, a session match, a command's status): shown once on the hub's event stream.
 *
 * @module
 */
import type { JsonValue } from "../../runtime/mod.ts";

/** Kinds of uplink items. */
export const UPLINK_KINDS = [
  "device",
  "telemetry",
  "terminal",
  "payment",
  "alert",
  "event",
  "link",
] as const;

/** A kind of uplink item. */
export type UplinkKind = (typeof UPLINK_KINDS)[number];

/** One uplink message's body. */
export interface UplinkItem {
  readonly kind: UplinkKind;
  /** What the item is about within its replica: a device id, a transaction id, an alert id. */
  readonly key: string;
  /** When the site made it (epoch ms): a replica's `syncedAt`. */
  readonly at: number;
  /** The view (snapshots) or the event's data (events: `{topic, key, data}`). */
  readonly data: JsonValue;
}

/** Replica actor types at the hub. */
export const SITE_DEVICE = "site-device";
export const SITE_TERMINAL = "site-terminal";
export const SITE_ALERTS = "site-alerts";
export const SITE_LINK = "site-link";

/**
 * The hub actor that applies an item of `kind` about `key`, from site `site`: the site's
 * devices and terminals each have a replica of their own (`site-device/<id>`,
 * `site-terminal/<id>`, so they spread over the hub's partitions); payments go to their
 * terminal's replica (`terminal` is its id); sampled readings to their device's; alerts to the
 * site's `site-alerts/<site>`; the other events, which change no replica and are only shown,
 * to the site's `site-link/<site>`.
 */
export function replicaOf(
  site: string,
  kind: UplinkKind,
  key: string,
  terminal?: string,
): { readonly type: string; readonly id: string } {
  switch (kind) {
    case "device":
    case "telemetry":
      return { type: SITE_DEVICE, id: key };
    case "terminal":
      return { type: SITE_TERMINAL, id: key };
    case "payment":
      return { type: SITE_TERMINAL, id: terminal ?? key };
    case "alert":
      return { type: SITE_ALERTS, id: site };
    case "event":
    case "link":
      return { type: SITE_LINK, id: site };
  }
}

/** Is `x` a well-formed uplink item? (It comes over the wire: checked, never trusted.) */
export function isUplinkItem(x: unknown): x is UplinkItem {
  const i = x as Partial<UplinkItem> | null;
  return typeof i === "object" && i !== null &&
    typeof i.kind === "string" && (UPLINK_KINDS as readonly string[]).includes(i.kind) &&
    typeof i.key === "string" && typeof i.at === "number" && Number.isFinite(i.at) &&
    "data" in i;
}
