/**
 * `GET /api/events`: server-sent events from the event bus, filtered by topic and device.
 *
 * Every event carries `id:` (resume with `Last-Event-ID`, or `?lastEventId=` where a client
 * cannot set headers) and `event:` (its topic). An id the server cannot resume from (its events
 * are no longer kept, or it is from an earlier run) gets one `event: reset` instead of a silent
 * gap, then every event still kept; the reset's `id:` is the point that replay starts after, so
 * a client that reconnects in the middle of it misses nothing. Idle connections get a
 * `: heartbeat` comment.
 * A client that falls behind gets device telemetry coalesced (the latest readings per device);
 * one that falls too far behind gets `event: dropped` and is disconnected. It never slows the
 * actors or other clients: the bus only enqueues into each client's bounded queue.
 *
 * @module
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { checkId } from "../actors/shared/mod.ts";
import { ValidationError } from "../runtime/mod.ts";
import { ClientQueue } from "./sse_queue.ts";
import type { AppDeps } from "./deps.ts";

/** Topic names: letters, digits, `_`, `-` and `.`. */
const TOPIC = /^[A-Za-z0-9_.-]{1,64}$/;

/** Live SSE streams, so a shutdown can end them. */
export type StreamRegistry = Set<() => void>;

/** The SSE route. */
export function eventRoutes(deps: AppDeps, streams: StreamRegistry): Hono {
  const { clock, events } = deps;
  const heartbeatMs = deps.heartbeatMs ?? 15_000;
  const limit = deps.sseQueueLimit ?? 1000;
  const clients = deps.metrics.gauge({
    name: "flotilla_sse_clients",
    help: "Connected SSE clients.",
  });
  const dropped = deps.metrics.counter({
    name: "flotilla_sse_dropped_total",
    help: "SSE clients disconnected for falling behind.",
  });
  const coalesced = deps.metrics.counter({
    name: "flotilla_sse_coalesced_total",
    help: "Telemetry events merged into a later one for SSE clients that fell behind.",
  });
  const routes = new Hono();

  routes.get("/", (c) => {
    const topics = (c.req.query("topics") ?? "").split(",").map((t) => t.trim()).filter(Boolean);
    const bad = topics.find((t) => !TOPIC.test(t));
    if (bad !== undefined) {
      throw new ValidationError("invalid topics", [{
        path: "topics",
        message: `${JSON.stringify(bad)} is not a topic name (letters, digits, _ - .)`,
      }]);
    }
    const deviceParam = c.req.query("device");
    const key = deviceParam === undefined ? undefined : checkId(deviceParam, "device id");
    const after = c.req.header("Last-Event-ID") ?? c.req.query("lastEventId");

    return streamSSE(c, async (stream) => {
      const queue = new ClientQueue({ limit, coalesceAfter: Math.max(1, Math.floor(limit / 4)) });
      let closed = false;
      let wake: (() => void) | null = null;
      const subscription = events.subscribe(
        key === undefined ? { topics } : { topics, key },
        (item) => {
          const before = queue.coalesced;
          queue.push(item);
          if (queue.coalesced !== before) coalesced.inc();
          wake?.();
        },
        after === undefined || after === "" ? undefined : after,
      );
      const close = () => {
        closed = true;
        wake?.();
      };
      stream.onAbort(close);
      streams.add(close);
      clients.inc();
      try {
        await stream.write("retry: 2000\n\n");
        while (!closed) {
          if (queue.size === 0 && !queue.overflowed) {
            const { promise, resolve } = Promise.withResolvers<void>();
            wake = resolve;
            const timer = clock.setTimeout(resolve, heartbeatMs);
            await promise;
            clock.clearTimeout(timer);
            wake = null;
            if (closed) break;
            if (queue.size === 0 && !queue.overflowed) {
              await stream.write(": heartbeat\n\n");
              continue;
            }
          }
          if (queue.overflowed) {
            dropped.inc();
            const reason = `fell more than ${limit} events behind; reconnect`;
            await stream.write(frame("dropped", JSON.stringify({ reason }), null));
            break;
          }
          // Everything waiting goes out in one write: one await per wake-up, not per event.
          let frames = "";
          for (const item of queue.take()) {
            frames += "reset" in item
              ? frame("reset", JSON.stringify({ reason: item.reason }), item.after)
              : frame(item.topic, JSON.stringify(item.data), item.id);
          }
          await stream.write(frames);
        }
      } finally {
        subscription.close();
        streams.delete(close);
        clients.dec();
      }
    });
  });

  return routes;
}

/**
 * One SSE frame: `event:`, `data:` (JSON has no raw newlines, so one line), then `id:` when
 * there is one — the order Hono's `writeSSE` uses.
 */
function frame(event: string, data: string, id: string | null): string {
  return id === null
    ? `event: ${event}\ndata: ${data}\n\n`
    : `event: ${event}\ndata: ${data}\nid: ${id}\n\n`;
}
