/**
 * The devices area's configuration: every threshold and weight of devices and edge nodes with
 * its default, deployment overrides merged over them (nested objects merge), checked once at
 * start, and the resolved settings per device type (cached, so a telemetry message looks its
 * rules up in O(1)). `deviceTypes` overrides thresholds, the heartbeat timeout and the quality
 * rules per device type; a device's own registration overrides its thresholds and heartbeat
 * timeout.
 *
 * @module
 */
import { ConfigError, type Duration, toMillis } from "../../runtime/mod.ts";
import type { AnalyticsConfig } from "./analytics.ts";
import { type CommandLimits, MAX_TTL_MS } from "./command_log.ts";
import type { KeyField } from "./dedup.ts";
import { DEFAULT_HISTORY, type HistoryConfig } from "./history.ts";
import { DEFAULT_PRESENCE, type PresenceConfig } from "./presence_shard.ts";
import type { QualityRules } from "./quality.ts";
import { DEFAULT_EDGE, type EdgeConfig } from "./routing.ts";
import { DEFAULT_THRESHOLDS, mergeThresholds, type Thresholds } from "./thresholds.ts";
import { DEFAULT_TREND, type TrendConfig } from "./trend.ts";
import { type AnomalyConfig, DEFAULT_ANOMALY } from "./zscore.ts";

/** Every property optional, at every depth (arrays are replaced, not merged). */
export type DeepPartial<T> = T extends readonly unknown[] ? T
  : T extends RegExp ? T
  : T extends object ? { -readonly [K in keyof T]?: DeepPartial<T[K]> }
  : T;

/** Per device type: what differs from the area's defaults. */
export interface DeviceTypeConfig {
  /** Per sensor, merged over the defaults bound by bound. */
  readonly thresholds?: Thresholds;
  readonly heartbeatTimeout?: Duration;
  readonly quality?: DeepPartial<QualitySettings>;
}

/**
 * The data quality rules as configuration spells them: {@link QualityRules} with durations and
 * regular expressions (source text) where the resolved rules hold milliseconds and `RegExp`s.
 * Field names in `required`, `types`, `fields` and `range.rules` are sensor names, except
 * `battery` and `rssi`, which name those fields of a record. Default range rules: humidity
 * 0–100, door_sensor 0 or 1.
 */
export interface QualitySettings
  extends Omit<QualityRules, "freshness" | "pattern" | "duplicates"> {
  /** @default { enabled: true, maxAge: "PT5M" } */
  readonly freshness: { readonly enabled: boolean; readonly maxAge: Duration };
  /** Regular expressions (source) the device id and every sensor name must match. */
  readonly pattern: {
    readonly enabled: boolean;
    readonly deviceId: string | null;
    readonly sensor: string | null;
  };
  readonly duplicates: {
    readonly enabled: boolean;
    /** @default ["ts", "readings"] */
    readonly keyFields: readonly KeyField[];
    /** @default "PT1H" */
    readonly window: Duration;
    /** @default 256 */
    readonly maxKeys: number;
  };
}

/** How the commands of one device are kept and re-sent (`device-commands` actors). */
export interface CommandsConfig {
  /** Commands not final yet, at most, per device (more: 429). @default 100 */
  readonly maxOpen: number;
  /** Final commands kept per device, at most (the oldest go first). @default 100 */
  readonly keepFinal: number;
  /** Final commands are kept this long, at most. @default "P7D" */
  readonly retention: Duration;
  /** A command's time to live when its sender gives none (at most 7 days). @default "PT1H" */
  readonly defaultTtl: Duration;
  /**
   * Re-sending undelivered commands to an online device: first after `initial`, each wait
   * twice the one before, at most `max`. @default { initial: "PT1S", max: "PT1M" }
   */
  readonly resend: { readonly initial: Duration; readonly max: Duration };
}

/** Configuration of this area: every threshold and weight, each with its default. */
export interface DevicesConfig {
  /** Offline after this long without telemetry, unless the type or device says otherwise. @default "PT1M" */
  readonly heartbeatTimeout: Duration;
  /** @default temperature [-10, 50], humidity [0, 100], vibration [0, 1000], door_sensor [0, 1] */
  readonly thresholds: Thresholds;
  /** The analytics window, in event time. @default 60 s, at most 120 readings per sensor */
  readonly window: { readonly span: Duration; readonly maxValues: number };
  readonly trend: TrendConfig;
  readonly anomaly: AnomalyConfig;
  readonly quality: QualitySettings;
  readonly history: HistoryConfig;
  readonly presence: PresenceConfig;
  /** Overrides by device type (the `type` of a registration). @default {} */
  readonly deviceTypes: Readonly<Record<string, DeviceTypeConfig>>;
  readonly edge: EdgeConfig;
  readonly commands: CommandsConfig;
  /** Idle device actors leave memory after this long. @default "PT10M" */
  readonly passivateAfter: Duration;
}

/**
 * The data quality defaults: every check on, EMA weight 0.1, at most 10 % of the counted fields
 * missing, records at most 5 minutes old, humidity within 0–100 and door sensors 0 or 1,
 * duplicates by time and readings within an hour, |z| above 3.5 against a sensor's last 1,000
 * values an anomaly.
 */
