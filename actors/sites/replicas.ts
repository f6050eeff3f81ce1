/**
 * The hub's read replicas of an edge site's actors, fed by the site's uplink (see
 * `uplink_item.ts`): `site-device/<id>` (a device twin), `site-terminal/<id>` (a payment
 * terminal and its payments), `site-alerts/<site>` (the site's alerts) and `site-link/<site>`
 * (the link's own state; passes the site's other events on).
 *
 * Each replica is an ordinary persisted actor. The uplink consumer delivers every item with its
 * position in the site's uplink stream as `source: "up/<site>"`, so the runtime records the
 * position with the replica's state, atomically, and a message sourced or delivered again is
 * skipped: every item is applied once, in the site's order, across outages and restarts of
 * either side. What a replica shows is the site's, as of `syncedAt` (when the site made it);
 * the hub never changes it itself.
 *
 * @module
 */
import { type ActorContext, defineActor, type JsonValue } from "../../runtime/mod.ts";
import {
  isUplinkItem,
  SITE_ALERTS,
  SITE_DEVICE,
  SITE_LINK,
  SITE_TERMINAL,
  type UplinkItem,
} from "./uplink_item.ts";

/**
 * What a replica receives: uplink items of site `site`, in the site's order — those of one
 * burst of the uplink together, delivered (and made durable) as one message at the position of
 * the last of them.
 */
export interface ReplicaMessage {
  readonly site: string;
  /** Each with its position in the site's uplink. */
  readonly items: readonly PositionedItem[];
}

/** An uplink item and its position in the site's uplink stream. */
export type PositionedItem = UplinkItem & { readonly seq: number };

/** A replicated view: the site's view of the actor, and whose and how old it is. */
export interface Replicated {
  readonly site: string;
  /** When the site made the newest change shown (epoch ms). */
  readonly syncedAt: number;
  readonly view: JsonValue;
}

/**
 * A sampled reading older than this (10 s) when the hub applies it (site time of the reading against
 * the hub's clock) updates nothing and is not shown live on the hub's `telemetry` topic: after
 * an outage the twin is current from its snapshot, and replaying the outage's readings as live
 * events would flood every SSE client with history. Payments, alerts and the other events are
 * always shown.
 */
export const LIVE_READING_MS = 10_000;

/** Payments a terminal replica keeps, newest last. */
export const REPLICA_PAYMENTS = 1000;
/** Alerts a site's alert replica keeps: past it, the cleared ones raised longest ago go. */
export const REPLICA_ALERTS = 10_000;

interface ViewState {
  /** The position of the last item applied. */
  upTo: number;
  site: string | null;
  syncedAt: number;
  view: JsonValue;
}

interface TerminalState extends ViewState {
  /**
   * Per transaction, in the order first seen: its events merged, and `steps`, the event types
   * seen (each announced once).
   */
  payments: Record<string, JsonValue>;
}

interface AlertsState {
  upTo: number;
  syncedAt: number;
  alerts: Record<string, Record<string, JsonValue>>;
}

interface LinkState {
  upTo: number;
  syncedAt: number;
  /** The highest downlink position the site reports applied. */
  downlinkApplied: number;
}

const emptyView = (): ViewState => ({ upTo: 0, site: null, syncedAt: 0, view: null });

/**
 * The handler of a replica: `one` for each well-formed item of the message past the replica's
 * last position. (The runtime skips a message whose position it has recorded; a batch sent again
 * after a crash may also hold items applied before next to new ones: those are skipped here.)
 */
function applying<S extends { upTo: number }>(
  one: (ctx: ActorContext<S>, site: string, item: UplinkItem) => void,
) {
  return (ctx: ActorContext<S>, msg: ReplicaMessage): void => {
    if (typeof msg?.site !== "string" || !Array.isArray(msg.items)) return;
    for (const item of msg.items) {
      const seq = (item as Partial<PositionedItem>)?.seq;
      if (!isUplinkItem(item) || typeof seq !== "number" || !(seq > ctx.state.upTo)) continue;
      ctx.state.upTo = seq;
      one(ctx, msg.site, item);
    }
  };
}

function replicated(s: ViewState): Replicated | null {
  return s.site === null || s.view === null
    ? null
    : { site: s.site, syncedAt: s.syncedAt, view: s.view };
}

function objectOf(x: JsonValue): Record<string, JsonValue> {
  return typeof x === "object" && x !== null && !Array.isArray(x)
    ? x as Record<string, JsonValue>
    : {};
}

/** Passes a site's event on to the hub's event stream, marked with the site. */
function reEmit(ctx: ActorContext<unknown>, site: string, event: JsonValue): void {
  const e = objectOf(event);
  if (typeof e.topic !== "string") return;
  const key = typeof e.key === "string" ? e.key : undefined;
  ctx.emit(e.topic, { ...objectOf(e.data ?? null), site }, key);
}

