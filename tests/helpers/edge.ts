/**
 * An edge site and its hub for tests, on loopback: the hub's nats-server (JetStream domain
 * `hub`, Flotilla's mappings, a leaf node listener) with a redis-server and hub node processes
 * (`FLOTILLA_SITES`), and the site's nats-server (JetStream domain `<site>`, a leaf node of the
 * hub's, the same deny lists as `deploy/nats/site.conf`) with one site node process
 * (`FLOTILLA_SITE`, Deno KV in a directory kept across restarts).
 *
 * The leaf connection goes through a TCP relay the test controls: {@link EdgeRig.cutLink}
 * closes it and refuses new connections (both servers keep running, as with a cable pulled),
 * {@link EdgeRig.restoreLink} lets the site's server connect again.
 *
 * @module
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { mappingsConfig, PARTITIONS } from "./cluster.ts";
import { type NodeProcess, startNodeProcess } from "./process.ts";
import {
  freePort,
  type NatsServerHandle,
  type RedisServerHandle,
  startNatsServer,
  startRedisServer,
} from "./servers.ts";

/** The deny lists of a site's leaf connection (as in `deploy/nats/site.conf`). */
export const LEAF_DENY = ["iot.>", "sensors.>", "cmd.>", "fl.>", "$KV.>", "$MQTT.>"];

/** The card key hub and site share in tests. */
const CARD_KEY = "test-card-key-test-card-key-test-card-key";

/** A TCP relay between the site's nats-server and the hub's leaf listener. */
class Relay {
  readonly port = freePort();
  #target: number;
  #listener: Deno.Listener | null = null;
  #conns = new Set<Deno.Conn>();

  constructor(target: number) {
    this.#target = target;
  }

  open(): void {
    if (this.#listener !== null) return;
    const listener = Deno.listen({ hostname: "127.0.0.1", port: this.port });
    this.#listener = listener;
    (async () => {
      for await (const conn of listener) this.#pipe(conn);
    })().catch(() => {});
  }

  async #pipe(inbound: Deno.Conn): Promise<void> {
    let outbound: Deno.Conn;
    try {
      outbound = await Deno.connect({ hostname: "127.0.0.1", port: this.#target });
    } catch {
      inbound.close();
      return;
    }
    this.#conns.add(inbound);
    this.#conns.add(outbound);
    const close = () => {
      for (const c of [inbound, outbound]) {
        if (this.#conns.delete(c)) {
          try {
            c.close();
          } catch { /* closed already */ }
        }
      }
    };
    inbound.readable.pipeTo(outbound.writable).catch(() => {}).finally(close);
    outbound.readable.pipeTo(inbound.writable).catch(() => {}).finally(close);
  }

  close(): void {
    this.#listener?.close();
    this.#listener = null;
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* closed already */ }
    }
    this.#conns.clear();
  }
}

/** Options of {@link startEdge}. */
export interface EdgeOptions {
  /** @default "store1" */
  readonly site?: string;
  /** Hub nodes. @default 1 */
  readonly hubNodes?: number;
  /** Extra environment of every node. */
  readonly env?: Readonly<Record<string, string>>;
}

/** A running hub and site. */
export class EdgeRig {
  readonly site: string;
  readonly hubNats: NatsServerHandle;
  readonly siteNats: NatsServerHandle;
  readonly redis: RedisServerHandle;
  readonly hubNodes: NodeProcess[] = [];
  siteNode: NodeProcess | null = null;
  readonly siteDataDir: string;
  #relay: Relay;
  #options: EdgeOptions;
  #clients: NatsConnection[] = [];

  constructor(
    o: EdgeOptions,
    parts: {
      hubNats: NatsServerHandle;
      siteNats: NatsServerHandle;
      redis: RedisServerHandle;
      relay: Relay;
      siteDataDir: string;
    },
  ) {
    this.#options = o;
    this.site = o.site ?? "store1";
    this.hubNats = parts.hubNats;
    this.siteNats = parts.siteNats;
    this.redis = parts.redis;
    this.#relay = parts.relay;
    this.siteDataDir = parts.siteDataDir;
  }

  /** The site node (started). */
  get node(): NodeProcess {
    if (this.siteNode === null) throw new Error("the site node is not running");
    return this.siteNode;
  }

