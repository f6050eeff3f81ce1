/**
 * The device actor: one per device, holding its digital twin (SPEC §3.1) — registration,
 * reported and desired state, online/offline by heartbeat timeout, per-sensor analytics, data
 * quality and recent history. A thin handler over the pure functions of `telemetry.ts`,
 * `twin.ts`, `analytics.ts`, `quality.ts` and `history.ts`; presence is `watchdog.ts`'s.
 *
 * Cost per telemetry message: O(readings) — the quality checks, one window insertion and a
 * 10-point trend fit per reading, one history append — with no JSON encoding and no timer
 * churn (the heartbeat timer is not reset per message: it re-arms itself when it fires).
 *
 * @module
 */
import {
  type ActorContext,
  defineActor,
  type JsonValue,
  NotFoundError,
} from "../../runtime/mod.ts";
import { clearAlert, raiseAlert } from "../contracts.ts";
import {
  emptyAnalytics,
  observe,
  type SensorAnalytics,
  type SensorAnalyticsView,
  type Signal,
  viewOf,
} from "./analytics.ts";
import { publishToDevice } from "./commands.ts";
import { type DeviceProfile, type ResolvedDevicesConfig, resolveDevicesConfig } from "./config.ts";
import { DEVICE_HISTORY } from "./device_history.ts";
import {
  chunkActorId,
  chunksFor,
  type DeviceHistory,
  emptyHistory,
  type HistoryItem,
  type HistoryQuery,
  record as recordReading,
  select,
} from "./history.ts";
import {
  assess,
  type CheckName,
  emptyQuality,
  type QualityReport,
  reportOf,
  type StreamQuality,
} from "./quality.ts";
import {
  applyTelemetry,
  type DeviceTwin,
  type Reported,
  type TelemetryRecord,
} from "./telemetry.ts";
import type { ThresholdRange, Thresholds } from "./thresholds.ts";
import {
  applyDesired,
  type Command,
  deltaOf,
  type DesiredValue,
  type DeviceLocation,
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

/** Online: telemetry arrived within the heartbeat timeout. */
export type DeviceStatus = "online" | "offline";

/** A device's state (plain JSON). */
export interface DeviceState extends DeviceTwin {
  /** Registered through `PUT /api/devices/:id` (a device may send telemetry without). */
  registered: boolean;
  type: string | null;
  location: DeviceLocation | null;
  /** Registered sensors; `null`: none named. */
  sensors: string[] | null;
  /** This device's own thresholds, over its type's. */
  thresholds: Thresholds;
  /** This device's own heartbeat timeout (ms), over its type's. */
  heartbeatTimeout: number | null;
  registeredAt: number | null;
  status: DeviceStatus;
  /** When the status last changed (`null`: never online). */
  statusSince: number | null;
  desired: Record<string, DesiredValue>;
  /** Incremented by every desired-state change. */
  desiredVersion: number;
  /** Commands sent so far (the last command id's number). */
  commands: number;
  analytics: Record<string, SensorAnalytics>;
  /** Alerts this device has open: to clear them when the condition ends. */
  alerts: { threshold: boolean; offline: boolean };
  quality: StreamQuality;
  history: DeviceHistory;
}

/** A device's twin as the API shows it. */
export interface DeviceView {
  readonly id: string;
  readonly registered: boolean;
  readonly type: string | null;
  readonly location: DeviceLocation | null;
  readonly sensors: readonly string[] | null;
  /** Effective heartbeat timeout, ms. */
  readonly heartbeatTimeout: number;
  readonly status: DeviceStatus;
  readonly statusSince: number | null;
  readonly lastSeen: number | null;
  readonly messageCount: number;
  readonly battery: number | null;
  readonly rssi: number | null;
  readonly reported: Readonly<Record<string, Reported>>;
  readonly desired: Readonly<Record<string, DesiredValue>>;
  readonly delta: Readonly<Record<string, DesiredValue>>;
  /** Effective thresholds of the device's sensors. */
  readonly thresholds: Thresholds;
  readonly analytics: Readonly<Record<string, SensorAnalyticsView>>;
  readonly quality: {
    readonly score: number;
    readonly failedByType: Readonly<Record<CheckName, number>>;
  };
}

/** A device in a list. */
export interface DeviceSummary {
  readonly id: string;
  readonly type: string | null;
  readonly location: DeviceLocation | null;
  readonly status: DeviceStatus;
  readonly lastSeen: number | null;
  readonly messageCount: number;
  readonly battery: number | null;
  readonly rssi: number | null;
  readonly reported: Readonly<Record<string, Reported>>;
}

/** The reply to telemetry: applied, or rejected by the quality schema check (not applied). */
export type TelemetryReply =
  | { readonly device: string; readonly messageCount: number }
  | {
    readonly device: string;
    readonly messageCount: number;
    readonly rejected: readonly { readonly path: string; readonly message: string }[];
  };

/** The state of a device that has never been registered nor heard from. */
export function emptyDevice(): DeviceState {
  return {
    reported: {},
    lastSeen: null,
    messageCount: 0,
    battery: null,
    rssi: null,
    registered: false,
    type: null,
    location: null,
    sensors: null,
    thresholds: {},
    heartbeatTimeout: null,
    registeredAt: null,
    status: "offline",
    statusSince: null,
    desired: {},
    desiredVersion: 0,
    commands: 0,
    analytics: {},
    alerts: { threshold: false, offline: false },
    quality: emptyQuality(),
    history: emptyHistory(),
  };
}

/** Fills what a state written by an older version lacks. */
function upgrade(state: DeviceState): void {
  const empty = emptyDevice() as unknown as Record<string, unknown>;
  const s = state as unknown as Record<string, unknown>;
  for (const key of Object.keys(empty)) if (!(key in s)) s[key] = empty[key];
}

/** Whether the device exists for the API: registered, or heard from. */
function known(s: DeviceState): boolean {
  return s.registered || s.lastSeen !== null;
}

function rangeFor(
  s: DeviceState,
  profile: DeviceProfile,
  sensor: string,
): ThresholdRange | undefined {
  const own = s.thresholds[sensor];
  const base = profile.thresholds[sensor];
  if (own === undefined) return base;
  return base === undefined ? own : { ...base, ...own };
}

function timeoutOf(s: DeviceState, profile: DeviceProfile): number {
  return s.heartbeatTimeout ?? profile.heartbeatTimeout;
}

function deadlineOf(s: DeviceState, profile: DeviceProfile): number {
  return (s.lastSeen ?? -Infinity) + timeoutOf(s, profile);
}

function source(id: string): string {
  return `device/${id}`;
}

function rangeText(r: ThresholdRange): string {
  return `[${r.min ?? "-∞"}, ${r.max ?? "∞"}]`;
}

/** Raises and clears alerts for what the analytics signalled. */
function alertFor(ctx: ActorContext<DeviceState>, signals: Signal[]): void {
  const s = ctx.state;
  const src = source(ctx.id);
  let backInRange: number | null = null;
  for (const sig of signals) {
    switch (sig.kind) {
      case "threshold":
        s.alerts.threshold = true;
        raiseAlert(ctx, {
          source: src,
          type: "threshold_violation",
          severity: "high",
          message: `${sig.sensor} ${shown(sig.value)} is outside ${rangeText(sig.range)}`,
          data: {
            sensor: sig.sensor,
            value: sig.value,
            min: sig.range.min ?? null,
            max: sig.range.max ?? null,
            ts: sig.ts,
            late: sig.late,
          },
          at: sig.ts,
        });
        break;
      case "threshold_ok":
        backInRange = sig.ts;
        break;
      case "rapid":
        raiseAlert(ctx, {
          source: src,
          type: "rapid_change",
          severity: "medium",
          message: `${sig.sensor} is ${sig.trend.replace("_", " ")} (now ${shown(sig.value)})`,
          data: { sensor: sig.sensor, trend: sig.trend, value: sig.value, ts: sig.ts },
          at: sig.ts,
        });
        break;
      case "anomaly":
        raiseAlert(ctx, {
          source: src,
          type: "pattern_anomaly",
          severity: sig.level === 2 ? "critical" : "high",
          message: `${sig.sensor} ${shown(sig.value)} is unusual for its last 60 s ` +
            `(anomaly score ${Math.round(sig.score * 100) / 100})`,
          data: { sensor: sig.sensor, value: sig.value, score: sig.score, z: sig.z, ts: sig.ts },
          at: sig.ts,
        });
    }
  }
  if (backInRange !== null && s.alerts.threshold) {
    for (const sensor in s.analytics) if (s.analytics[sensor]!.out) return;
    s.alerts.threshold = false;
    clearAlert(ctx, src, "threshold_violation", backInRange);
  }
}

/**
 * The device actor type, configured. Register the result of `actors()` (actors/mod.ts); refs
 * can use {@link device} for typing, since they resolve the type by name.
 */
export function deviceActor(cfg: ResolvedDevicesConfig) {
  const shards = cfg.presence.shards;

  function view(ctx: ActorContext<DeviceState>): DeviceView {
    const s = ctx.state;
    const profile = cfg.profile(s.type);
    const thresholds: Record<string, ThresholdRange> = {};
    const sensors = new Set([
      ...Object.keys(s.reported),
      ...(s.sensors ?? []),
      ...Object.keys(s.thresholds),
    ]);
    for (const sensor of sensors) {
      const range = rangeFor(s, profile, sensor);
      if (range !== undefined) thresholds[sensor] = range;
    }
    const analytics: Record<string, SensorAnalyticsView> = {};
    for (const sensor in s.analytics) analytics[sensor] = viewOf(s.analytics[sensor]!);
    return {
      id: ctx.id,
      registered: s.registered,
      type: s.type,
      location: s.location,
      sensors: s.sensors,
      heartbeatTimeout: timeoutOf(s, profile),
      status: s.status,
      statusSince: s.statusSince,
      lastSeen: s.lastSeen,
      messageCount: s.messageCount,
      battery: s.battery,
      rssi: s.rssi,
      reported: s.reported,
      desired: s.desired,
      delta: deltaOf(s.desired, s.reported),
      thresholds,
      analytics,
      quality: { score: s.quality.score, failedByType: { ...s.quality.failed } },
    };
  }

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
        return { created, twin: view(ctx) };
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
            clearAlert(ctx, source(ctx.id), "device_offline", now);
          }
          wentOnline(ctx, shards, timeoutOf(s, profile), deadline);
        }
        return { device: ctx.id, messageCount: s.messageCount };
      },

      /** Merges a desired-state patch (`null` removes a key) and pushes it to the device. */
      desired(ctx, patch: Readonly<Record<string, DesiredValue | null>>) {
        const s = ctx.state;
        if (!known(s)) throw notFound(ctx.id);
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
        if (!known(s)) throw notFound(ctx.id);
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
          source: source(ctx.id),
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
        return known(ctx.state) ? view(ctx) : null;
      },
      /** The list entry, or `null`. */
      summary(ctx): DeviceSummary | null {
        const s = ctx.state;
        if (!known(s)) return null;
        return {
          id: ctx.id,
          type: s.type,
          location: s.location,
          status: s.status,
          lastSeen: s.lastSeen,
          messageCount: s.messageCount,
          battery: s.battery,
          rssi: s.rssi,
          reported: s.reported,
        };
      },
      /** The data quality report of this device's stream, or `null`. */
      quality(ctx): QualityReport | null {
        return known(ctx.state) ? reportOf(ctx.id, ctx.state.quality) : null;
      },
      /**
       * History from the open chunk, and the sealed chunks to ask; `null` for an unknown device.
       */
      historyPlan(
        ctx,
        query: HistoryQuery,
      ): { items: HistoryItem[]; chunks: string[]; seqs: number[] } | null {
        const s = ctx.state;
        if (!known(s)) return null;
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
      upgrade(ctx.state);
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

/** A reading for a message to people: at most 4 significant decimals (the data keeps it all). */
function shown(value: number): string {
  return String(
    Number(value.toPrecision(Math.max(4, Math.ceil(Math.log10(Math.abs(value) + 1)) + 2))),
  );
}
