/**
 * The webhook channel of alerts: exponential backoff on the clock (durable reminders), giving
 * up, permanent failures, surviving a restart, and a real HTTP receiver on 127.0.0.1.
 */
import * as alerts from "../actors/alerts/mod.ts";
import { backoffDelay } from "../actors/alerts/outbox.ts";
import type { AlertsConfig } from "../actors/alerts/config.ts";
import { raiseAlert } from "../actors/contracts.ts";
import { ConfigError, ManualClock, MemoryStore } from "../runtime/mod.ts";
import { assert, assertEquals, assertThrows } from "./helpers/assert.ts";
import { setup } from "./helpers/system.ts";

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const HOOK = "http://hooks.invalid/alerts";

/** A fetch that answers with the given statuses in turn (then 200) and records each call. */
function scripted(statuses: number[]) {
  const calls: { at: number; url: string; headers: Headers; body: unknown }[] = [];
  let clock: ManualClock | null = null;
  const fetch = ((url: string, init: RequestInit) => {
    calls.push({
      at: clock!.now(),
      url,
      headers: new Headers(init.headers),
      body: JSON.parse(String(init.body)),
    });
    const status = statuses.shift() ?? 200;
    if (status === 0) return Promise.reject(new TypeError("connection refused"));
    return Promise.resolve(new Response("ok", { status }));
  }) as typeof globalThis.fetch;
  return { calls, fetch, bind: (c: ManualClock) => (clock = c) };
}

async function start(
  config: Partial<AlertsConfig>,
  options: { store?: MemoryStore; clock?: ManualClock } = {},
) {
  const clock = options.clock ?? new ManualClock(T0);
  const { system } = setup(alerts.actors(config), {
    clock,
    store: options.store ?? new MemoryStore(),
    logs: "discard",
  });
  await system.start();
  const book = system.ref(
    alerts.alertBookActor(alerts.resolveAlertsConfig(config)),
    "device/robot-1",
  );
  const hook = system.ref(alerts.webhookActor(alerts.resolveAlertsConfig(config)), "ops");
  const advance = async (ms: number) => {
    clock.advance(ms);
    await system.idle();
  };
  return { system, clock, book, hook, advance };
}

const routeAll = (extra: Partial<alerts.WebhookConfig> = {}): Partial<AlertsConfig> => ({
  webhooks: { ops: { url: HOOK, ...extra } },
  rules: [{ name: "all", then: { webhooks: ["ops"] } }],
});
const signal = {
  source: "device/robot-1",
  type: "threshold_violation",
  severity: "high" as const,
  message: "temperature 51 above 50",
  data: { value: 51 },
};

Deno.test("webhook backoff doubles from 1 s up to its cap", () => {
  const b = { initialMs: 1000, factor: 2, maxMs: 5000, maxAttempts: 8 };
  assertEquals([1, 2, 3, 4, 5].map((n) => backoffDelay(b, n)), [1000, 2000, 4000, 5000, 5000]);
});

Deno.test("webhook a failing receiver is retried after 1 s, then 2 s, then 4 s, on the clock", async () => {
  const f = scripted([500, 0, 503]);
  const t = await start({ ...routeAll(), fetch: f.fetch });
  f.bind(t.clock);
  await t.book.ask("raise", signal);
  await t.system.idle();
  assertEquals(f.calls.map((c) => c.at - T0), [0], "the first attempt goes out at once");
  await t.advance(999);
  assertEquals(f.calls.length, 1);
  await t.advance(1);
  assertEquals(f.calls.map((c) => c.at - T0), [0, 1000]);
  await t.advance(1999);
  assertEquals(f.calls.length, 2);
  await t.advance(1);
  assertEquals(f.calls.map((c) => c.at - T0), [0, 1000, 3000]);
  await t.advance(4000);
  assertEquals(f.calls.map((c) => c.at - T0), [0, 1000, 3000, 7000]);
  const status = await t.hook.ask("status");
  assertEquals([status.pending, status.delivered, status.failed.length], [0, 1, 0]);
  // Every attempt carries the same delivery id, the event and the alert.
  const ids = new Set(f.calls.map((c) => c.headers.get("x-flotilla-delivery")));
  assertEquals([...ids], ["ops:d1"]);
  assertEquals(f.calls[0]!.headers.get("x-flotilla-event"), "raised");
  assertEquals(f.calls[0]!.headers.get("content-type"), "application/json");
  const body = f.calls[0]!.body as alerts.Announcement;
  assertEquals([body.event, body.alert.id, body.alert.type], [
    "raised",
    "device.robot-1.1",
    "threshold_violation",
  ]);
  await t.system.shutdown();
});

Deno.test("webhook gives up after maxAttempts, and at once on a permanent 4xx", async () => {
  const f = scripted([500, 500, 500, 400]);
  const t = await start({ ...routeAll({ maxAttempts: 3 }), fetch: f.fetch });
  f.bind(t.clock);
  await t.book.ask("raise", signal);
  await t.system.idle();
  await t.advance(1000);
  await t.advance(2000);
  await t.advance(60_000);
  assertEquals(f.calls.length, 3);
  let status = await t.hook.ask("status");
  assertEquals([status.pending, status.failed.map((d) => [d.attempts, d.lastError])], [0, [[
    3,
    "HTTP 500",
  ]]]);
  await t.book.ask("raise", { ...signal, type: "rapid_change", severity: "medium" });
  await t.system.idle();
  status = await t.hook.ask("status");
  assertEquals(f.calls.length, 4);
  assertEquals(status.failed.map((d) => [d.attempts, d.lastError]), [[3, "HTTP 500"], [
    1,
    "HTTP 400",
  ]]);
  await t.system.shutdown();
});

