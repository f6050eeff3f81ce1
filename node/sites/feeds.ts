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
import { alertBook } from "../../actors/alerts/mod.ts";
import { device, deviceCommands, type NewCommand } from "../../actors/devices/mod.ts";
import { terminal } from "../../actors/payments/mod.ts";
import {
  isUplinkItem,
  type PositionedItem,
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
  "alertAck",
  "alertClear",
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
  readonly snapshot: boolean;
  readonly done: PromiseWithResolvers<void>;
}

interface Batch {
  readonly local: LocalDelivery;
  readonly type: string;
  readonly id: string;
  held: Held[];
}

/**
 * The hub's feed of site `site`'s uplink.
 *
 * The messages of one burst (what the transport hands out before it yields, a few milliseconds'
 * worth) are gathered per replica and delivered as one message at the position of the last of
 * them: one write per replica per burst, however many items — catching up after an outage, the
 * hub applies thousands. Within a batch a snapshot drops the earlier snapshots of its replica,
 * which only the newest matters for (they finish at once, unapplied; the batch holding the newer
 * one, not finished yet, keeps the ack floor below them, so a crash redelivers it). A message
 * is finished — acknowledged — once its batch is durable. Each item carries its own position
 * too: a batch sent again after a crash, mixing items applied before with new ones, applies
 * only the new ones.
 */
export function uplinkFeed(site: string, observer: FeedObserver = {}): PartitionFeed {
  const source = `up/${site}`;
  const batches = new Map<string, Batch>();
  let flushing = false;

  const deliver = async (b: Batch) => {
    const items: PositionedItem[] = [];
    let seq = 0;
    let at = 0;
    for (const h of b.held) {
      const item = parse(h.msg);
      const position = originSeq(h.msg);
      seq = Math.max(seq, position);
      if (!isUplinkItem(item) || item.kind !== tokensOf(h.msg)?.[0]) {
        observer.refused?.(site, `malformed uplink message on ${h.msg.subject}`);
        continue;
      }
      items.push({ ...item, seq: position });
      at = Math.max(at, item.at);
    }
    const payload: ReplicaMessage = { site, items };
    await b.local.deliver(
      { type: b.type, id: b.id, kind: "apply", payload: payload as unknown as JsonValue },
      { source, seq },
    );
    observer.applied?.(site, seq, at);
  };
  const flush = () => {
    flushing = false;
    const all = [...batches.values()];
    batches.clear();
    for (const b of all) {
      deliver(b).then(
        () => b.held.forEach((h) => h.done.resolve()),
        (error) => b.held.forEach((h) => h.done.reject(error)),
      );
    }
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
      let batch = batches.get(`${type}/${id}`);
      if (batch === undefined) {
        batch = { local, type, id, held: [] };
        batches.set(`${type}/${id}`, batch);
      }
      const snapshot = SNAPSHOTS.has(kind);
      if (snapshot && batch.held.some((h) => h.snapshot)) {
        // Superseded by this one.
        for (const h of batch.held) if (h.snapshot) h.done.resolve();
        batch.held = batch.held.filter((h) => !h.snapshot);
      }
      const h: Held = { msg, snapshot, done: Promise.withResolvers<void>() };
      batch.held.push(h);
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
    case "alertAck":
      await to(alertBook.name, "ack", body);
      return;
    case "alertClear":
      await to(alertBook.name, "clear", body);
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
