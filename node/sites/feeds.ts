/**
 * The two partitioned feeds of edge sites, consumed by the owner of each partition like device
 * ingest (`PartitionFeed`):
 *
 * - at the hub, **the uplink** of each followed site (`FLOTILLA_UP_<site>`): each item goes to
 *   its replica actor (`actors/sites/replicas.ts`);
 * - at the site, **the downlink** (`FLOTILLA_DOWNLINK`): each decision of the hub goes to the
 *   real actor it is for — a registration or desired state to the device, a command to the
 *   device's commands, card lists and settings to the terminal.
 *
 * Both deliver with the message's position in the stream it was first published to
 * (`originSeq`) as `source: "up/<site>"` / `"down/<site>"`: the applying actor records it with
 * its state, atomically, so a message sourced or delivered again — after an outage, a restart
 * of either side, a partition moving — is applied once. Per actor, the order is the origin's.
 *
 * @module
 */
import type { JsMsg } from "@nats-io/jetstream";
import { device, deviceCommands, type NewCommand } from "../../actors/devices/mod.ts";
import { terminal } from "../../actors/payments/mod.ts";
import {
  isUplinkItem,
  type ReplicaMessage,
  replicaOf,
  UPLINK_KINDS,
  type UplinkKind,
} from "../../actors/sites/mod.ts";
import type { DownlinkOp } from "../../routes/deps.ts";
import {
  describeError,
  type EventBus,
  type JsonValue,
  type LocalDelivery,
  type Logger,
  ShutdownError,
} from "../../runtime/mod.ts";
import {
  originSeq,
  type PartitionFeed,
  SITE_STREAMS,
  SITE_SUBJECTS,
} from "../../runtime/nats/mod.ts";

const decoder = new TextDecoder();

/** Operations the hub sends down (`DownlinkOp`). */
export const DOWNLINK_OPS: readonly DownlinkOp[] = [
  "register",
  "desired",
  "command",
  "cards",
  "terminal",
];

/** Where an applied or refused message is told about. */
export interface FeedObserver {
  /** An item about `site` was applied; `at` is when the site made it (uplink). */
  applied?(site: string, seq: number, at: number): void;
  /** A message was refused for good (malformed, or its actor said no). */
  refused?(site: string, reason: string): void;
}

function parse(msg: JsMsg): unknown {
  try {
    return JSON.parse(decoder.decode(msg.data));
  } catch {
    return undefined;
  }
}

/** `fl.<up|down>.<site>.<partition>.<kind>.<id>` → `[kind, id]`. */
function tokensOf(msg: JsMsg): [string, string] | null {
  const t = msg.subject.split(".");
  return t.length === 6 ? [t[4]!, t[5]!] : null;
}

/**
 * Item kinds that are snapshots: each replaces the previous one of its replica whole. Every
 * other kind (a reading, a payment, an alert, an event) is applied one by one.
 */
const SNAPSHOTS: ReadonlySet<string> = new Set<UplinkKind>(["device", "terminal", "link"]);

interface Held {
  readonly msg: JsMsg;
  readonly local: LocalDelivery;
  readonly type: string;
  readonly id: string;
  readonly done: PromiseWithResolvers<void>;
}

/**
 * The hub's feed of site `site`'s uplink.
 *
 * Catching up after an outage, the uplink holds many snapshots of each device, of which only
 * the newest matters. Snapshots that arrive in one burst are held until the burst is handed
 * out; a newer snapshot of the same replica replaces the held one, which finishes at once,
 * unapplied (it is acknowledged once everything before it is: the newer one, not yet finished,
 * holds the ack floor below itself until it is durable, so a crash in between redelivers the
 * newer one). Any other item of that replica first hands out the held snapshot, so a replica
 * still sees its items in the site's order.
 */
