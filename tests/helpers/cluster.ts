/**
 * A Flotilla cluster for tests: a nats-server (JetStream, Flotilla's partition mappings,
 * optionally MQTT) and a redis-server on free loopback ports, and node processes running
 * `main.ts` in cluster mode — real processes, so tests can SIGKILL, SIGSTOP and restart them.
 *
 * @module
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { DEFAULT_PARTITIONS, partitionMappings } from "../../runtime/nats/mod.ts";
import { type NodeProcess, startNodeProcess } from "./process.ts";
import {
  type NatsServerHandle,
  type RedisServerHandle,
  type RedisServerOptions,
  startNatsServer,
  startRedisServer,
} from "./servers.ts";

/** Partitions of test clusters (the mappings below use the same number). */
export const PARTITIONS = DEFAULT_PARTITIONS;

/** The `mappings` block a nats-server needs for Flotilla with `partitions` partitions. */
export function mappingsConfig(partitions = PARTITIONS): string {
  const lines = Object.entries(partitionMappings(partitions)).map(([from, to]) =>
    `  "${from}": "${to}"`
  );
  return `mappings = {\n${lines.join("\n")}\n}\n`;
}

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  /** Nodes to start. @default 3 */
  readonly nodes?: number;
  /** @default "redis" */
  readonly store?: "redis" | "natskv";
  /** Lease length, ms. @default 2000 (the production default) */
  readonly leaseMs?: number;
  /** Open nats-server's MQTT listener. */
  readonly mqtt?: boolean;
  /**
   * The redis-server's options (fsync policy, extra arguments).
   * @default an append-only file fsynced once a second (`{ durable: true, appendfsync:
   *   "everysec" }`): what a node requires, at no cost to the tests
   */
  readonly redis?: RedisServerOptions;
  /**
   * Nodes may run on a Redis without an append-only file (`FLOTILLA_ALLOW_VOLATILE_STORE=1`).
   * @default true when the Redis is not durable (`redis: { durable: false }`, as the benchmarks
   *   run it), false otherwise
   */
  readonly allowVolatileStore?: boolean;
  /** Extra environment for every node. */
  readonly env?: Readonly<Record<string, string>>;
}

/** A running test cluster. */
export class Cluster {
  readonly nats: NatsServerHandle;
  readonly redis: RedisServerHandle | null;
  readonly nodes: NodeProcess[] = [];
  readonly names: string[] = [];
  #options: ClusterOptions;
  #clients: NatsConnection[] = [];

  constructor(nats: NatsServerHandle, redis: RedisServerHandle | null, options: ClusterOptions) {
    this.nats = nats;
    this.redis = redis;
    this.#options = options;
  }

