/**
 * A device's state — its digital twin: registration, reported and desired state, online or
 * offline, per-sensor analytics, data quality and recent history, as plain JSON — and how the
 * API shows it. Pure functions; the `device` actor (`device.ts`) changes the state.
 *
 * @module
 */
import type { SensorAnalytics, SensorAnalyticsView } from "./analytics.ts";
import { viewOf } from "./analytics.ts";
import type { DeviceProfile } from "./config.ts";
import { type DeviceHistory, emptyHistory } from "./history.ts";
import { type CheckName, emptyQuality, type StreamQuality } from "./quality.ts";
import type { DeviceTwin, Reported } from "./telemetry.ts";
import type { ThresholdRange, Thresholds } from "./thresholds.ts";
import { deltaOf, type DesiredValue, type DeviceLocation } from "./twin.ts";

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
  /** When each desired key was last set (epoch ms). */
  desiredUpdatedAt: Record<string, number>;
  /** Incremented by every change of the reported state (each applied telemetry record). */
  reportedVersion: number;
  /**
   * The device's last hello (epoch ms) and the desired version it has had since (it was sent
   * the current one if it was behind); `null`: never said hello.
   */
  hello: { at: number; desiredVersion: number } | null;
  /**
   * Whether the device has ever had a command: only then does the device actor tell its
   * `device-commands` actor when it comes online or goes offline.
   */
  commandsInUse: boolean;
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
  /** The desired state's version: +1 per change (the twin's `ETag`). */
  readonly desiredVersion: number;
  /** When each desired key was last set (epoch ms). */
  readonly desiredUpdatedAt: Readonly<Record<string, number>>;
  /** The reported state's version: +1 per applied telemetry record. */
  readonly reportedVersion: number;
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
    desiredUpdatedAt: {},
    reportedVersion: 0,
    hello: null,
    commandsInUse: false,
    analytics: {},
    alerts: { threshold: false, offline: false },
    quality: emptyQuality(),
    history: emptyHistory(),
  };
}

/** Fills in place what a state written by an older version lacks (on activation). */
export function upgradeDevice(state: DeviceState): void {
  const empty = emptyDevice() as unknown as Record<string, unknown>;
  const s = state as unknown as Record<string, unknown>;
  for (const key of Object.keys(empty)) if (!(key in s)) s[key] = empty[key];
  // Before commands had an actor of their own, the twin counted the commands sent.
  if (typeof s.commands === "number") {
    state.commandsInUse = s.commands > 0;
    delete s.commands;
  }
}

/** Whether the device exists for the API: registered, or heard from. */
export function isKnown(s: DeviceState): boolean {
  return s.registered || s.lastSeen !== null;
}

/** A sensor's effective range: the device's own bounds over its type's, bound by bound. */
export function rangeFor(
  s: DeviceState,
  profile: DeviceProfile,
  sensor: string,
): ThresholdRange | undefined {
  const own = s.thresholds[sensor];
  const base = profile.thresholds[sensor];
  if (own === undefined) return base;
  return base === undefined ? own : { ...base, ...own };
}

/** The device's effective heartbeat timeout, ms: its own, else its type's. */
export function timeoutOf(s: DeviceState, profile: DeviceProfile): number {
  return s.heartbeatTimeout ?? profile.heartbeatTimeout;
}

/** When the device goes offline if nothing arrives before (epoch ms; `-Infinity` unseen). */
export function deadlineOf(s: DeviceState, profile: DeviceProfile): number {
  return (s.lastSeen ?? -Infinity) + timeoutOf(s, profile);
}

/** The twin as the API shows it, by the rules of the device's type. */
export function deviceView(id: string, s: DeviceState, profile: DeviceProfile): DeviceView {
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
    id,
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
    desiredVersion: s.desiredVersion,
    desiredUpdatedAt: s.desiredUpdatedAt,
    reportedVersion: s.reportedVersion,
    thresholds,
    analytics,
    quality: { score: s.quality.score, failedByType: { ...s.quality.failed } },
  };
}

/** The device as a list shows it. */
export function deviceSummary(id: string, s: DeviceState): DeviceSummary {
  return {
    id,
    type: s.type,
    location: s.location,
    status: s.status,
    lastSeen: s.lastSeen,
    messageCount: s.messageCount,
    battery: s.battery,
    rssi: s.rssi,
    reported: s.reported,
  };
}