export const DEFAULT_QUALITY: QualitySettings = {
  alpha: 0.1,
  schema: { enabled: true, required: [], types: {}, strict: false, maxSensors: 64 },
  completeness: { enabled: true, fields: null, maxNullRatio: 0.1 },
  freshness: { enabled: true, maxAge: "PT5M" },
  range: {
    enabled: true,
    rules: { humidity: { min: 0, max: 100 }, door_sensor: { allowed: [0, 1] } },
  },
  pattern: { enabled: true, deviceId: null, sensor: null },
  duplicates: { enabled: true, keyFields: ["ts", "readings"], window: "PT1H", maxKeys: 256 },
  referential: { enabled: true },
  anomaly: { enabled: true, z: 3.5, values: 1000, buckets: 10, minValues: 10 },
  recentFailures: 5,
};

/**
 * The area's defaults: offline after a minute without telemetry, a 60 s analytics window of at
 * most 120 readings, the default thresholds, trend, anomaly, quality, history, presence and
 * edge settings, idle devices passivated after 10 minutes.
 */
export const DEFAULT_DEVICES_CONFIG: DevicesConfig = {
  heartbeatTimeout: "PT1M",
  thresholds: DEFAULT_THRESHOLDS,
  window: { span: "PT60S", maxValues: 120 },
  trend: DEFAULT_TREND,
  anomaly: DEFAULT_ANOMALY,
  quality: DEFAULT_QUALITY,
  history: DEFAULT_HISTORY,
  presence: DEFAULT_PRESENCE,
  deviceTypes: {},
  edge: DEFAULT_EDGE,
  commands: {
    maxOpen: 100,
    keepFinal: 100,
    retention: "P7D",
    defaultTtl: "PT1H",
    resend: { initial: "PT1S", max: "PT1M" },
  },
  passivateAfter: "PT10M",
};

/** The rules that apply to devices of one type (or of no type). */
export interface DeviceProfile {
  readonly thresholds: Thresholds;
  /** ms */
  readonly heartbeatTimeout: number;
  readonly quality: QualityRules;
  readonly analytics: AnalyticsConfig;
}

/** The configuration, checked, with a profile per device type. */
export interface ResolvedDevicesConfig {
  readonly config: DevicesConfig;
  readonly analytics: AnalyticsConfig;
  readonly history: DevicesConfig["history"];
  readonly presence: DevicesConfig["presence"];
  readonly edge: DevicesConfig["edge"];
  readonly commands: CommandLimits;
  readonly passivateAfter: number;
  /** The profile of a device type (`null`: unregistered or untyped). Cached. */
  profile(type: string | null): DeviceProfile;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x) && !(x instanceof RegExp);
}

/** Merges `override` over `base`: plain objects key by key, anything else replaced. */
export function mergeDeep<T>(base: T, override: unknown): T {
  if (override === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(override)) return override as T;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    out[key] = key in out ? mergeDeep(out[key], value) : value;
  }
  return out as T;
}

function positive(value: number, what: string, integer = false): number {
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new ConfigError(
      `${what} must be a positive ${integer ? "integer" : "number"}, got ${value}`,
    );
  }
  return value;
}

function ratio(value: number, what: string): number {
  if (!(value >= 0 && value <= 1)) {
    throw new ConfigError(`${what} must be within [0, 1], got ${value}`);
  }
  return value;
}

function regex(source: string | null, what: string): RegExp | null {
  if (source === null) return null;
  try {
    return new RegExp(source);
  } catch (cause) {
    throw new ConfigError(`${what} ${JSON.stringify(source)} is not a regular expression`, {
      cause,
    });
  }
}

/** Checks quality settings and resolves them into rules. @throws {ConfigError} */
export function qualityRules(s: QualitySettings, where = "quality"): QualityRules {
  for (const field of s.duplicates.keyFields) {
    if (!["ts", "readings", "battery", "rssi"].includes(field) && !field.startsWith("readings.")) {
      throw new ConfigError(
        `${where}.duplicates.keyFields: ${JSON.stringify(field)} is not ts, readings, ` +
          `readings.<sensor>, battery or rssi`,
      );
    }
  }
  for (const [name, type] of Object.entries(s.schema.types)) {
    if (type !== "number" && type !== "integer") {
      throw new ConfigError(`${where}.schema.types.${name} must be "number" or "integer"`);
    }
  }
  return {
    alpha: ratio(s.alpha, `${where}.alpha`),
    schema: {
      ...s.schema,
      maxSensors: positive(s.schema.maxSensors, `${where}.schema.maxSensors`, true),
    },
    completeness: {
      ...s.completeness,
      maxNullRatio: ratio(s.completeness.maxNullRatio, `${where}.completeness.maxNullRatio`),
    },
    freshness: {
      enabled: s.freshness.enabled,
      maxAge: toMillis(s.freshness.maxAge, `${where}.freshness.maxAge`),
    },
    range: s.range,
    pattern: {
      enabled: s.pattern.enabled,
      deviceId: regex(s.pattern.deviceId, `${where}.pattern.deviceId`),
      sensor: regex(s.pattern.sensor, `${where}.pattern.sensor`),
    },
    duplicates: {
      enabled: s.duplicates.enabled,
      keyFields: s.duplicates.keyFields,
      window: toMillis(s.duplicates.window, `${where}.duplicates.window`),
      maxKeys: positive(s.duplicates.maxKeys, `${where}.duplicates.maxKeys`, true),
    },
    referential: s.referential,
    anomaly: {
      ...s.anomaly,
      z: positive(s.anomaly.z, `${where}.anomaly.z`),
      values: positive(s.anomaly.values, `${where}.anomaly.values`, true),
      buckets: positive(s.anomaly.buckets, `${where}.anomaly.buckets`, true),
    },
    recentFailures: s.recentFailures,
  };
}

