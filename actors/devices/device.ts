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
 * @module
 */
import { defineActor, type JsonValue, NotFoundError } from "../../runtime/mod.ts";
import { clearAlert, raiseAlert } from "../contracts.ts";
import { emptyAnalytics, observe, type Signal } from "./analytics.ts";
import { publishToDevice } from "./commands.ts";
import { type ResolvedDevicesConfig, resolveDevicesConfig } from "./config.ts";
import { alertFor, deviceSource } from "./device_alerts.ts";
import { DEVICE_HISTORY } from "./device_history.ts";
import {
  deadlineOf,
  type DeviceSummary,
  deviceSummary,
  type DeviceView,
  deviceView,
  emptyDevice,
  isKnown,
  rangeFor,
  type TelemetryReply,
  timeoutOf,
  upgradeDevice,
} from "./device_state.ts";
import {
  chunkActorId,
  chunksFor,
  type HistoryItem,
  type HistoryQuery,
  record as recordReading,
  select,
} from "./history.ts";
import { assess, type QualityReport, reportOf } from "./quality.ts";
import { applyTelemetry, type TelemetryRecord } from "./telemetry.ts";
import {
  applyDesired,
  type Command,
  deltaOf,
  type DesiredValue,
  type Registration,
} from "./twin.ts";
import {
  activated,
  armHeartbeat,
  checked,
  passivating,
  timerFired,
  wentOffline,
  wentOnline,
} from "./watchdog.ts";

/**
 * The device actor type, configured. Register the result of `actors()` (actors/mod.ts); refs
 * can use {@link device} for typing, since they resolve the type by name.
 */
export function deviceActor(cfg: ResolvedDevicesConfig) {
  const shards = cfg.presence.shards;

  function notFound(id: string): NotFoundError {
    return new NotFoundError(`device ${id} is not registered and has never sent telemetry`);
  }

  return defineActor({
    name: "device",
    initialState: emptyDevice,
    handlers: {
      /** Registers or updates the device's metadata (a whole replacement). */
      register(ctx, reg: Registration): { created: boolean; twin: DeviceView } {
        const s = ctx.state;
        const now = ctx.now();
        const before = timeoutOf(s, cfg.profile(s.type));
        const created = !s.registered;
        s.registered = true;
        s.type = reg.type;
        s.location = reg.location ?? null;
        s.sensors = reg.sensors === undefined ? null : [...reg.sensors];
        s.thresholds = reg.thresholds ?? {};
        s.heartbeatTimeout = reg.heartbeatTimeout ?? null;
        if (created) s.registeredAt = now;
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
        const now = ctx.now();
        const profile = cfg.profile(s.type);
        const verdict = assess(s.quality, record, {
          deviceId: ctx.id,
          now,
          registered: s.registered,
          sensors: s.sensors,
          known: s.reported,
        }, profile.quality);
        if (verdict.rejected) {
          return { device: ctx.id, messageCount: s.messageCount, rejected: verdict.issues };
        }
        const seenBefore = s.lastSeen !== null;
        applyTelemetry(s, record, now);

        const signals: Signal[] = [];
        for (const sensor in record.readings) {
          const value = record.readings[sensor]!;
          const a = s.analytics[sensor] ??= emptyAnalytics();
          observe(
            a,
            sensor,
            record.ts,
            value,
            rangeFor(s, profile, sensor),
            profile.analytics,
            signals,
          );
          const sealed = recordReading(s.history, record.ts, sensor, value, cfg.history);
          if (sealed !== null) {
            ctx.tell(
              { type: DEVICE_HISTORY, id: chunkActorId(ctx.id, sealed.seq, cfg.history) },
              "store",
              sealed,
            );
          }
        }
        ctx.emit("telemetry", { device: ctx.id, ts: record.ts, readings: record.readings }, ctx.id);
        if (signals.length > 0) alertFor(ctx, signals);

        const deadline = deadlineOf(s, profile);
        if (s.status === "online") armHeartbeat(ctx, deadline);
        else {
          s.status = "online";
          s.statusSince = now;
          // A device's first message is announced by its telemetry event alone.
          if (seenBefore) {
            ctx.emit("telemetry", { device: ctx.id, status: "online", since: now }, ctx.id);
          }
          if (s.alerts.offline) {
            s.alerts.offline = false;
            clearAlert(ctx, deviceSource(ctx.id), "device_offline", now);
          }
          wentOnline(ctx, shards, timeoutOf(s, profile), deadline);
        }
        return { device: ctx.id, messageCount: s.messageCount };
      },

      /** Merges a desired-state patch (`null` removes a key) and pushes it to the device. */
      desired(ctx, patch: Readonly<Record<string, DesiredValue | null>>) {
        const s = ctx.state;
        if (!isKnown(s)) throw notFound(ctx.id);
        applyDesired(s.desired, patch);
        s.desiredVersion++;
        const delta = deltaOf(s.desired, s.reported);
        const desired = { ...s.desired };
        publishToDevice(ctx, {
          kind: "desired",
          device: ctx.id,
          desired,
          delta,
          version: s.desiredVersion,
          at: ctx.now(),
        });
        return { device: ctx.id, desired, delta, version: s.desiredVersion };
      },

      /** Sends a command to the device; replies with its id once durable. */
      command(ctx, command: Command) {
        const s = ctx.state;
        if (!isKnown(s)) throw notFound(ctx.id);
        s.commands++;
        const commandId = `${ctx.id}-${s.commands}`;
        publishToDevice(ctx, {
          kind: "command",
          device: ctx.id,
          commandId,
          name: command.name,
          params: (command.params ?? {}) as JsonValue,
          at: ctx.now(),
        });
        return { device: ctx.id, commandId };
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
        s.status = "offline";
        s.statusSince = now;
        s.alerts.offline = true;
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
    onActivate(ctx) {
      upgradeDevice(ctx.state);
      const s = ctx.state;
      activated(ctx, shards, s.status === "online", deadlineOf(s, cfg.profile(s.type)));
    },
    onPassivate(ctx) {
      const s = ctx.state;
      passivating(ctx, shards, s.status === "online", deadlineOf(s, cfg.profile(s.type)));
    },
    options: { persistence: "snapshot", passivateAfter: cfg.passivateAfter },
  });
}

/**
 * The device actor type with the default configuration: what refs use for typing (the
 * registered instance may be configured differently; refs resolve the type by name).
 */
export const device = deviceActor(resolveDevicesConfig());
