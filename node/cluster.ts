/**
 * The cluster half of a node: the NATS connection, the JetStream streams, the event stream
 * and the partitioned transport, wired to each other in the order they need.
 *
 * @module
 */
import { COMMANDS_TOPIC, deviceSubjectOf } from "../actors/devices/commands.ts";
import { deviceIngest } from "../actors/devices/ingest.ts";
import { describeError, type Logger, type MetricsRegistry } from "../runtime/mod.ts";
import {
  checkPartitionMapping,
  connectNats,
  ensureStreams,
  JetStreamEventBus,
  type NatsClients,
  NatsTransport,
} from "../runtime/nats/mod.ts";
import type { NodeConfig } from "./config.ts";
import { type EdgeLinks, prepareEdge } from "./sites/mod.ts";

/** What a node in cluster mode runs on besides its store. */
export interface ClusterParts {
  readonly nats: NatsClients;
  /** Started: it follows the event stream already. */
  readonly events: JetStreamEventBus;
  /** Not started: the actor system starts it. */
  readonly transport: NatsTransport;
  /** The node's part in edge sites (`FLOTILLA_SITE` / `FLOTILLA_SITES`), if any; not started. */
  readonly edge: EdgeLinks | null;
}

/**
 * Connects to NATS (`config.natsUrl`), checks nats-server's partition mapping, creates the
 * streams and starts the event stream.
 * @throws when NATS cannot be reached or its subject mapping does not match `config.partitions`
 */
export async function connectCluster(
  config: NodeConfig,
  { logger, metrics }: { readonly logger: Logger; readonly metrics: MetricsRegistry },
): Promise<ClusterParts> {
  const servers = config.natsUrl!.split(",");
  const nats = await connectNats(servers, { name: `flotilla-${config.nodeId}`, logger });
  await checkPartitionMapping(nats.nc, config.partitions);
  await ensureStreams(nats.jsm, {
    ingestMaxAgeMs: config.streamMaxAgeMs,
    messagesMaxAgeMs: config.streamMaxAgeMs,
    eventsMaxAgeMs: config.streamMaxAgeMs,
    replicas: config.streamReplicas,
  });
  const edge = await prepareEdge(config.edge, nats, {
    partitions: config.partitions,
    replicas: config.streamReplicas,
    logger,
  });
  const events = new JetStreamEventBus({
    ...nats,
    logger,
    capacity: config.eventRing,
    // Messages to a device (commands, its desired state) go out on its own subject, where it
    // (and only it) may listen; command status changes stay on the event stream.
    forward: { [COMMANDS_TOPIC]: deviceSubjectOf },
  });
  await events.start();
  const transport = new NatsTransport({
    ...nats,
    // Leases and heartbeats are kept on a thread (and a connection) of their own: a busy
    // event loop must never delay a renewal.
    leaseServers: servers,
    onLeaseFailure: (error) => {
      // Nothing renews this node's leases any more: it owns nothing and cannot take work.
      // Exit, so that a supervisor (systemd, Docker, Kubernetes) starts it afresh; what was
      // acknowledged is durable and the rest is redelivered to the nodes taking over.
      logger.error("lease keeper failed; exiting", { error: describeError(error) });
      Deno.exit(70);
    },
    nodeId: config.nodeId,
    partitions: config.partitions,
    leaseMs: config.leaseMs,
    replicas: config.streamReplicas,
    ingest: deviceIngest,
    ...(edge === null ? {} : { feeds: edge.feeds }),
    logger,
    metrics,
    events,
  });
  return { nats, events, transport, edge };
}
