import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { testApp } from "./helpers/app.ts";
import { idOf, SseReader } from "./helpers/sse.ts";

async function connect(
  t: Awaited<ReturnType<typeof testApp>>,
  query = "",
  headers: Record<string, string> = {},
) {
  const res = await t.app.request(`/api/events${query}`, { headers });
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), "text/event-stream");
  const reader = new SseReader(res);
  assertEquals(await reader.next(), "retry: 2000\n\n");
  return reader;
}

Deno.test("SSE sends each event with id, event name and JSON data, byte for byte", async () => {
  const t = await testApp();
  const sse = await connect(t);
  assertEquals((await t.post("robot-1", { ts: 1000, readings: { coordX: 1.5 } })).status, 202);
  const [frame] = await sse.take(1);
  assertEquals(
    frame,
    'event: telemetry\ndata: {"device":"robot-1","ts":1000,"readings":{"coordX":1.5}}\nid: t-1\n\n',
  );
  await sse.close();
  await t.close();
});

Deno.test("SSE resumes after Last-Event-ID with exactly the missed events", async () => {
  const t = await testApp();
  let sse = await connect(t);
  await t.post("d1", { ts: 1, readings: { n: 1 } });
  const [first] = await sse.take(1);
  await sse.close();
  // Missed while disconnected:
  await t.post("d1", { ts: 2, readings: { n: 2 } });
  await t.post("d2", { ts: 3, readings: { n: 3 } });
  sse = await connect(t, "", { "Last-Event-ID": idOf(first!) });
  await t.post("d1", { ts: 4, readings: { n: 4 } });
  const frames = await sse.take(3);
  assertEquals(frames.map(idOf), ["t-2", "t-3", "t-4"]);
  assertEquals(frames.map((f) => JSON.parse(/^data: (.*)$/m.exec(f)![1]!).ts), [2, 3, 4]);
  await sse.close();
  // The same via the query parameter, for clients that cannot set headers.
  sse = await connect(t, "?lastEventId=t-3");
  const [only] = await sse.take(1);
  assertEquals(idOf(only!), "t-4");
  await sse.close();
  await t.close();
});

Deno.test("SSE answers an id older than the ring with a reset, then every event still kept", async () => {
  const t = await testApp({ eventRing: 3 });
  for (let i = 1; i <= 6; i++) await t.post("d1", { ts: i, readings: { n: i } });
  const sse = await connect(t, "", { "Last-Event-ID": "t-1" });
  const [reset, ...kept] = await sse.take(4);
  // The reset's id is the one before the oldest kept event: a client that reconnects in the
  // middle of the replay (its last id being the reset's) gets the replay again, not a gap.
  assertEquals(
    reset,
    'event: reset\ndata: {"reason":"events after t-1 are no longer kept"}\nid: t-3\n\n',
  );
  assertEquals(kept.map(idOf), ["t-4", "t-5", "t-6"]);
  await t.post("d1", { ts: 7, readings: { n: 7 } });
  assertEquals(idOf((await sse.take(1))[0]!), "t-7");
  await sse.close();
  const again = await connect(t, "", { "Last-Event-ID": "t-3" });
  assertEquals((await again.take(4)).map(idOf), ["t-4", "t-5", "t-6", "t-7"]);
  await again.close();
  await t.close();
});

Deno.test("SSE across a restart: an id from an earlier run gets a reset, then this run's events", async () => {
  const t = await testApp();
  // Posted after the restart, before the client reconnects with the last id it had.
  await t.post("d1", { ts: 1, readings: { n: 1 } });
  await t.post("d2", { ts: 2, readings: { n: 2 } });
  const sse = await connect(t, "", { "Last-Event-ID": "oldrun-5" });
  const [reset, first, second] = await sse.take(3);
  assertEquals(
    reset,
    'event: reset\ndata: {"reason":"event id \\"oldrun-5\\" is not from this run"}\nid: t-0\n\n',
  );
  assertEquals(
    first,
    'event: telemetry\ndata: {"device":"d1","ts":1,"readings":{"n":1}}\nid: t-1\n\n',
  );
  assertEquals(idOf(second!), "t-2");
  await t.post("d1", { ts: 3, readings: { n: 3 } });
  assertEquals(idOf((await sse.take(1))[0]!), "t-3");
  await sse.close();
  // Reconnecting mid-replay with the reset's id: the whole replay, no second reset.
  const again = await connect(t, "", { "Last-Event-ID": "t-0" });
  assertEquals((await again.take(3)).map(idOf), ["t-1", "t-2", "t-3"]);
  await again.close();
  await t.close();
});

