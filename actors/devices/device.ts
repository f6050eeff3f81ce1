/**
 * The device actor: one per device, holding its digital twin (`device_state.ts`) — registration,
 * reported and desired state, online/offline by heartbeat timeout, per-sensor analytics, data
 * quality and recent history. A thin handler over the pure functions of `telemetry.ts`,
 * `twin.ts`, `analytics.ts`, `quality.ts` and `history.ts`; presence is `watchdog.ts`'s, alerts
 * `device_alerts.ts`'s.
 *
 * Cost per telemetry message: O(readings) — the quality checks, one window insertion and a
 * 10-point trend fit per reading, one history append — with no JSON encoding and no timer
 * churn (the heartbeat timer is not reset per message: it re-arms itself when it fires).
 *
 * Persistence: the twin is event-sourced (`device_events.ts`). Each change is a small journal
 * event — a reading costs a write of about its own size, not of the whole twin — with a
 * snapshot every {@link DEVICE_SNAPSHOT_EVERY} events and the journal compacted behind it.
 * Handlers change the state only through `ctx.persist`; what they send out they decide from
 * the state and the fold's outcome. A twin stored whole by an older version (a snapshot
 * without a journal) loads as the snapshot it is and goes on from there.
 *
 * Commands live in the device's `device-commands` actor (`device_commands.ts`), not in the
 * twin: the twin is written on every reading and should not carry them. This actor tells that
 * one when the device comes online or goes offline (once the device has had a command), and
 * sends the desired state itself: live while the device is online, and the one final state when
 * it comes back (its first telemetry after a silence, or its hello with an older version).
 *
 * @module
 */
import { type ActorContext, defineActor, NotFoundError } from "../../runtime/mod.ts";
import { clearAlert, raiseAlert } from "../contracts.ts";
import { DEVICE_COMMANDS, publishToDevice } from "./commands.ts";
import { type ResolvedDevicesConfig, resolveDevicesConfig } from "./config.ts";
import { alertFor, deviceSource } from "./device_alerts.ts";
import {
  applyDeviceEvent,
  type DeviceEvent,
  ensureCurrent,
  markCurrent,
  type TelemetryOutcome,
} from "./device_events.ts";
import { DEVICE_HISTORY } from "./device_history.ts";
import { PreconditionFailedError } from "./errors.ts";
import {
  deadlineOf,
  type DeviceState,
  type DeviceSummary,
  deviceSummary,
  type DeviceView,
  deviceView,
  emptyDevice,
  isKnown,
  type TelemetryReply,
  timeoutOf,
} from "./device_state.ts";
import { chunkActorId, chunksFor, type HistoryItem, type HistoryQuery, select } from "./history.ts";
import { type QualityReport, reportOf } from "./quality.ts";
import type { TelemetryRecord } from "./telemetry.ts";
import { deltaOf, type DesiredValue, type Registration } from "./twin.ts";
import {
  activated,
  armHeartbeat,
  checked,
  passivating,
  timerFired,
  wentOffline,
  wentOnline,
} from "./watchdog.ts";

/** A desired-state change: a merge patch, and the versions `If-Match` allows (any when absent). */
export interface DesiredChange {
  readonly patch: Readonly<Record<string, DesiredValue | null>>;
  readonly ifMatch?: readonly number[];
}

/** What `commandTarget` answers: whether the device exists, is online, has had commands. */
export interface CommandTarget {
  readonly known: boolean;
  readonly online: boolean;
  readonly commandsInUse: boolean;
}

/**
 * Events between two snapshots of a device twin: a snapshot (the whole twin, ~4–9 KB) costs
 * each event a fiftieth of it, an activation replays at most this many events (~0.5 ms), and
 * the journal a device keeps at rest holds half this many events on average (~3 KB).
 */
export const DEVICE_SNAPSHOT_EVERY = 50;

/** Sends the device its whole desired state, the delta against what it reports, the version. */
function pushDesired(ctx: Pick<ActorContext<DeviceState>, "emit" | "id" | "state">): void {
  const s = ctx.state;
  publishToDevice(ctx, {
    kind: "desired",
    device: ctx.id,
    desired: { ...s.desired },
    delta: deltaOf(s.desired, s.reported),
    version: s.desiredVersion,
  });
}

/**
 * The device actor type, configured. Register the result of `actors()` (actors/mod.ts); refs
 * can use {@link device} for typing, since they resolve the type by name.
 */
