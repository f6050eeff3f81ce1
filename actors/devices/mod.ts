/**
 * Devices (SPEC §3.1): the device twin, its telemetry, analytics, data quality, heartbeats and
 * history; and edge nodes (SPEC §3.2) with routing.
 *
 * Every threshold and weight of SPEC §3.1–3.2 is a default in {@link DevicesConfig}; a
 * deployment overrides any part of it (nested objects merge), and `deviceTypes` overrides
 * thresholds, the heartbeat timeout and the quality rules per device type; a device's own
 * registration overrides its thresholds and heartbeat timeout.
 *
 * @module
 */
import type { AnyActorDefinition, Duration } from "../../runtime/mod.ts";
import type { AnomalyConfig } from "./zscore.ts";
import type { DeepPartial } from "./config.ts";
import type { QualityRules } from "./quality.ts";
import type { HistoryConfig } from "./history.ts";
import type { KeyField } from "./dedup.ts";
import type { PresenceConfig } from "./watchdog.ts";
import type { Thresholds } from "./thresholds.ts";
import type { TrendConfig } from "./trend.ts";
import type { EdgeConfig } from "./routing.ts";
import { resolveDevicesConfig } from "./config.ts";
import { deviceActor } from "./device.ts";
import { deviceHistory } from "./device_history.ts";
import { presenceShard } from "./watchdog.ts";
import { edgeNodeActor } from "./edge_node.ts";
import { edgeRegistryActor } from "./edge_registry.ts";

export { type DeepPartial, type ResolvedDevicesConfig, resolveDevicesConfig } from "./config.ts";
export { device, type DeviceState, type DeviceSummary, type DeviceView } from "./device.ts";
export { RecordRejectedError } from "./errors.ts";
export { DEVICE_HISTORY } from "./device_history.ts";
export {
  EDGE_HEARTBEAT_SCHEMA,
  EDGE_REGISTRATION_SCHEMA,
  type EdgeConfig,
  type EdgeHeartbeat,
  edgeNode,
  type EdgeNodeView,
  type EdgeRegistration,
  type Limits,
  parseEdgeHeartbeat,
  parseEdgeRegistration,
} from "./edge_node.ts";
export { edgeRegistry, NoEdgeNodeError, REGISTRY_ID } from "./edge_registry.ts";
export {
  chunkActorId,
  type HistoryItem,
  type HistoryQuery,
  merge as mergeHistory,
} from "./history.ts";
export { type CheckName, CHECKS, type QualityReport } from "./quality.ts";
export {
  type NodeCandidate,
  parseRouteRequest,
  ROUTE_REQUEST_SCHEMA,
  type RouteResult,
} from "./routing.ts";
export * from "./telemetry.ts";
export {
  type Command,
  COMMAND_SCHEMA,
  DESIRED_PATCH_SCHEMA,
  type DeviceLocation,
  parseCommand,
  parseDesiredPatch,
  parseRegistration,
  type Registration,
  REGISTRATION_SCHEMA,
} from "./twin.ts";
export { COMMANDS_TOPIC } from "./commands.ts";
export { PRESENCE_SHARD } from "./watchdog.ts";

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

/** Configuration of this area: every threshold and weight, defaulting to SPEC §3. */
export interface DevicesConfig {
  /** Offline after this long without telemetry, unless the type or device says otherwise. @default "PT1M" */
  readonly heartbeatTimeout: Duration;
  /** @default SPEC §3.1: temperature [-10, 50], humidity [0, 100], vibration [0, 1000], door_sensor [0, 1] */
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
  /** Idle device actors leave memory after this long. @default "PT10M" */
  readonly passivateAfter: Duration;
}

/** The actor types of this area, configured (defaults for whatever `config` leaves out). */
export function actors(config: DeepPartial<DevicesConfig> = {}): AnyActorDefinition[] {
  const resolved = resolveDevicesConfig(config);
  return [
    deviceActor(resolved),
    deviceHistory(resolved.history),
    presenceShard(resolved.presence),
    edgeNodeActor(resolved),
    edgeRegistryActor(resolved.edge),
  ];
}
