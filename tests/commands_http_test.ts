/**
 * The command routes and the versioned desired state over HTTP (`app.request`, a ManualClock):
 * create (202), idempotent retries (200) and conflicts (409), the bound of open commands (429),
 * pages by status, cancel, reports of HTTP devices, TTL expiry on the clock, the `ETag` and
 * `If-Match` of the desired state (412), the `commands` events and `/metrics`.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { testApp } from "./helpers/app.ts";
import { problemOf, send } from "./helpers/api.ts";
import type { BusEvent } from "../runtime/mod.ts";

type App = Awaited<ReturnType<typeof testApp>>;

async function ok(res: Response, status = 200) {
  const text = await res.text();
  assertEquals(res.status, status, text);
  return JSON.parse(text);
}

/** The events of topic `commands` so far, their data. */
function commandEvents(t: App): Record<string, unknown>[] {
  const seen: BusEvent[] = [];
  t.events.subscribe({ topics: ["commands"] }, (e) => {
    if ("topic" in e) seen.push(e);
  }, "t-0").close();
  return seen.map((e) => e.data as Record<string, unknown>);
}

/** A counter's value from `/metrics` (0 when absent). */
async function metric(t: App, name: string, labels = ""): Promise<number> {
  const text = await (await t.app.request("/metrics")).text();
  const escaped = `${name}${labels}`.replace(/[{}"\\]/g, "\\$&");
  return Number(new RegExp(`^${escaped} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
}

const BASE = "/api/devices/r1/commands";

Deno.test("commands: 202 once durable; the same commandId and body 200, another body 409", async () => {
  const t = await testApp();
  await t.post("r1", { readings: { x: 1 } });
  const body = { name: "move", params: { x: 3 }, ttl: "PT10M", commandId: "move-1" };
  const created = await ok(await send(t, "POST", BASE, body), 202);
  assertEquals(created, {
    commandId: "move-1",
    status: "pending",
    expiresAt: t.clock.now() + 600_000,
  });
  // The same body, ttl spelled in seconds: the same command.
  assertEquals(await ok(await send(t, "POST", BASE, { ...body, ttl: 600 })), created);
  await problemOf(
    await send(t, "POST", BASE, { ...body, params: { x: 4 } }),
    409,
    "command_conflict",
    "another body",
  );
  const one = await ok(await t.app.request(`${BASE}/move-1`));
  assertEquals([one.status, one.attempts, one.params], ["pending", 1, { x: 3 }]);
  await problemOf(await t.app.request(`${BASE}/nope`), 404, "not_found", "unknown command");
  await problemOf(
    await t.app.request("/api/devices/ghost/commands"),
    404,
    "not_found",
    "unknown device",
  );
  await t.close();
});

Deno.test("commands: at most 100 open per device (429); lists newest first, by status, paged", async () => {
  const t = await testApp();
  await send(t, "PUT", "/api/devices/r1", { type: "robot" });
  const ids: string[] = [];
  for (let i = 0; i < 100; i++) {
    ids.push((await ok(await send(t, "POST", BASE, { name: `n${i}` }), 202)).commandId);
    t.clock.advance(1);
  }
  await problemOf(await send(t, "POST", BASE, { name: "more" }), 429, "too_many_commands", "101");
  await ok(await send(t, "DELETE", `${BASE}/${ids[0]}`));
  await ok(await send(t, "POST", BASE, { name: "more" }), 202);

  let page = await ok(await t.app.request(`${BASE}?limit=40`));
  assertEquals(page.items.length, 40);
  assertEquals(page.items[0].name, "more");
  assertEquals(page.items[1].commandId, ids[99]);
  const seen = [...page.items];
  while (page.next !== null) {
    page = await ok(await t.app.request(`${BASE}?limit=40&after=${page.next}`));
    seen.push(...page.items);
  }
  assertEquals(seen.length, 101);
  assertEquals(seen.at(-1).commandId, ids[0]);
  const cancelled = await ok(await t.app.request(`${BASE}?status=cancelled`));
  assertEquals(cancelled.items.map((c: { commandId: string }) => c.commandId), [ids[0]]);
  assertEquals(cancelled.next, null);
  await problemOf(
    await send(t, "DELETE", `${BASE}/${ids[0]}`),
    409,
    "command_final",
    "cancel twice",
  );
  await problemOf(await t.app.request(`${BASE}?status=done`), 400, "invalid_input", "status");
  await t.close();
});

Deno.test("commands: an HTTP device polls pending ones and reports; the clock expires the rest", async () => {
  const t = await testApp();
  await send(t, "PUT", "/api/devices/r1", { type: "robot" });
  const a = (await ok(await send(t, "POST", BASE, { name: "a", ttl: 30 }), 202)).commandId;
  const b = (await ok(await send(t, "POST", BASE, { name: "b" }), 202)).commandId;
  const pending = await ok(await t.app.request(`${BASE}?status=pending`));
  assertEquals(pending.items.map((c: { name: string }) => c.name), ["b", "a"]);

  const report = (cid: string, body: unknown) => send(t, "POST", `${BASE}/${cid}/status`, body);
  t.clock.advance(1000);
  const delivered = await ok(await report(b, { status: "delivered" }));
  assertEquals([delivered.status, delivered.deliveredAt], ["delivered", t.clock.now()]);
  assertEquals((await ok(await report(b, { status: "delivered" }))).status, "delivered");
  const done = await ok(await report(b, { status: "failed", error: "jammed", result: { at: 2 } }));
  assertEquals([done.status, done.error, done.result], ["failed", "jammed", { at: 2 }]);
  await problemOf(await report(b, { status: "succeeded" }), 409, "command_final", "final");
  await problemOf(await report("nope", { status: "succeeded" }), 404, "not_found", "unknown");
  for (
    const bad of [
      { status: "done" },
      { status: "succeeded", result: { nested: { a: 1 } } },
      { status: "succeeded", result: [1] },
      { status: "failed", error: "" },
      { status: "delivered", commandId: b },
    ]
  ) {
    await problemOf(await report(a, bad), 400, "invalid_input", JSON.stringify(bad));
  }

  // Its 30 s pass on the clock: expired, by the reminder.
  t.clock.advance(29_000);
  await t.system.idle();
  const expired = await ok(await t.app.request(`${BASE}/${a}`));
  assertEquals([expired.status, expired.completedAt], ["expired", expired.expiresAt]);
  assertEquals((await ok(await t.app.request(`${BASE}?status=pending`))).items, []);

  const statuses = commandEvents(t).filter((e) => e.kind === "status").map((e) =>
    `${e.commandId === a ? "a" : "b"} ${e.status}`
  );
  assertEquals(statuses, ["a pending", "b pending", "b delivered", "b failed", "a expired"]);
  const ignored = commandEvents(t).filter((e) => e.kind === "ignored").map((e) => e.reason);
  assertEquals(ignored, ["duplicate", "final", "unknown"]);
  assertEquals(await metric(t, "flotilla_commands_total", '{status="pending"}'), 2);
  assertEquals(await metric(t, "flotilla_commands_total", '{status="expired"}'), 1);
  assertEquals(await metric(t, "flotilla_commands_total", '{status="failed"}'), 1);
  for (const reason of ["duplicate", "final", "unknown"]) {
    assertEquals(
      await metric(t, "flotilla_command_reports_ignored_total", `{reason="${reason}"}`),
      1,
      reason,
    );
  }
  await t.close();
});

Deno.test("desired state: ETag of its version, If-Match honoured (412 when stale)", async () => {
  const t = await testApp();
  await send(t, "PUT", "/api/devices/hv", { type: "hvac" });
  let res = await t.app.request("/api/devices/hv");
  assertEquals(res.headers.get("etag"), '"0"');
  await res.body?.cancel();
  const patch = (body: unknown, ifMatch?: string) =>
    send(t, "PATCH", "/api/devices/hv/desired", body, ifMatch ? { "If-Match": ifMatch } : {});
  res = await patch({ fan: 1 }, '"0"');
  assertEquals(res.headers.get("etag"), '"1"');
  assertEquals((await ok(res)).version, 1);
  const stale = await problemOf(await patch({ fan: 2 }, '"0"'), 412, "precondition_failed", "0");
  assert(stale.detail.includes("version 1"), stale.detail);
  assertEquals((await ok(await patch({ fan: 2 }, '"7", "1"'))).version, 2);
  assertEquals((await ok(await patch({ fan: 3 }, "*"))).version, 3);
  for (const bad of ["1", 'W/"3"', '"x"', '"3",']) {
    await problemOf(await patch({ fan: 4 }, bad), 400, "invalid_input", `If-Match ${bad}`);
  }
  const twin = await ok(await t.app.request("/api/devices/hv"));
  assertEquals([twin.desired, twin.desiredVersion], [{ fan: 3 }, 3]);
  assertEquals(twin.desiredUpdatedAt, { fan: t.clock.now() });
  await t.close();
});
