/**
 * The lease keeper's worker: runs {@link Placement} — heartbeats, lease renewals, takeovers —
 * on a thread of its own with its own NATS connection, so a busy or stalled main thread (a
 * burst of messages, a long garbage collection) never delays a renewal and never costs the
 * node its partitions. The main thread reads ownership from shared memory and does the work
 * of hosting (see lease_keeper.ts for the protocol).
 *
 * @module
 */
/// <reference lib="deno.worker" />
import type { LogFields, Logger } from "../logger.ts";
import { MetricsRegistry } from "../metrics.ts";
import { connectNats } from "./connection.ts";
import { sharedViews } from "./lease_memory.ts";
import { Placement } from "./placement.ts";

/** The first message: what to connect to and what to keep. */
export interface LeaseWorkerInit {
  readonly type: "init";
  readonly servers: string[];
  readonly name: string;
  readonly nodeId: string;
  readonly partitions: number;
  readonly leaseMs: number;
  readonly replicas: number;
  /** Per partition the last renewal and the state, then the share: see `sharedViews`. */
  readonly shared: SharedArrayBuffer;
}

/** Messages the main thread sends. */
export type ToWorker =
  | LeaseWorkerInit
  | { readonly type: "done"; readonly id: number; readonly error?: string }
  | { readonly type: "stop" };

/** Messages the worker sends. */
export type FromWorker =
  | { readonly type: "started" }
  | { readonly type: "failed"; readonly error: string }
  | {
    readonly type: "acquire";
    readonly id: number;
    readonly partition: number;
    readonly token: number;
  }
  | {
    readonly type: "release";
    readonly id: number;
    readonly partition: number;
    readonly graceful: boolean;
  }
  | {
    readonly type: "log";
    readonly level: "debug" | "info" | "warn" | "error";
    readonly msg: string;
    readonly fields?: LogFields;
  }
  | { readonly type: "metric"; readonly event: unknown }
  | { readonly type: "stopped" };

const post = (message: FromWorker) => self.postMessage(message);

/** Log lines go to the main thread's logger. */
function forwardingLogger(fields: LogFields = {}): Logger {
  const at = (level: "debug" | "info" | "warn" | "error") => (msg: string, more?: LogFields) =>
    post({ type: "log", level, msg, fields: { ...fields, ...more } });
  return {
    level: "debug",
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (more) => forwardingLogger({ ...fields, ...more }),
  };
}

let placement: Placement | null = null;
let nextId = 1;
const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();

/** Asks the main thread to do something and waits for it to say it is done. */
function ask(
  message: { type: "acquire"; partition: number; token: number } | {
    type: "release";
    partition: number;
    graceful: boolean;
  },
): Promise<void> {
  const id = nextId++;
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  waiting.set(id, { resolve, reject });
  post({ ...message, id });
  return promise;
}

self.onmessage = async (e: MessageEvent<ToWorker>) => {
  const message = e.data;
  switch (message.type) {
    case "init": {
      const { renewedAt, state, wanted } = sharedViews(message.shared, message.partitions);
      try {
        const { nc } = await connectNats(message.servers, {
          name: message.name,
          logger: forwardingLogger(),
        });
        placement = new Placement({
          nc,
          nodeId: message.nodeId,
          partitions: message.partitions,
          leaseMs: message.leaseMs,
          replicas: message.replicas,
          logger: forwardingLogger(),
          metrics: new MetricsRegistry(),
          onState: (p, s, at) => {
            Atomics.store(renewedAt, p, BigInt(Math.floor(at * 1000)));
            Atomics.store(state, p, s);
          },
          onMetric: (event) => post({ type: "metric", event }),
          onWanted: (share) => {
            const mine = new Set(share);
            Atomics.add(wanted, 0, 1); // odd: being written
            Atomics.store(wanted, 1, share === null ? 0 : 1);
            for (let p = 0; p < message.partitions; p++) {
              Atomics.store(wanted, 2 + p, mine.has(p) ? 1 : 0);
            }
            Atomics.add(wanted, 0, 1);
          },
          acquire: (partition, token) => ask({ type: "acquire", partition, token }),
          release: (partition, graceful) => ask({ type: "release", partition, graceful }),
        });
        await placement.start();
        post({ type: "started" });
      } catch (error) {
        post({ type: "failed", error: error instanceof Error ? error.message : String(error) });
      }
      return;
    }
    case "done": {
      const w = waiting.get(message.id);
      waiting.delete(message.id);
      if (message.error === undefined) w?.resolve();
      else w?.reject(new Error(message.error));
      return;
    }
    case "stop":
      await placement?.stop();
      post({ type: "stopped" });
      return;
  }
};