Deno.test("SSE sends a heartbeat comment after 15 s without events", async () => {
  const t = await testApp();
  const sse = await connect(t);
  let arrived = false;
  const next = sse.next().then((frame) => {
    arrived = true;
    return frame;
  });
  t.clock.advance(14_999);
  await t.system.idle();
  assertEquals(arrived, false, "no heartbeat before 15 s");
  t.clock.advance(1);
  assertEquals(await next, ": heartbeat\n\n");
  await sse.close();
  await t.close();
});

Deno.test("SSE filters by topic and device", async () => {
  const t = await testApp();
  const sse = await connect(t, "?topics=telemetry&device=d2");
  const other = await connect(t, "?topics=alerts");
  await t.post("d1", { ts: 1, readings: { n: 1 } });
  await t.post("d2", { ts: 2, readings: { n: 2 } });
  const [frame] = await sse.take(1);
  assertMatch(frame!, /"device":"d2"/);
  t.events.publish("alerts", { hello: true });
  const [alert] = await other.take(1);
  assertMatch(alert!, /^event: alerts\ndata: \{"hello":true\}\nid: t-3\n\n$/);
  await sse.close();
  await other.close();
  await t.close();
});

Deno.test("SSE refuses bad filters with a 400 problem", async () => {
  const t = await testApp();
  for (const q of ["?topics=a%20b", "?device=..%2Fx", `?device=${"x".repeat(200)}`]) {
    const res = await t.app.request(`/api/events${q}`);
    assertEquals(res.status, 400, q);
    assertEquals((await res.json()).code, "invalid_input");
  }
  await t.close();
});

Deno.test("SSE drops a client that falls behind, without holding up the others", async () => {
  const t = await testApp({ sseQueueLimit: 3 });
  const slow = await connect(t);
  const fast = await connect(t);
  for (let i = 1; i <= 20; i++) {
    assertEquals((await t.post(`d${i}`, { ts: i, readings: { n: i } })).status, 202);
    // The fast client keeps up.
    assertEquals(idOf((await fast.take(1))[0]!), `t-${i}`);
  }
  const frames = await slow.rest();
  const last = frames.at(-1)!;
  assertEquals(
    last,
    'event: dropped\ndata: {"reason":"fell more than 3 events behind; reconnect"}\n\n',
  );
  const ids = frames.slice(0, -1).map(idOf);
  assert(ids.length < 20, "the slow client did not get everything");
  assertEquals(ids, ids.map((_, i) => `t-${i + 1}`), "what it got was in order, without gaps");
  const metrics = await (await t.app.request("/metrics")).text();
  assert(metrics.includes("flotilla_sse_dropped_total 1"), "the drop is counted");
  await fast.close();
  await t.close();
});

Deno.test("SSE gives a slow client the latest readings per device instead of every event", async () => {
  const t = await testApp({ sseQueueLimit: 8 });
  const slow = await connect(t, "?topics=telemetry");
  const fast = await connect(t, "?topics=telemetry");
  for (let i = 1; i <= 40; i++) {
    assertEquals(
      (await t.post("robot", { ts: i, readings: { coordX: i, coordY: -i } })).status,
      202,
    );
    await fast.take(1); // the fast client keeps up
  }
  // The slow client was not dropped: it gets fewer events, the last with the newest readings.
  const frames: string[] = [];
  for (;;) {
    const frame = (await slow.take(1))[0]!;
    frames.push(frame);
    if (idOf(frame) === "t-40") break;
  }
  assert(frames.length < 40, `coalesced: ${frames.length} frames for 40 events`);
  assert(!frames.some((f) => f.startsWith("event: dropped")), "not dropped");
  assertEquals(JSON.parse(/^data: (.*)$/m.exec(frames.at(-1)!)![1]!).readings, {
    coordX: 40,
    coordY: -40,
  });
  const metrics = await (await t.app.request("/metrics")).text();
  assert(/flotilla_sse_coalesced_total [1-9]/.test(metrics), "coalescing is counted");
  await slow.close();
  await fast.close();
  await t.close();
});
