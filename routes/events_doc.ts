/**
 * The description of `GET /api/events` for the OpenAPI document. `events.ts` serves the stream
 * and checks its own input; these schemas mirror those checks (topics, device, resume id) so the
 * route is documented like every other.
 *
 * @module
 */
import { z } from "zod";
import { deviceId } from "./params.ts";
import type { RouteSpec } from "./spec.ts";

/** Topic names: letters, digits, `_`, `-` and `.`. */
const topic = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "topics hold letters, digits, _ - .");

/** The query of `GET /api/events` (other parameters are ignored there, as `events.ts` does). */
export const EVENTS_QUERY = z.object({
  topics: z.array(topic).optional().describe(
    "telemetry, alerts, nodes, payments, sessions, commands, system; every topic when absent",
  ),
  device: deviceId.optional().describe("only events about this device (or other entity)"),
  lastEventId: z.string().optional().describe(
    "resume after this event, for clients that cannot set Last-Event-ID",
  ),
});

/** The headers of `GET /api/events`. */
export const EVENTS_HEADERS = z.object({
  "Last-Event-ID": z.string().optional().describe("resume exactly after this event"),
});

/** `GET /api/events`, as the document shows it. */
export const EVENTS_ROUTE: RouteSpec<undefined, typeof EVENTS_QUERY, typeof EVENTS_HEADERS> = {
  method: "get",
  path: "/api/events",
  summary: "Live events (server-sent events)",
  description:
    "Every event has `id:` and `event:` (its topic) and JSON `data:`. Reconnecting with " +
    "`Last-Event-ID` (or `?lastEventId=`) resumes exactly after that event — in cluster mode " +
    "from the JetStream events stream. Ids are opaque strings: in cluster mode " +
    "`<stream seq>.<index>` (one stream message carries the events of a commit batch; a plain " +
    "`<seq>`, the ids of earlier versions, resumes after all of its events), in embedded mode " +
    "`<run>-<n>`. An id the server cannot resume from (its events are no " +
    "longer kept, or it is from an earlier run) gets one `event: reset`, never a silent gap, " +
    "then every event still kept; the reset's `id:` is where that replay starts. " +
    "`: heartbeat` comments every 15 s keep idle connections open. A client that falls behind " +
    "gets device telemetry coalesced (the latest readings per device); one more than 1,000 " +
    "events behind gets `event: dropped` and is disconnected.",
  query: EVENTS_QUERY,
  headers: EVENTS_HEADERS,
  responses: {
    200: {
      description: "the stream: `retry: 2000`, then events as they happen",
      contentType: "text/event-stream",
      schema: z.string().describe("id: <id>\\nevent: <topic>\\ndata: <JSON>\\n\\n, repeated"),
    },
  },
};
