/**
 * Runs the partition placement (leases, heartbeats, takeovers) in a worker thread with its own
 * NATS connection, and answers `owns()` on the main thread from memory the worker writes.
 *
 * Why a thread: a lease must be renewed within its length (2 s by default) whatever the main
 * thread is doing. On one thread, a long burst of messages or garbage collection delays the
 * renewal timer, the node fences itself and the cluster moves partitions for nothing. In a
 * thread of its own the keeper stays on time while the process lives — and dies with it
 * (SIGKILL, SIGSTOP), which is exactly when partitions must move.
 *
 * Protocol: the worker decides; for each partition it gains or gives up it asks the main thread
 * to `acquire`/`release` it (start consumers, drain actors) and waits for `done` before going
 * on. It keeps, per partition, the time of the last successful renewal and the state in shared
 * memory; `owns()` reads both (a partition whose renewal is older than the fencing limit is not
 * owned, on any thread, whether or not anyone has noticed yet).
 *
 * @module
 */
import { describeError } from "../errors.ts";
import { sharedBytes, sharedViews } from "./lease_memory.ts";
import type { FromWorker, ToWorker } from "./lease_worker.ts";
import { fenceMs, type PlacementMetric, type PlacementOptions } from "./placement.ts";

/** Options of {@link LeaseKeeper}: those of `Placement`, with servers to connect to. */
export interface LeaseKeeperOptions extends Omit<PlacementOptions, "nc" | "onState" | "onMetric"> {
  /** NATS server URLs (credentials inside them, as in NATS_URL). */
  readonly servers: string[];
  /**
   * Called if the thread dies after it started. The node owns nothing from then on (and says
   * so at once); what to do — usually exit, so that a supervisor restarts the process — is the
   * caller's. @default log the error
   */
  onFailure?(error: Error): void;
}

const ACTIVE = 2;
const HANDING_OVER = 3;

/** Partition placement on a worker thread. */
export class LeaseKeeper {
  readonly partitions: number;
  readonly leaseMs: number;
  #o: LeaseKeeperOptions;
  #worker: Worker | null = null;
  #renewedAt: BigInt64Array;
  #state: Int32Array;
  /** The share as the worker last wrote it (see {@link sharedViews}). */
  #wanted: Int32Array;
  #failure: string | null = null;
  #fenceMicros: bigint;
  #stopped: (() => void) | null = null;
  #m;