export function uplinkFeed(site: string, observer: FeedObserver = {}): PartitionFeed {
  const source = `up/${site}`;
  const held = new Map<string, Held>();
  let flushing = false;

  const apply = async (msg: JsMsg, local: LocalDelivery, type: string, id: string) => {
    const item = parse(msg);
    if (!isUplinkItem(item) || item.kind !== tokensOf(msg)?.[0]) {
      observer.refused?.(site, `malformed uplink message on ${msg.subject}`);
      return;
    }
    const seq = originSeq(msg);
    const payload: ReplicaMessage = { site, item };
    await local.deliver(
      { type, id, kind: "apply", payload: payload as unknown as JsonValue },
      { source, seq },
    );
    observer.applied?.(site, seq, item.at);
  };
  const release = (h: Held) => {
    held.delete(`${h.type}/${h.id}`);
    apply(h.msg, h.local, h.type, h.id).then(h.done.resolve, h.done.reject);
  };
  const flush = () => {
    flushing = false;
    for (const h of [...held.values()]) release(h);
  };

  return {
    name: `up-${site}`,
    stream: SITE_STREAMS.up(site),
    filter: (p) => `${SITE_SUBJECTS.up(site)}.${p}.>`,
    handle(msg, local) {
      const tokens = tokensOf(msg);
      if (tokens === null || !(UPLINK_KINDS as readonly string[]).includes(tokens[0])) {
        observer.refused?.(site, `malformed uplink subject ${msg.subject}`);
        return Promise.resolve();
      }
      const [kind, key] = tokens;
      const { type, id } = replicaOf(site, kind as UplinkKind, key, key);
      const previous = held.get(`${type}/${id}`);
      if (!SNAPSHOTS.has(kind)) {
        if (previous !== undefined) release(previous);
        return apply(msg, local, type, id);
      }
      const h: Held = { msg, local, type, id, done: Promise.withResolvers<void>() };
      held.set(`${type}/${id}`, h);
      previous?.done.resolve(); // superseded
      if (!flushing) {
        flushing = true;
        // After the burst being handed out now (the transport hands messages over
        // synchronously, a slice at a time).
        setTimeout(flush, 0);
      }
      return h.done.promise;
    },
  };
}

/** Options of {@link downlinkFeed}. */
export interface DownlinkFeedOptions {
  readonly site: string;
  readonly logger: Logger;
  /** Where refusals are reported (topic `system`, `downlink.refused`). */
  readonly events: EventBus;
  /** Called with each applied message's position (the uplink tells the hub). */
  readonly applied: (seq: number) => void;
}

/** The site's feed of its downlink. */
export function downlinkFeed(o: DownlinkFeedOptions): PartitionFeed {
  const source = `down/${o.site}`;
  const refuse = (msg: JsMsg, reason: string) => {
    o.logger.warn("downlink message refused", { subject: msg.subject, reason });
    o.events.publish("system", {
      type: "downlink.refused",
      site: o.site,
      subject: msg.subject,
      reason,
    }, null);
  };
  return {
    name: "down",
    stream: SITE_STREAMS.downlink,
    filter: (p) => `${SITE_SUBJECTS.down(o.site)}.${p}.>`,
    async handle(msg, local) {
      const tokens = tokensOf(msg);
      const body = parse(msg);
      if (tokens === null || body === undefined) return refuse(msg, "malformed");
      const [op, id] = tokens;
      const seq = originSeq(msg);
      try {
        await apply(local, op, id, body as JsonValue, { source, seq });
        o.applied(seq);
      } catch (error) {
        if (error instanceof ShutdownError) throw error; // for the partition's next owner
        refuse(msg, describeError(error));
      }
    },
  };
}

async function apply(
  local: LocalDelivery,
  op: string,
  id: string,
  body: JsonValue,
  position: { source: string; seq: number },
): Promise<void> {
  const to = (type: string, kind: string, payload: JsonValue) =>
    local.deliver({ type, id, kind, payload }, position);
  switch (op) {
    case "register":
      await to(device.name, "register", body);
      return;
    case "desired":
      await to(device.name, "desired", body);
      return;
    case "cards":
      await to(terminal.name, "replaceCards", body);
      return;
    case "terminal":
      await to(terminal.name, "configure", body);
      return;
    case "command": {
      // As the command route does: the device must exist; whether it is online decides
      // whether the command goes out at once. Both asks are safe to repeat.
      const ask = (kind: string) =>
        local.deliver({ type: device.name, id, kind, payload: null }, {
          timeoutMs: 30_000,
        }) as Promise<{ known: boolean; online: boolean; commandsInUse: boolean }>;
      let target = await ask("commandTarget");
      if (!target.known) throw new Error(`device ${id} is not registered at this site`);
      if (!target.commandsInUse) target = await ask("useCommands");
      const command = body as unknown as NewCommand;
      await to(deviceCommands.name, "create", {
        command,
        deviceOnline: target.online,
      } as unknown as JsonValue);
      return;
    }
    default:
      throw new Error(`unknown downlink operation ${op}`);
  }
}