  /** Starts one more node (`node-<n>`), with `env` added to the cluster's environment. */
  async addNode(env: Readonly<Record<string, string>> = {}): Promise<NodeProcess> {
    const name = `node-${this.nodes.length + 1}`;
    const node = await startNodeProcess({ ...this.#env(name), ...env }, { embedded: false });
    this.nodes.push(node);
    this.names.push(name);
    return node;
  }

  /**
   * Stops node `index` with `signal` (unless it has exited already) and starts it again with
   * the same node id, as a supervisor would; the new process takes its place in {@link nodes}.
   */
  async restartNode(index: number, signal: Deno.Signal = "SIGTERM"): Promise<NodeProcess> {
    const old = this.nodes[index];
    const name = this.names[index];
    if (old === undefined || name === undefined) throw new Error(`no node ${index}`);
    old.signal("SIGCONT");
    const timer = setTimeout(() => old.signal("SIGKILL"), 15_000);
    await old.stop(signal);
    clearTimeout(timer);
    const node = await startNodeProcess(this.#env(name), { embedded: false });
    this.nodes[index] = node;
    return node;
  }

  #env(name: string): Record<string, string> {
    const env: Record<string, string> = {
      NATS_URL: this.nats.url,
      FLOTILLA_NODE_ID: name,
      FLOTILLA_STORE: this.#options.store ?? "redis",
      FLOTILLA_PARTITIONS: String(PARTITIONS),
      FLOTILLA_LEASE_MS: String(this.#options.leaseMs ?? 2000),
      FLOTILLA_LOG_LEVEL: "info",
      FLOTILLA_CARD_KEY: "test-card-key-test-card-key-test-card-key",
      ...this.#options.env,
    };
    if (this.redis !== null) {
      env.REDIS_URL = this.redis.url;
      if (this.#options.allowVolatileStore ?? !this.redis.durable) {
        env.FLOTILLA_ALLOW_VOLATILE_STORE ??= "1";
      }
    }
    return env;
  }

  /** Partitions each running node reports owning (from `/readyz`). */
  async owned(nodes: readonly NodeProcess[] = this.nodes): Promise<number[]> {
    return await Promise.all(nodes.map(async (node) => {
      try {
        const body = await (await fetch(`${node.url}/readyz`)).json();
        return Number(/^(\d+) of/.exec(body.checks?.partitions ?? "")?.[1] ?? 0);
      } catch {
        return 0;
      }
    }));
  }

  /**
   * Waits until `nodes` together own every partition, each at least one when `balanced`.
   * Polls the nodes' `/readyz`: the nodes' own timers decide; the test only observes.
   */
  async settled(
    nodes: readonly NodeProcess[] = this.nodes,
    balanced = true,
    timeoutMs = 30_000,
  ): Promise<number[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const owned = await this.owned(nodes);
      const total = owned.reduce((a, b) => a + b, 0);
      if (total === PARTITIONS && (!balanced || owned.every((n) => n > 0))) return owned;
      if (Date.now() > deadline) throw new Error(`partitions never settled: ${owned.join("/")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** A NATS client, as a device or a test publisher (closed with the cluster). */
  async client(options: { user?: string; pass?: string } = {}): Promise<NatsConnection> {
    const nc = await connect({
      servers: this.nats.url,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
      ...options,
    });
    this.#clients.push(nc);
    return nc;
  }

  /**
   * Waits until every partition consumer of the ingest and message streams has nothing
   * pending or unacknowledged — every message published so far applied and durable.
   * @returns how long it took, ms
   */
  async drained(timeoutMs = 60_000): Promise<number> {
    const started = Date.now();
    const jsm = await jetstreamManager(await this.client());
    for (;;) {
      let open = 0;
      let consumers = 0;
      const stuck: string[] = [];
      const stuckPartitions = new Set<number>();
      for (const stream of ["FLOTILLA_INGEST", "FLOTILLA_MSGS"]) {
        for await (const info of jsm.consumers.list(stream)) {
          // A consumer deleted while the list was read (a partition taken again) comes as null:
          // not settled yet, look again.
          if (info === null) {
            open++;
            continue;
          }
          consumers++;
          open += info.num_pending + info.num_ack_pending;
          if (info.num_pending + info.num_ack_pending > 0) {
            stuckPartitions.add(Number(/-p(\d+)$/.exec(info.name)?.[1]));
            stuck.push(
              `${stream}/${info.name}: ${info.num_pending} pending, ${info.num_ack_pending} ` +
                `unacknowledged, ${info.num_waiting} pulls waiting, delivered ` +
                `${info.delivered.stream_seq}, acknowledged ${info.ack_floor.stream_seq}`,
            );
          }
        }
      }
      // Every partition of both streams has its consumer (a missing one would hide messages).
      if (open === 0 && consumers === 2 * PARTITIONS) return Date.now() - started;
      if (Date.now() - started > timeoutMs) {
        throw new Error(
          `streams not drained: ${open} messages open, ${consumers} of ${2 * PARTITIONS} ` +
            `consumers\n${stuck.join("\n")}\n${this.warnings().join("\n")}\n` +
            this.nodes.flatMap((node, i) =>
              node.lines
                .filter((l) => stuckPartitions.has(l.partition as number))
                .slice(-30)
                .map((l) => `${this.names[i]} of a stuck partition: ${JSON.stringify(l)}`)
            ).join("\n"),
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The sum of one metric series (`name` or `name{labels}`) over `nodes`' `/metrics`. */
  async metric(series: string, nodes: readonly NodeProcess[] = this.nodes): Promise<number> {
    let total = 0;
    for (const node of nodes) {
      const text = await (await fetch(`${node.url}/metrics`)).text();
      for (const line of text.split("\n")) {
        if (line.startsWith(`${series} `) || line.startsWith(`${series}{`)) {
          total += Number(line.slice(line.lastIndexOf(" ") + 1));
        }
      }
    }
    return total;
  }

  /**
   * The last warnings and errors each node logged, one line each: the first lead when something
   * is stuck.
   */
  warnings(last = 15): string[] {
    return this.nodes.flatMap((node, i) =>
      node.lines
        .filter((l) => l.level === "warn" || l.level === "error")
        .slice(-last)
        .map((l) => `${this.names[i]}: ${JSON.stringify(l)}`)
    );
  }

  /** Fetches a device twin from `node` (any node answers for any device). */
  async twin(
    id: string,
    node: NodeProcess = this.nodes[0]!,
  ): Promise<Record<string, unknown> | null> {
    const res = await fetch(`${node.url}/api/devices/${id}`);
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    if (!res.ok) throw new Error(`GET twin ${id}: ${res.status} ${await res.text()}`);
    return await res.json();
  }

  /** Stops everything, nodes first. */
  async stop(): Promise<void> {
    for (const nc of this.#clients) await nc.close().catch(() => {});
    await Promise.all(this.nodes.map(async (node) => {
      node.signal("SIGCONT");
      const timer = setTimeout(() => node.signal("SIGKILL"), 15_000);
      await node.stop("SIGTERM");
      clearTimeout(timer);
    }));
    await this.nats.stop();
    await this.redis?.stop();
  }
}

/** Starts servers and `nodes` node processes. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const nats = await startNatsServer({ mqtt: options.mqtt ?? false, config: mappingsConfig() });
  const redis = (options.store ?? "redis") === "redis"
    ? await startRedisServer(options.redis ?? { durable: true, appendfsync: "everysec" })
    : null;
  const cluster = new Cluster(nats, redis, options);
  try {
    for (let i = 0; i < (options.nodes ?? 3); i++) await cluster.addNode();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

/**
 * A `Deno.test` on a cluster of its own: started (servers and nodes, per `options`) before
 * `body`, stopped after it whatever happens. Nodes are real processes and servers real servers,
 * so the test's op and resource sanitizers are off.
 */
export function clusterTest(
  name: string,
  options: ClusterOptions,
  body: (cluster: Cluster) => Promise<void>,
): void {
  Deno.test({
    name,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const cluster = await startCluster(options);
      try {
        await body(cluster);
      } finally {
        await cluster.stop();
      }
    },
  });
}