  #common(name: string): Record<string, string> {
    return {
      FLOTILLA_NODE_ID: name,
      FLOTILLA_PARTITIONS: String(PARTITIONS),
      FLOTILLA_LOG_LEVEL: "info",
      FLOTILLA_CARD_KEY: CARD_KEY,
      FLOTILLA_UPLINK_TELEMETRY: "1",
      ...this.#options.env,
    };
  }

  /** Starts one more hub node. */
  async addHubNode(): Promise<NodeProcess> {
    const node = await startNodeProcess(this.#hubEnv(this.hubNodes.length), { embedded: false });
    this.hubNodes.push(node);
    return node;
  }

  #hubEnv(i: number): Record<string, string> {
    return {
      ...this.#common(`hub-${i + 1}`),
      NATS_URL: this.hubNats.url,
      REDIS_URL: this.redis.url,
      FLOTILLA_STORE: "redis",
      FLOTILLA_ALLOW_VOLATILE_STORE: "1",
      FLOTILLA_SITES: this.site,
    };
  }

  /** Starts the site node (on the state it left, if it ran before). */
  async startSiteNode(): Promise<NodeProcess> {
    this.siteNode = await startNodeProcess({
      ...this.#common(`${this.site}-1`),
      NATS_URL: this.siteNats.url,
      FLOTILLA_STORE: "denokv",
      FLOTILLA_DATA_DIR: this.siteDataDir,
      FLOTILLA_SITE: this.site,
    }, { embedded: false });
    return this.siteNode;
  }

  /** Stops the site node (SIGTERM, or SIGKILL: a crash). */
  async stopSiteNode(signal: Deno.Signal = "SIGTERM"): Promise<void> {
    await this.siteNode?.stop(signal);
    this.siteNode = null;
  }

  /** Stops hub node `i` and starts it again with the same id. */
  async restartHubNode(i: number, signal: Deno.Signal = "SIGTERM"): Promise<NodeProcess> {
    await this.hubNodes[i]!.stop(signal);
    const node = await startNodeProcess(this.#hubEnv(i), { embedded: false });
    this.hubNodes[i] = node;
    return node;
  }

  /** Cuts the leaf connection; both servers keep running. */
  cutLink(): void {
    this.#relay.close();
  }

  /** Lets the site's server connect to the hub again (it retries every second). */
  restoreLink(): void {
    this.#relay.open();
  }

  /** A NATS client of the site's server (a device at the site), closed with the rig. */
  async siteClient(): Promise<NatsConnection> {
    const nc = await connect({ servers: this.siteNats.url, maxReconnectAttempts: -1 });
    this.#clients.push(nc);
    return nc;
  }

  /** Stops nodes, then servers. */
  async stop(): Promise<void> {
    for (const nc of this.#clients) await nc.close().catch(() => {});
    await Promise.all([
      ...this.hubNodes.map((n) => n.stop("SIGTERM").catch(() => {})),
      this.siteNode?.stop("SIGTERM").catch(() => {}),
    ]);
    this.#relay.close();
    await this.siteNats.stop();
    await this.hubNats.stop();
    await this.redis.stop();
    await Deno.remove(this.siteDataDir, { recursive: true }).catch(() => {});
  }
}

/** Starts the servers, the hub nodes and the site node; resolves once every node listens. */
export async function startEdge(options: EdgeOptions = {}): Promise<EdgeRig> {
  const site = options.site ?? "store1";
  const leafPort = freePort();
  const relay = new Relay(leafPort);
  // The hub advertises the relay as its leaf address: a leaf node also dials the addresses its
  // hub advertises, which would get round a cut relay.
  const hubNats = await startNatsServer({
    domain: "hub",
    config: `${mappingsConfig()}\nleafnodes {\n  host: "127.0.0.1"\n  port: ${leafPort}\n` +
      `  advertise: "127.0.0.1:${relay.port}"\n}\n`,
  });
  relay.open();
  const deny = JSON.stringify(LEAF_DENY);
  const siteNats = await startNatsServer({
    domain: site,
    config: `${mappingsConfig()}\nleafnodes {\n  reconnect: 1\n  remotes = [{\n` +
      `    url: "nats-leaf://127.0.0.1:${relay.port}"\n` +
      `    deny_imports: ${deny}\n    deny_exports: ${deny}\n  }]\n}\n`,
  });
  const redis = await startRedisServer();
  const siteDataDir = await Deno.makeTempDir({ prefix: "flotilla-site-" });
  const rig = new EdgeRig(options, { hubNats, siteNats, redis, relay, siteDataDir });
  try {
    for (let i = 0; i < (options.hubNodes ?? 1); i++) await rig.addHubNode();
    await rig.startSiteNode();
  } catch (error) {
    await rig.stop();
    throw error;
  }
  return rig;
}
