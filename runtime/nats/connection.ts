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
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
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

/** The device id of the start-up probes of the device mappings. */
const PROBE_DEVICE = "flotilla-mapping-probe";

/**
 * Checks that nats-server maps subjects to partitions as this node does: publishes a few
 * probes on `fl.probe.<id>` and expects them back on `fl.probe.<partitionOf(id)>.<id>`; then one
 * probe on each device subject of {@link partitionMappings} (`iot.<id>.hello`, …), expected on
 * its ingest subject. The device probes carry `Nats-Expected-Stream` naming no stream, so
 * JetStream refuses to store them: they never reach the ingest stream or an actor.
 *
 * @throws {ConfigError} naming the mappings the server config needs.
 */
export async function checkPartitionMapping(nc: NatsConnection, partitions: number): Promise<void> {
  const ids = ["flotilla", "probe-1", "probe-2", "robot1", "sensor-42", "a"];
  const mappings = Object.entries(partitionMappings(partitions));
  // Each device mapping's subject with the probe's id (and `x` for a second token), and where
  // the mapping must put it.
  const devices = mappings.filter(([from]) => !from.startsWith(SUBJECTS.probe)).map((
    [from, to],
  ) => ({
    subject: from.replace("*", PROBE_DEVICE).replace("*", "x"),
    expected: to.replace(
      /\{\{partition\((\d+),1\)\}\}/,
      (_, n) => String(partitionOf(PROBE_DEVICE, Number(n))),
    )
      .replace("{{wildcard(1)}}", PROBE_DEVICE).replace("{{wildcard(2)}}", "x"),
  }));
  const seen = new Map<string, string>();
  const note = (_error: unknown, msg: { data: Uint8Array; subject: string }) => {
    seen.set(new TextDecoder().decode(msg.data), msg.subject);
  };
  const subs = [
    nc.subscribe(`${SUBJECTS.probe}.>`, { callback: note }),
    nc.subscribe(`${SUBJECTS.ingest}.*.${PROBE_DEVICE}.>`, { callback: note }),
  ];
  try {
    for (const id of ids) nc.publish(`${SUBJECTS.probe}.${id}`, id);
    const h = headers();
    h.set("Nats-Expected-Stream", PROBE_DEVICE);
    for (const { subject } of devices) nc.publish(subject, subject, { headers: h });
    await nc.flush();
    const deadline = Date.now() + 2000;
    while (seen.size < ids.length + devices.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    for (const sub of subs) sub.unsubscribe();
  }
  const wrong = [
    ...ids.map((id) => ({
      subject: `${SUBJECTS.probe}.${id}`,
      key: id,
      expected: `${SUBJECTS.probe}.${partitionOf(id, partitions)}.${id}`,
    })),
    ...devices.map((d) => ({ ...d, key: d.subject })),
  ].filter((probe) => seen.get(probe.key) !== probe.expected);
  if (wrong.length > 0) {
    const got = wrong.map((p) => `${p.subject} → ${seen.get(p.key) ?? "nothing"}`).join(", ");
    const needed = mappings.map(([from, to]) => `"${from}": "${to}"`).join(", ");
    throw new ConfigError(
      `nats-server does not map subjects as FLOTILLA_PARTITIONS=${partitions} needs (${got}). ` +
        `Its config needs these mappings (see deploy/nats/): ${needed}`,
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
