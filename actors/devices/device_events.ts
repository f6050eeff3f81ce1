/**
 * The device twin as an event-sourced state: every change of a device is one small journal
 * event — a telemetry record with its receive time, a registration, a desired-state patch, a
 * hello, a device going offline — and {@link applyDeviceEvent} folds it into the state. The
 * store appends the event (about a hundred bytes for a reading) instead of rewriting the whole
 * twin (kilobytes: analytics windows, data quality, the open history chunk), and the runtime
 * writes a snapshot of the state every `snapshotEvery` events, compacting the journal behind it.
 *
 * Folding is deterministic: the same state and event give the same state, whether the device
 * actor runs the command now or an activation replays the journal later (with the devices
 * configuration of the node replaying: a threshold changed in between applies to the events
 * replayed after the last snapshot). What a command sends out (alerts, history chunks,
 * presence) is decided by the actor from the {@link TelemetryOutcome} the fold leaves behind;
 * replay throws it away.
 *
 * @module
 */
import { emptyAnalytics, observe, type Signal } from "./analytics.ts";
import type { ResolvedDevicesConfig } from "./config.ts";
import { trackAlerts } from "./device_alerts.ts";
import { type DeviceState, rangeFor, upgradeDevice } from "./device_state.ts";
import { record as recordReading, type SealedChunk } from "./history.ts";
import { assess, type QualityVerdict } from "./quality.ts";
import { applyTelemetry, type TelemetryRecord } from "./telemetry.ts";
import { applyDesired, type DesiredValue, type Registration } from "./twin.ts";

/**
 * One change of a device, as journaled. `at` is the receive time (the device actor's clock
 * when it ran the command), so that replay decides as the command did.
 */
export type DeviceEvent =
  /** A telemetry record (applied, or rejected by the quality schema — counted either way). */
  | { readonly k: "t"; readonly at: number; readonly r: TelemetryRecord }
  /** A registration (a whole replacement of the metadata). */
  | { readonly k: "reg"; readonly at: number; readonly r: Registration }
  /** A desired-state merge patch. */
  | {
    readonly k: "des";
    readonly at: number;
    readonly p: Readonly<Record<string, DesiredValue | null>>;
  }
  /** The device said hello and has the current desired state now. */
  | { readonly k: "hi"; readonly at: number }
  /** The device has had a command. */
  | { readonly k: "cmd" }
  /** The heartbeat timeout passed: offline. */
  | { readonly k: "off"; readonly at: number };

/** What folding a telemetry event decided, for the command that recorded it to act on. */
export interface TelemetryOutcome {
  /** The quality verdict (a rejected record changed only the quality counters). */
  readonly verdict: QualityVerdict;
  /** The device had been heard from before this record. */
  readonly seenBefore: boolean;
  /** The device was offline and this record brought it online. */
  readonly cameOnline: boolean;
  /** It had said hello since it went offline and had the current desired state. */
  readonly synced: boolean;
  /** The offline alert was open and is cleared now. */
  readonly offlineCleared: boolean;
  /** What the analytics signalled, in reading order. */
  readonly signals: Signal[];
  /** When the threshold alert closed (the readings are back in range); `null`: it did not. */
  readonly thresholdCleared: number | null;
  /** History chunks this record sealed, to hand to their `device-history` actors. */
  readonly sealed: SealedChunk[];
}

/** States already upgraded from an older stored shape (or created by this version). */
const current = new WeakSet<object>();

/** Marks a state as of the current shape: {@link applyDeviceEvent} need not upgrade it. */
export function markCurrent(state: DeviceState): DeviceState {
  current.add(state);
  return state;
}

/**
 * Makes sure a state (loaded from a snapshot an older version wrote, say) has every field the
 * events fold into. Cheap after the first call for a state object.
 */
export function ensureCurrent(state: DeviceState): void {
  if (current.has(state)) return;
  upgradeDevice(state);
  current.add(state);
}

/**
 * Folds an event of device `id` into `state` (in place).
 * @returns the outcome of a telemetry event; `null` for the other events
 * @throws {ValidationError} a desired patch that would leave too many keys (nothing changed)
 */
export function applyDeviceEvent(
  state: DeviceState,
  event: DeviceEvent,
  id: string,
  cfg: ResolvedDevicesConfig,
): TelemetryOutcome | null {
  ensureCurrent(state);
  const s = state;
  switch (event.k) {
    case "t":
      return applyReading(s, id, event.r, event.at, cfg);
    case "reg": {
      const reg = event.r;
      if (!s.registered) s.registeredAt = event.at;
      s.registered = true;
      s.type = reg.type;
      s.location = reg.location ?? null;
      s.sensors = reg.sensors === undefined ? null : [...reg.sensors];
      s.thresholds = reg.thresholds ?? {};
      s.heartbeatTimeout = reg.heartbeatTimeout ?? null;
      return null;
    }
    case "des":
      applyDesired(s.desired, event.p);
      for (const key in event.p) {
        if (event.p[key] === null) delete s.desiredUpdatedAt[key];
        else s.desiredUpdatedAt[key] = event.at;
      }
      s.desiredVersion++;
      return null;
    case "hi":
      s.hello = { at: event.at, desiredVersion: s.desiredVersion };
      return null;
    case "cmd":
      s.commandsInUse = true;
      return null;
    case "off":
      s.status = "offline";
      s.statusSince = event.at;
      s.alerts.offline = true;
      return null;
  }
}

function applyReading(
  s: DeviceState,
  id: string,
  record: TelemetryRecord,
  now: number,
  cfg: ResolvedDevicesConfig,
): TelemetryOutcome {
  const profile = cfg.profile(s.type);
  const verdict = assess(s.quality, record, {
    deviceId: id,
    now,
    registered: s.registered,
    sensors: s.sensors,
    known: s.reported,
  }, profile.quality);
  const signals: Signal[] = [];
  const sealed: SealedChunk[] = [];
  const seenBefore = s.lastSeen !== null;
  if (verdict.rejected) {
    return {
      verdict,
      seenBefore,
      cameOnline: false,
      synced: false,
      offlineCleared: false,
      signals,
      thresholdCleared: null,
      sealed,
    };
  }
  applyTelemetry(s, record, now);
  s.reportedVersion++;
  for (const sensor in record.readings) {
    const value = record.readings[sensor]!;
    const a = s.analytics[sensor] ??= emptyAnalytics();
    observe(a, sensor, record.ts, value, rangeFor(s, profile, sensor), profile.analytics, signals);
    const chunk = recordReading(s.history, record.ts, sensor, value, cfg.history);
    if (chunk !== null) sealed.push(chunk);
  }
  const thresholdCleared = signals.length > 0 ? trackAlerts(s, signals) : null;
  let cameOnline = false, synced = false, offlineCleared = false;
  if (s.status !== "online") {
    cameOnline = true;
    // Whether it said hello since it went offline and has the current desired state.
    synced = s.hello !== null && s.hello.at >= (s.statusSince ?? -Infinity) &&
      s.hello.desiredVersion === s.desiredVersion;
    s.status = "online";
    s.statusSince = now;
    if (s.alerts.offline) {
      s.alerts.offline = false;
      offlineCleared = true;
    }
  }
  return {
    verdict,
    seenBefore,
    cameOnline,
    synced,
    offlineCleared,
    signals,
    thresholdCleared,
    sealed,
  };
}
