/**
 * Devices and edge nodes: the device twin — its telemetry, analytics, data quality, heartbeats
 * and history — its commands (durable, re-sent until the device has them), and the edge nodes of the device / edge / fog / cloud tiers with routing to
 * them. Every threshold and weight is a default in {@link DevicesConfig} (`config.ts`).
 *
 * The actor definitions exported here are configured with the defaults: they type refs
 * (`system.ref(device, id).ask("twin")` is a `DeviceView | null`); {@link actors} gives the
 * configured ones to register.
 *
 * @module
 */
import type { AnyActorDefinition } from "../../runtime/mod.ts";
import { type DeepPartial, type DevicesConfig, resolveDevicesConfig } from "./config.ts";
import { deviceActor } from "./device.ts";
import { deviceCommandsActor } from "./device_commands.ts";
import { deviceHistory } from "./device_history.ts";
import { edgeNodeActor } from "./edge_node.ts";
import { edgeRegistryActor } from "./edge_registry.ts";
import { presenceShardActor } from "./presence_shard.ts";

export {
  type DeepPartial,
  DEFAULT_DEVICES_CONFIG,
  type DevicesConfig,
  type DeviceTypeConfig,
  type QualitySettings,
  type ResolvedDevicesConfig,
  resolveDevicesConfig,
} from "./config.ts";
export {
  CommandConflictError,
  CommandFinalError,
  NoEdgeNodeError,
  PreconditionFailedError,
  RecordRejectedError,
  TooManyCommandsError,
} from "./errors.ts";
export {
  type CommandMessage,
  COMMANDS_TOPIC,
  type CommandsEvent,
  type CommandStatusEvent,
  commandSubject,
  type DesiredMessage,
  DEVICE_COMMANDS,
  type DeviceMessage,
  deviceSubjectOf,
  type ReportIgnoredEvent,
} from "./commands.ts";
export {
  COMMAND_STATUSES,
  commandNotFound,
  type CommandQuery,
  type CommandStatus,
  type CommandView,
  type IgnoredReason,
  MAX_TTL_MS,
  type NewCommand,
  REPORT_STATUSES,
} from "./command_log.ts";
export {
  COMMAND_ID,
  COMMAND_SCHEMA,
  commandReport,
  HELLO_SCHEMA,
  newCommand,
  REPORT_SCHEMA,
  STATUS_REPORT_SCHEMA,
} from "./command_requests.ts";
export { commandMetrics } from "./command_metrics.ts";
export {
  type CommandTarget,
  type DesiredChange,
  device,
  DEVICE_SNAPSHOT_EVERY,
  deviceActor,
} from "./device.ts";
export {
  type CreatedCommand,
  deviceCommands,
  deviceCommandsActor,
  type Hello,
  type ReportOutcome,
} from "./device_commands.ts";
export type {
  DeviceState,
  DeviceStatus,
  DeviceSummary,
  DeviceView,
  TelemetryReply,
} from "./device_state.ts";
export { DEVICE_HISTORY, deviceHistory } from "./device_history.ts";
export {
  EDGE_HEARTBEAT_SCHEMA,
  EDGE_NODE,
  EDGE_REGISTRATION_SCHEMA,
  type EdgeHeartbeat,
  edgeNode,
  type EdgeNodeView,
  type EdgeRegistration,
  parseEdgeHeartbeat,
  parseEdgeRegistration,
  TIERS,
} from "./edge_node.ts";
export { EDGE_REGISTRY, edgeRegistry, type NodePage, REGISTRY_ID } from "./edge_registry.ts";
export {
  chunkActorId,
  type HistoryItem,
  type HistoryQuery,
  merge as mergeHistory,
} from "./history.ts";
export { decodeDeviceMessage, deviceIngest } from "./ingest.ts";
export { PRESENCE_SHARD, presenceShard } from "./presence_shard.ts";
export { type CheckName, CHECKS, type QualityReport } from "./quality.ts";
export {
  type EdgeConfig,
  type Limits,
  type NodeCandidate,
  parseRouteRequest,
  ROUTE_REQUEST_SCHEMA,
  type RouteRequest,
  type RouteResult,
} from "./routing.ts";
export {
  DEVICE_ID,
  MAX_READING,
  parseTelemetry,
  RESERVED_NAMES,
  SENSOR_NAME,
  TELEMETRY_SCHEMA,
  type TelemetryRecord,
  telemetryRecord,
} from "./telemetry.ts";
export {
  DESIRED_PATCH_SCHEMA,
  type DesiredValue,
  type DeviceLocation,
  parseDesiredPatch,
  parseRegistration,
  type Registration,
  REGISTRATION_SCHEMA,
} from "./twin.ts";

/** The actor types of this area, configured (defaults for whatever `config` leaves out). */
export function actors(config: DeepPartial<DevicesConfig> = {}): AnyActorDefinition[] {
  const resolved = resolveDevicesConfig(config);
  return [
    deviceActor(resolved),
    deviceCommandsActor(resolved),
    deviceHistory,
    presenceShardActor(resolved.presence),
    edgeNodeActor(resolved),
    edgeRegistryActor(resolved.edge),
  ];
}