/** Checks the commands settings and resolves them into milliseconds. @throws {ConfigError} */
function commandLimits(c: CommandsConfig): CommandLimits {
  const ms = (value: Duration, what: string) =>
    positive(toMillis(value, `commands.${what}`), `commands.${what}`);
  const limits: CommandLimits = {
    maxOpen: positive(c.maxOpen, "commands.maxOpen", true),
    keepFinal: positive(c.keepFinal, "commands.keepFinal", true),
    retention: ms(c.retention, "retention"),
    defaultTtl: ms(c.defaultTtl, "defaultTtl"),
    resendInitial: ms(c.resend.initial, "resend.initial"),
    resendMax: ms(c.resend.max, "resend.max"),
  };
  if (limits.defaultTtl > MAX_TTL_MS) {
    throw new ConfigError(`commands.defaultTtl must be at most 7 days, got ${c.defaultTtl}`);
  }
  if (limits.resendMax < limits.resendInitial) {
    throw new ConfigError("commands.resend.max must be at least commands.resend.initial");
  }
  return limits;
}

/**
 * Merges a deployment's overrides over the defaults and checks the result.
 * @throws {ConfigError} naming the setting that is wrong
 */
export function resolveDevicesConfig(
  input: DeepPartial<DevicesConfig> = {},
): ResolvedDevicesConfig {
  const config = mergeDeep(DEFAULT_DEVICES_CONFIG, input);
  const heartbeat = positive(
    toMillis(config.heartbeatTimeout, "heartbeatTimeout"),
    "heartbeatTimeout",
  );
  const analytics: AnalyticsConfig = {
    window: {
      span: positive(toMillis(config.window.span, "window.span"), "window.span"),
      maxValues: positive(config.window.maxValues, "window.maxValues", true),
    },
    trend: {
      ...config.trend,
      values: positive(config.trend.values, "trend.values", true),
    },
    anomaly: config.anomaly,
  };
  if (config.trend.axis !== "index" && config.trend.axis !== "seconds") {
    throw new ConfigError(`trend.axis must be "index" or "seconds", got ${config.trend.axis}`);
  }
  positive(config.history.chunkSize, "history.chunkSize", true);
  positive(config.history.chunks, "history.chunks", true);
  positive(config.presence.shards, "presence.shards", true);
  positive(
    toMillis(config.edge.heartbeatTimeout, "edge.heartbeatTimeout"),
    "edge.heartbeatTimeout",
  );
  positive(config.edge.distanceUnitKm, "edge.distanceUnitKm");
  for (const key of ["cpu", "memory", "storage"] as const) {
    const v = config.edge.limits[key];
    if (!(v >= 0 && v <= 100)) {
      throw new ConfigError(`edge.limits.${key} must be within [0, 100], got ${v}`);
    }
  }
  positive(toMillis(config.presence.tick, "presence.tick"), "presence.tick");
  const commands = commandLimits(config.commands);
  const baseQuality = qualityRules(config.quality);
  const profiles = new Map<string | null, DeviceProfile>();
  const base: DeviceProfile = {
    thresholds: config.thresholds,
    heartbeatTimeout: heartbeat,
    quality: baseQuality,
    analytics,
  };
  profiles.set(null, base);
  // Check every configured type now, not at its first message.
  const build = (type: string): DeviceProfile => {
    const t = config.deviceTypes[type];
    if (t === undefined) return base;
    return {
      thresholds: mergeThresholds(config.thresholds, t.thresholds),
      heartbeatTimeout: t.heartbeatTimeout === undefined ? heartbeat : positive(
        toMillis(t.heartbeatTimeout, `deviceTypes.${type}.heartbeatTimeout`),
        `deviceTypes.${type}.heartbeatTimeout`,
      ),
      quality: t.quality === undefined
        ? baseQuality
        : qualityRules(mergeDeep(config.quality, t.quality), `deviceTypes.${type}.quality`),
      analytics,
    };
  };
  for (const type of Object.keys(config.deviceTypes)) profiles.set(type, build(type));
  return {
    config,
    analytics,
    history: config.history,
    presence: config.presence,
    edge: config.edge,
    commands,
    passivateAfter: toMillis(config.passivateAfter, "passivateAfter"),
    profile(type) {
      return profiles.get(type) ?? base;
    },
  };
}