/** Marks the replica as site `site`'s and, for a snapshot of `kind`, shows it; whether it was one. */
function tookSnapshot(s: ViewState, site: string, item: UplinkItem, kind: string): boolean {
  s.site = site;
  if (item.kind !== kind) return false;
  s.view = item.data;
  s.syncedAt = Math.max(s.syncedAt, item.at);
  return true;
}

/** `site-device/<deviceId>`: a site device's twin. */
export const siteDevice = defineActor({
  name: SITE_DEVICE,
  initialState: emptyView,
  handlers: {
    apply: applying<ViewState>((ctx, site, item) => {
      if (tookSnapshot(ctx.state, site, item, "device")) return;
      if (item.kind !== "telemetry" || ctx.now() - item.at <= LIVE_READING_MS) {
        reEmit(ctx, site, item.data);
      }
    }),
  },
  queries: { replica: (ctx: ActorContext<ViewState>) => replicated(ctx.state) },
  options: { passivateAfter: "PT10M" },
});

/** `site-terminal/<terminalId>`: a site terminal's view and its payments. */
export const siteTerminal = defineActor({
  name: SITE_TERMINAL,
  initialState: (): TerminalState => ({ ...emptyView(), payments: {} }),
  handlers: {
    apply: applying<TerminalState>((ctx, site, item) => {
      const s = ctx.state;
      if (tookSnapshot(s, site, item, "terminal")) return;
      if (item.kind !== "payment") return reEmit(ctx, site, item.data);
      const event = objectOf(objectOf(item.data).data ?? null);
      const tx = typeof event.transactionId === "string" ? event.transactionId : item.key;
      const known = objectOf(s.payments[tx] ?? null);
      // Once per step of a payment: the site publishes what its terminals remember again at
      // each start, in case a crash lost an announcement.
      const steps = Array.isArray(known.steps) ? known.steps.map(String) : [];
      const step = String(event.type);
      if (steps.includes(step)) return;
      s.payments[tx] = { ...known, ...event, steps: [...steps, step] };
      const ids = Object.keys(s.payments);
      for (let i = 0; i < ids.length - REPLICA_PAYMENTS; i++) delete s.payments[ids[i]!];
      reEmit(ctx, site, item.data);
    }),
  },
  queries: {
    replica: (ctx: ActorContext<TerminalState>) => replicated(ctx.state),
    payments: (ctx: ActorContext<TerminalState>) => ctx.state.payments,
  },
  options: { passivateAfter: "PT10M" },
});

/** `site-alerts/<site>`: a site's alerts, latest state of each. */
export const siteAlerts = defineActor({
  name: SITE_ALERTS,
  initialState: (): AlertsState => ({ upTo: 0, syncedAt: 0, alerts: {} }),
  handlers: {
    apply: applying<AlertsState>((ctx, site, item) => {
      if (item.kind !== "alert") return;
      const s = ctx.state;
      const announcement = objectOf(objectOf(item.data).data ?? null);
      const alert = objectOf(announcement.alert ?? null);
      if (typeof alert.id !== "string") return;
      s.alerts[alert.id] = { ...alert, site: site, syncedAt: item.at };
      s.syncedAt = Math.max(s.syncedAt, item.at);
      trimAlerts(s.alerts);
      reEmit(ctx, site, item.data);
    }),
  },
  queries: {
    alerts: (ctx: ActorContext<AlertsState>) => Object.values(ctx.state.alerts),
    /** Whether alert `id` is one of the site's. */
    has: (ctx: ActorContext<AlertsState>, msg: { id: string }) =>
      Object.hasOwn(ctx.state.alerts, String(msg?.id)),
  },
  options: { passivateAfter: "PT10M" },
});

function trimAlerts(alerts: Record<string, Record<string, JsonValue>>): void {
  const ids = Object.keys(alerts);
  if (ids.length <= REPLICA_ALERTS) return;
  const raisedAt = (id: string) => Number(alerts[id]!.raisedAt ?? 0);
  const cleared = ids.filter((id) => alerts[id]!.status === "cleared");
  const order = (cleared.length > 0 ? cleared : ids).sort((a, b) => raisedAt(a) - raisedAt(b));
  for (const id of order.slice(0, ids.length - REPLICA_ALERTS)) delete alerts[id];
}

/** `site-link/<site>`: what the site says of the link, and its other events. */
export const siteLink = defineActor({
  name: SITE_LINK,
  initialState: (): LinkState => ({ upTo: 0, syncedAt: 0, downlinkApplied: 0 }),
  handlers: {
    apply: applying<LinkState>((ctx, site, item) => {
      const s = ctx.state;
      s.syncedAt = Math.max(s.syncedAt, item.at);
      if (item.kind === "link") {
        const applied = Number(objectOf(item.data).downlinkApplied);
        if (Number.isSafeInteger(applied)) s.downlinkApplied = Math.max(s.downlinkApplied, applied);
      } else reEmit(ctx, site, item.data);
    }),
  },
  queries: {
    link: (ctx: ActorContext<LinkState>) => ({
      syncedAt: ctx.state.syncedAt,
      downlinkApplied: ctx.state.downlinkApplied,
    }),
  },
  options: { passivateAfter: "PT10M" },
});