  constructor(options: LeaseKeeperOptions) {
    this.#o = options;
    this.partitions = options.partitions;
    this.leaseMs = options.leaseMs ?? 2000;
    this.#fenceMicros = BigInt(Math.floor(fenceMs(this.leaseMs) * 1000));
    const views = sharedViews(new SharedArrayBuffer(sharedBytes(this.partitions)), this.partitions);
    this.#renewedAt = views.renewedAt;
    this.#state = views.state;
    this.#wanted = views.wanted;
    const metrics = options.metrics;
    this.#m = {
      owned: metrics.gauge({
        name: "flotilla_partitions_owned",
        help: "Partitions this node owns now.",
      }),
      changes: metrics.counter({
        name: "flotilla_lease_changes_total",
        help: "Partition lease changes on this node: acquired, taken_over, released, lost.",
        labels: ["change"],
      }),
      failover: metrics.histogram({
        name: "flotilla_failover_seconds",
        help:
          "From the last renewal seen of a dead owner's lease to this node hosting the partition.",
        buckets: [0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, 20, 30],
      }),
    };
  }

  /** Whether this node hosts `partition` now: owned and renewed within the fencing limit. */
  owns(partition: number): boolean {
    const state = Atomics.load(this.#state, partition);
    if (state !== ACTIVE && state !== HANDING_OVER) return false;
    const renewed = Atomics.load(this.#renewedAt, partition);
    return nowMicros() - renewed < this.#fenceMicros;
  }

  /** Whether this node holds `partition`'s lease (taking it over included), fresh. */
  holds(partition: number): boolean {
    if (Atomics.load(this.#state, partition) === 0) return false;
    const renewed = Atomics.load(this.#renewedAt, partition);
    return nowMicros() - renewed < this.#fenceMicros;
  }

  /** The partitions this node hosts. */
  owned(): number[] {
    const out: number[] = [];
    for (let p = 0; p < this.partitions; p++) if (this.owns(p)) out.push(p);
    return out;
  }

  /**
   * The partitions placement wants on this node now (see `Placement.wanted`), as the worker
   * last wrote them; `null` while it settles, and when the worker is not running.
   */
  wanted(): number[] | null {
    const shared = this.#wanted;
    // A worker that died mid-write leaves the sequence odd: give up after a few tries.
    for (let attempt = 0; attempt < 100 && this.#worker !== null; attempt++) {
      const seq = Atomics.load(shared, 0);
      if ((seq & 1) === 1) continue;
      if (Atomics.load(shared, 1) !== 1) return null;
      const out: number[] = [];
      for (let p = 0; p < this.partitions; p++) {
        if (Atomics.load(shared, 2 + p) === 1) out.push(p);
      }
      if (Atomics.load(shared, 0) === seq) return out;
    }
    return null;
  }

  /** Why nothing keeps this node's leases any more (the thread died), else `null`. */
  failure(): string | null {
    return this.#failure;
  }

  /** Starts the worker; resolves once it is connected and watching. */
  async start(): Promise<void> {
    const worker = new Worker(new URL("./lease_worker.ts", import.meta.url), { type: "module" });
    this.#worker = worker;
    const started = Promise.withResolvers<void>();
    worker.onmessage = (e: MessageEvent<FromWorker>) => this.#onMessage(e.data, started);
    let running = false;
    worker.onerror = (e) => {
      e.preventDefault();
      const error = new Error(`the lease keeper thread failed: ${e.message}`);
      this.#o.logger.error("the lease keeper thread failed", { error: e.message });
      // Own nothing from now on: nobody renews these leases any more.
      for (let p = 0; p < this.partitions; p++) Atomics.store(this.#state, p, 0);
      this.#failure = e.message;
      this.#worker?.terminate();
      this.#worker = null;
      if (running) this.#o.onFailure?.(error);
      else started.reject(error);
    };
    const init: ToWorker = {
      type: "init",
      servers: this.#o.servers,
      name: `flotilla-${this.#o.nodeId}-leases`,
      nodeId: this.#o.nodeId,
      partitions: this.partitions,
      leaseMs: this.leaseMs,
      replicas: this.#o.replicas ?? 1,
      shared: this.#renewedAt.buffer as SharedArrayBuffer,
    };
    worker.postMessage(init);
    try {
      await started.promise;
    } catch (error) {
      this.abandon();
      throw error;
    }
    running = true;
  }

  /** Hands every partition over (drained) and stops the worker. */
  async stop(): Promise<void> {
    const worker = this.#worker;
    if (worker === null) return;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#stopped = resolve;
    worker.postMessage({ type: "stop" } satisfies ToWorker);
    const timer = setTimeout(resolve, 30_000);
    await promise;
    clearTimeout(timer);
    worker.terminate();
    this.#worker = null;
  }

  /** Stops the worker at once, without handing over. */
  abandon(): void {
    this.#worker?.terminate();
    this.#worker = null;
  }

  #onMessage(message: FromWorker, started: { resolve(): void; reject(e: Error): void }): void {
    switch (message.type) {
      case "started":
        return started.resolve();
      case "failed":
        return started.reject(new Error(`the lease keeper could not start: ${message.error}`));
      case "log":
        return this.#o.logger[message.level](message.msg, message.fields);
      case "metric":
        return this.#metric(message.event as PlacementMetric);
      case "stopped":
        this.#stopped?.();
        return;
      case "acquire":
      case "release": {
        const work = message.type === "acquire"
          ? this.#o.acquire(message.partition, message.token)
          : this.#o.release(message.partition, message.graceful);
        work.then(
          () => this.#worker?.postMessage({ type: "done", id: message.id } satisfies ToWorker),
          (error) =>
            this.#worker?.postMessage(
              { type: "done", id: message.id, error: describeError(error) } satisfies ToWorker,
            ),
        );
        return;
      }
    }
  }

  #metric(event: PlacementMetric): void {
    if (event.kind === "owned") this.#m.owned.set(event.value);
    else if (event.kind === "change") this.#m.changes.labels(event.change).inc();
    else this.#m.failover.observe(event.seconds);
  }
}

function nowMicros(): bigint {
  return BigInt(Math.floor((performance.timeOrigin + performance.now()) * 1000));
}
