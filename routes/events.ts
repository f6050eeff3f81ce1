/**
 * `GET /api/events`: server-sent events from the event bus, filtered by topic and device.
 *
 * Every event carries `id:` (resume with `Last-Event-ID`, or `?lastEventId=` where a client
 * cannot set headers) and `event:` (its topic). Events the server no longer keeps come back as
 * one `event: reset` instead of a silent gap. Idle connections get a `: heartbeat` comment.
 * A client that falls too far behind gets `event: dropped` and is disconnected; it never
 * slows the actors or other clients (the bus only enqueues into each client's bounded queue).
 *
 * @module
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { checkDeviceId } from "../actors/mod.ts";
import { type BusEvent, type ResetNotice, ValidationError } from "../runtime/mod.ts";
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
    const key = deviceParam === undefined ? undefined : checkDeviceId(deviceParam);
    const after = c.req.header("Last-Event-ID") ?? c.req.query("lastEventId");

    return streamSSE(c, async (stream) => {
      const queue: (BusEvent | ResetNotice)[] = [];
      let overflow = false;
      let closed = false;
      let wake: (() => void) | null = null;
      const subscription = events.subscribe(
        key === undefined ? { topics } : { topics, key },
        (item) => {
          if (queue.length >= limit) overflow = true;
          else queue.push(item);
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
          if (queue.length === 0) {
            const { promise, resolve } = Promise.withResolvers<void>();
            wake = resolve;
            const timer = clock.setTimeout(resolve, heartbeatMs);
            await promise;
            clock.clearTimeout(timer);
            wake = null;
            if (closed) break;
            if (queue.length === 0) {
              await stream.write(": heartbeat\n\n");
              continue;
            }
          }
          if (overflow) {
            dropped.inc();
            await stream.writeSSE({
              event: "dropped",
              data: JSON.stringify({ reason: `fell more than ${limit} events behind; reconnect` }),
            });
            break;
          }
          for (const item of queue.splice(0)) {
            if ("reset" in item) {
              await stream.writeSSE({
                event: "reset",
                data: JSON.stringify({ reason: item.reason }),
                ...(item.lastId === null ? {} : { id: item.lastId }),
              });
            } else {
              await stream.writeSSE({
                id: item.id,
                event: item.topic,
                data: JSON.stringify(item.data),
              });
            }
          }
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