export function deviceActor(cfg: ResolvedDevicesConfig) {
  const shards = cfg.presence.shards;

  /** What folding the last telemetry event decided: read right after `ctx.persist` returns. */
  let lastOutcome: TelemetryOutcome | null = null;

  /** Records a telemetry event (folding it into the state) and returns what the fold decided. */
  function persistReading(
    ctx: ActorContext<DeviceState, DeviceEvent>,
    record: TelemetryRecord,
  ): TelemetryOutcome {
    lastOutcome = null;
    ctx.persist({ k: "t", at: ctx.now(), r: record });
    const outcome = lastOutcome!;
    lastOutcome = null;
    return outcome;
  }

  function notFound(id: string): NotFoundError {
    return new NotFoundError(`device ${id} is not registered and has never sent telemetry`);
  }

  return defineActor({
    name: "device",
    initialState: () => markCurrent(emptyDevice()),
    handlers: {
      /** Registers or updates the device's metadata (a whole replacement). */
      register(ctx, reg: Registration): { created: boolean; twin: DeviceView } {
        const s = ctx.state;
        const before = timeoutOf(s, cfg.profile(s.type));
        const created = !s.registered;
        ctx.persist({ k: "reg", at: ctx.now(), r: reg });
        const profile = cfg.profile(s.type);
        const after = timeoutOf(s, profile);
        if (s.status === "online" && after !== before) {
          wentOnline(ctx, shards, after, deadlineOf(s, profile));
        }
        return { created, twin: deviceView(ctx.id, ctx.state, cfg.profile(ctx.state.type)) };
      },

      /**
       * Applies a validated telemetry record — unless the data quality schema rejects it, which
       * is counted and answered with the reasons. Replies once the new state is durable.
       */
      telemetry(ctx, record: TelemetryRecord): TelemetryReply {
        const s = ctx.state;
        const o = persistReading(ctx, record);
        if (o.verdict.rejected) {
          return { device: ctx.id, messageCount: s.messageCount, rejected: o.verdict.issues };
        }
        for (const sealed of o.sealed) {
          ctx.tell(
            { type: DEVICE_HISTORY, id: chunkActorId(ctx.id, sealed.seq, cfg.history) },
            "store",
            sealed,
          );
        }
        ctx.emit("telemetry", { device: ctx.id, ts: record.ts, readings: record.readings }, ctx.id);
        if (o.signals.length > 0) alertFor(ctx, o.signals, o.thresholdCleared);

        const profile = cfg.profile(s.type);
        const deadline = deadlineOf(s, profile);
        if (!o.cameOnline) armHeartbeat(ctx, deadline);
        else {
          const now = s.statusSince!;
          // A device's first message is announced by its telemetry event alone.
          if (o.seenBefore) {
            ctx.emit("telemetry", { device: ctx.id, status: "online", since: now }, ctx.id);
          }
          if (o.offlineCleared) clearAlert(ctx, deviceSource(ctx.id), "device_offline", now);
          wentOnline(ctx, shards, timeoutOf(s, profile), deadline);
          // Back after a silence: the desired state it may have missed, unless its hello just
          // brought it up to date. (Without a hello its version is unknown: the state goes out.)
          if (s.desiredVersion > 0 && !o.synced) pushDesired(ctx);
          if (s.commandsInUse) ctx.tell({ type: DEVICE_COMMANDS, id: ctx.id }, "deviceOnline");
        }
        return { device: ctx.id, messageCount: s.messageCount };
      },

      /**
       * Merges a desired-state patch (`null` removes a key) and, while the device is online,
       * pushes the new state to it (an offline device gets the final state when it is back).
       * @throws {PreconditionFailedError} the version is not one `ifMatch` allows
       */
      desired(ctx, change: DesiredChange) {
        const s = ctx.state;
        if (!isKnown(s)) throw notFound(ctx.id);
        if (change.ifMatch !== undefined && !change.ifMatch.includes(s.desiredVersion)) {
          throw new PreconditionFailedError(ctx.id, s.desiredVersion);
        }
        ctx.persist({ k: "des", at: ctx.now(), p: change.patch });
        if (s.status === "online") pushDesired(ctx);
        return {
          device: ctx.id,
          desired: { ...s.desired },
          delta: deltaOf(s.desired, s.reported),
          version: s.desiredVersion,
        };
      },

      /**
       * From the device's hello (through its `device-commands` actor): sends the desired state
       * when the device's version is behind, or when it gave none — and notes that it has the
       * current one now, so its first telemetry after the hello does not send it again.
       */
      syncDesired(ctx, hello: { readonly desiredVersion?: number }) {
        const s = ctx.state;
        if (!isKnown(s)) return;
        const has = hello.desiredVersion;
        if (s.desiredVersion > 0 && (has === undefined || has < s.desiredVersion)) pushDesired(ctx);
        ctx.persist({ k: "hi", at: ctx.now() });
      },

      /**
       * Marks the device as having commands, so its `device-commands` actor hears when it comes
       * online or goes offline. Asked once, before its first command.
       */
      useCommands(ctx): CommandTarget {
        const s = ctx.state;
        if (isKnown(s) && !s.commandsInUse) ctx.persist({ k: "cmd" });
        return { known: isKnown(s), online: s.status === "online", commandsInUse: s.commandsInUse };
      },

      /** From the heartbeat timer or the presence shard: offline if still silent. */
      goOffline(ctx) {
        const s = ctx.state;
        if (s.status !== "online") return;
        const profile = cfg.profile(s.type);
        const now = ctx.now();
        const deadline = deadlineOf(s, profile);
        if (now < deadline) {
          armHeartbeat(ctx, deadline);
          return;
        }
        const timeout = timeoutOf(s, profile);
        ctx.persist({ k: "off", at: now });
        raiseAlert(ctx, {
          source: deviceSource(ctx.id),
          type: "device_offline",
          severity: "high",
          message: `no telemetry from ${ctx.id} for ${timeout / 1000} s`,
          data: { lastSeen: s.lastSeen, timeout },
          at: now,
        });
        ctx.emit(
          "telemetry",
          { device: ctx.id, status: "offline", since: now, lastSeen: s.lastSeen },
          ctx.id,
        );
        wentOffline(ctx, shards);
        if (s.commandsInUse) ctx.tell({ type: DEVICE_COMMANDS, id: ctx.id }, "deviceOffline");
      },
    },
    queries: {
      /** The twin, or `null` for a device neither registered nor heard from. */
      twin(ctx): DeviceView | null {
        return isKnown(ctx.state)
          ? deviceView(ctx.id, ctx.state, cfg.profile(ctx.state.type))
          : null;
      },
      /** The list entry, or `null`. */
      summary(ctx): DeviceSummary | null {
        return isKnown(ctx.state) ? deviceSummary(ctx.id, ctx.state) : null;
      },
      /** Where a command for this device stands: known, online, commands in use. */
      commandTarget(ctx): CommandTarget {
        const s = ctx.state;
        return { known: isKnown(s), online: s.status === "online", commandsInUse: s.commandsInUse };
      },
      /** The data quality report of this device's stream, or `null`. */
      quality(ctx): QualityReport | null {
        return isKnown(ctx.state) ? reportOf(ctx.id, ctx.state.quality) : null;
      },
      /**
       * History from the open chunk, and the sealed chunks to ask; `null` for an unknown device.
       */
      historyPlan(
        ctx,
        query: HistoryQuery,
      ): { items: HistoryItem[]; chunks: string[]; seqs: number[] } | null {
        const s = ctx.state;
        if (!isKnown(s)) return null;
        const items: HistoryItem[] = [];
        select(s.history.open, query, items);
        const seqs = chunksFor(s.history, query);
        return { items, seqs, chunks: seqs.map((seq) => chunkActorId(ctx.id, seq, cfg.history)) };
      },
      heartbeatCheck(ctx) {
        const s = ctx.state;
        timerFired(ctx, s.status === "online", deadlineOf(s, cfg.profile(s.type)), "goOffline");
      },
      presenceCheck(ctx) {
        const s = ctx.state;
        checked(
          ctx,
          shards,
          s.status === "online",
          deadlineOf(s, cfg.profile(s.type)),
          "goOffline",
        );
      },
    },
    apply(state: DeviceState, event: DeviceEvent, id: string) {
      const outcome = applyDeviceEvent(state, event, id, cfg);
      if (outcome !== null) lastOutcome = outcome;
    },
    onActivate(ctx) {
      ensureCurrent(ctx.state);
      const s = ctx.state;
      activated(ctx, shards, s.status === "online", deadlineOf(s, cfg.profile(s.type)));
    },
    onPassivate(ctx) {
      const s = ctx.state;
      passivating(ctx, shards, s.status === "online", deadlineOf(s, cfg.profile(s.type)));
    },
    options: {
      persistence: "journal",
      snapshotEvery: DEVICE_SNAPSHOT_EVERY,
      passivateAfter: cfg.passivateAfter,
    },
  });
}

/**
 * The device actor type with the default configuration: what refs use for typing (the
 * registered instance may be configured differently; refs resolve the type by name).
 */
export const device = deviceActor(resolveDevicesConfig());