Deno.test("webhook 429 and 408 are retried, not given up", async () => {
  const f = scripted([429, 408]);
  const t = await start({ ...routeAll(), fetch: f.fetch });
  f.bind(t.clock);
  await t.book.ask("raise", signal);
  await t.system.idle();
  await t.advance(1000);
  await t.advance(2000);
  assertEquals(f.calls.length, 3);
  assertEquals((await t.hook.ask("status")).delivered, 1);
  await t.system.shutdown();
});

Deno.test("webhook pending retries survive a restart (the outbox and its reminder are durable)", async () => {
  const store = new MemoryStore();
  const clock = new ManualClock(T0);
  const f1 = scripted([500]);
  const first = await start({ ...routeAll(), fetch: f1.fetch }, { store, clock });
  f1.bind(clock);
  await first.book.ask("raise", signal);
  await first.system.idle();
  assertEquals(f1.calls.length, 1);
  await first.system.shutdown();

  const f2 = scripted([]);
  const second = await start({ ...routeAll(), fetch: f2.fetch }, { store, clock });
  f2.bind(clock);
  await second.advance(1000);
  assertEquals(f2.calls.map((c) => [c.at - T0, c.headers.get("x-flotilla-delivery")]), [[
    1000,
    "ops:d1",
  ]]);
  assertEquals((await second.hook.ask("status")).delivered, 1);
  await second.system.shutdown();
});

Deno.test("webhook rules route by condition and event: acknowledgements only where asked", async () => {
  const f = scripted([]);
  const t = await start({
    webhooks: { ops: { url: HOOK }, audit: { url: "http://audit.invalid/" } },
    rules: [
      { name: "ops", when: { minSeverity: "high" }, then: { webhooks: ["ops"] } },
      {
        name: "audit",
        then: { webhooks: ["audit"], notifyOn: ["raised", "acknowledged", "cleared"] },
      },
    ],
    fetch: f.fetch,
  });
  f.bind(t.clock);
  const raised = await t.book.ask("raise", signal);
  assert(raised.outcome === "raised");
  await t.book.ask("raise", { ...signal, type: "rapid_change", severity: "medium" });
  await t.book.ask("ack", { id: raised.id });
  await t.book.ask("clear", { id: raised.id });
  await t.system.idle();
  assertEquals(
    f.calls.map((
      c,
    ) => [
      new URL(c.url).host,
      (c.body as alerts.Announcement).event,
      (c.body as alerts.Announcement).alert.type,
    ]),
    [
      ["hooks.invalid", "raised", "threshold_violation"],
      ["audit.invalid", "raised", "threshold_violation"],
      ["audit.invalid", "raised", "rapid_change"],
      ["audit.invalid", "acknowledged", "threshold_violation"],
      ["audit.invalid", "cleared", "threshold_violation"],
    ],
  );
  await t.system.shutdown();
});

Deno.test("webhook configuration is checked", () => {
  assertThrows(
    () => alerts.actors({ webhooks: { ops: { url: "ftp://x" } } }),
    ConfigError,
    "http or https",
  );
  assertThrows(() => alerts.actors({ webhooks: { "a b": { url: HOOK } } }), ConfigError);
  assertThrows(
    () => alerts.actors({ rules: [{ name: "r", then: { webhooks: ["nope"] } }] }),
    ConfigError,
    "not configured",
  );
  assertThrows(
    () => alerts.actors({ webhooks: { ops: { url: HOOK, maxBackoff: 10, initialBackoff: 100 } } }),
    ConfigError,
  );
});

Deno.test("webhook delivers to a real HTTP receiver on 127.0.0.1, retrying a 503", async () => {
  const received: { delivery: string | null; auth: string | null; body: alerts.Announcement }[] =
    [];
  let answers = [503];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    received.push({
      delivery: req.headers.get("x-flotilla-delivery"),
      auth: req.headers.get("authorization"),
      body: await req.json(),
    });
    return new Response(null, { status: answers.shift() ?? 204 });
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/hook`;
    const t = await start({
      webhooks: { ops: { url, headers: { Authorization: "Bearer s3cret" } } },
      rules: [{ name: "all", then: { webhooks: ["ops"] } }],
    });
    // A source raising through the contract, as a device actor does.
    raiseAlert({
      tell: (to, kind, payload) => t.system.ref(to.type, to.id).tell(kind, payload as never),
    }, signal);
    await t.system.idle();
    assertEquals(received.length, 1);
    await t.advance(1000);
    assertEquals(received.map((r) => r.delivery), ["ops:d1", "ops:d1"]);
    assertEquals(received[1]!.body.alert.id, "device.robot-1.1");
    assertEquals(received[1]!.auth, "Bearer s3cret", "configured headers are sent");
    assertEquals((await t.hook.ask("status")).delivered, 1);
    answers = [];
    await t.system.shutdown();
  } finally {
    await server.shutdown();
  }
});
