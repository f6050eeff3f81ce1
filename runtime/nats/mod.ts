/**
 * Cluster mode over NATS JetStream: the transport, partition placement with leases, the
 * JetStream event bus, and the connection helpers.
 *
 * @module
 */
export {
  checkPartitionMapping,
  closeNats,
  connectNats,
  type NatsClients,
  partitionMappings,
} from "./connection.ts";
export { JetStreamEventBus, type JetStreamEventBusOptions } from "./event_bus.ts";
export {
  BATCH_HEADER,
  comparePositions,
  eventId,
  type EventPosition,
  type PackedEvent,
  parseEventId,
  unpackEvents,
} from "./event_batch.ts";
export { DEFAULT_PARTITIONS, fnv1a32, ownerOf, partitionOf } from "./hash.ts";
export { Placement, type PlacementOptions } from "./placement.ts";
export {
  type PartitionsReadiness,
  partitionsReadiness,
  type PartitionsState,
} from "./readiness.ts";
export {
  ensureStreamConfigs,
  ensureStreams,
  type Retention,
  STREAMS,
  SUBJECTS,
} from "./streams.ts";
export {
  DEFAULT_LINK_RETENTION,
  hubStreamConfigs,
  type LinkRetention,
  originSeq,
  SITE_NAME,
  SITE_STREAMS,
  SITE_SUBJECTS,
  siteStreamConfigs,
} from "./site_streams.ts";
export {
  type IngestDecoder,
  type IngestRejection,
  NatsTransport,
  type NatsTransportOptions,
  type PartitionFeed,
  RemoteError,
} from "./transport.ts";
