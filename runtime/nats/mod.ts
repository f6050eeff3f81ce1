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
export { DEFAULT_PARTITIONS, fnv1a32, ownerOf, partitionOf } from "./hash.ts";
export { Placement, type PlacementOptions } from "./placement.ts";
export {
  type PartitionsReadiness,
  partitionsReadiness,
  type PartitionsState,
} from "./readiness.ts";
export { ensureStreams, type Retention, STREAMS, SUBJECTS } from "./streams.ts";
export {
  type IngestDecoder,
  type IngestRejection,
  NatsTransport,
  type NatsTransportOptions,
  RemoteError,
} from "./transport.ts";
