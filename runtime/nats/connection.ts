/**
 * Connecting to NATS: reconnection with backoff forever (a node outlives NATS restarts),
 * status changes logged, and the start-up check that nats-server partitions device subjects
 * the way this node computes partitions.
 *
 * @module
 */
import {
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
} from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { ConfigError, describeError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { partitionOf } from "./hash.ts";
import { SUBJECTS } from "./streams.ts";

/** A NATS connection with its JetStream clients. */
export interface NatsClients {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
}

/** Connects, retrying the first connection too, and logs disconnects and reconnects. */
export async function connectNats(
  servers: string | string[],
  options: { readonly name: string; readonly logger: Logger },
): Promise<NatsClients> {
  const { urls, user, pass } = splitCredentials(Array.isArray(servers) ? servers : [servers]);
  const nc = await connect({
    servers: urls,
    ...(user === undefined ? {} : { user, pass }),
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 100,
    waitOnFirstConnect: true,
    pingInterval: 5_000,
    maxPingOut: 3,
  });
  (async () => {
    for await (const status of nc.status()) {
      if (status.type === "disconnect" || status.type === "reconnect") {
        options.logger.warn(`nats ${status.type}`, {
          server: (status as { server?: string }).server,
        });
      }
    }
  })().catch(() => {});
  return { nc, js: jetstream(nc), jsm: await jetstreamManager(nc) };
}

/**
 * Checks that nats-server maps subjects to partitions as this node does: publishes a few
 * probes on `fl.probe.<id>` and expects them back on `fl.probe.<partitionOf(id)>.<id>`.
 *
 * @throws {ConfigError} naming the mapping the server config needs.
 */
export async function checkPartitionMapping(nc: NatsConnection, partitions: number): Promise<void> {
  const ids = ["flotilla", "probe-1", "probe-2", "robot1", "sensor-42", "a"];
  const seen = new Map<string, string>();
  const sub = nc.subscribe(`${SUBJECTS.probe}.>`, {
    callback: (_error, msg) => {
      const id = new TextDecoder().decode(msg.data);
      seen.set(id, msg.subject);
    },
  });
  try {
    for (const id of ids) nc.publish(`${SUBJECTS.probe}.${id}`, id);
    await nc.flush();
    const deadline = Date.now() + 2000;
    while (seen.size < ids.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    sub.unsubscribe();
  }
  const wrong = ids.filter((id) =>
    seen.get(id) !== `${SUBJECTS.probe}.${partitionOf(id, partitions)}.${id}`
  );
  if (wrong.length > 0) {
    const got = wrong.map((id) => `${id} → ${seen.get(id) ?? "nothing"}`).join(", ");
    const needed = Object.entries(partitionMappings(partitions))
      .map(([from, to]) => `"${from}": "${to}"`).join(", ");
    throw new ConfigError(
      `nats-server does not partition subjects into FLOTILLA_PARTITIONS=${partitions} partitions ` +
        `(${got}). Its config needs these mappings (see deploy/nats/): ${needed}`,
    );
  }
}

/**
 * The subject mappings a nats-server config needs for `partitions` partitions: device telemetry
 * (`iot.<id>.telemetry`, `sensors.<id>.<sensor>`), hellos (`iot.<id>.hello`) and command
 * reports (`iot.<id>.commands`) into the partitioned ingest subjects, and the start-up probe.
 */
export function partitionMappings(partitions: number): Record<string, string> {
  const device = `${SUBJECTS.ingest}.{{partition(${partitions},1)}}.{{wildcard(1)}}`;
  return {
    [`${SUBJECTS.probe}.*`]: `${SUBJECTS.probe}.{{partition(${partitions},1)}}.{{wildcard(1)}}`,
    "iot.*.telemetry": `${device}.t`,
    "iot.*.hello": `${device}.h`,
    "iot.*.commands": `${device}.c`,
    "sensors.*.*": `${device}.s.{{wildcard(2)}}`,
  };
}

/** Drains and closes a connection, logging instead of throwing. */
export async function closeNats(nc: NatsConnection, logger: Logger): Promise<void> {
  try {
    await nc.drain();
  } catch (error) {
    logger.warn("closing the NATS connection failed", { error: describeError(error) });
  }
}

/**
 * Takes `user:password@` out of server URLs (nats.js wants them as options): every URL that
 * carries credentials must carry the same ones.
 */
export function splitCredentials(
  servers: readonly string[],
): { urls: string[]; user?: string; pass?: string } {
  let user: string | undefined;
  let pass: string | undefined;
  const urls = servers.map((server) => {
    const match = /^([a-z]+:\/\/)([^:@/]+)(?::([^@/]*))?@(.*)$/i.exec(server.trim());
    if (match === null) return server.trim();
    const [, scheme, u, p = "", rest] = match;
    const decodedUser = decodeURIComponent(u!);
    const decodedPass = decodeURIComponent(p);
    if (user !== undefined && (user !== decodedUser || pass !== decodedPass)) {
      throw new ConfigError("NATS_URL: every server URL must carry the same user and password");
    }
    user = decodedUser;
    pass = decodedPass;
    return `${scheme}${rest}`;
  });
  return user === undefined ? { urls } : { urls, user, pass: pass ?? "" };
}
