import { eligible, type NodeCandidate, scoreOf, selectNode } from "../actors/devices/routing.ts";
import { haversineKm } from "../actors/shared/geo.ts";
import { edgeNode, edgeRegistry, parseEdgeRegistration } from "../actors/devices/mod.ts";
import { ManualClock, MemoryStore, ValidationError } from "../runtime/mod.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "./helpers/assert.ts";
import { deviceSystem, prng, T0 } from "./helpers/devices.ts";
import { testApp } from "./helpers/app.ts";

function near(actual: number, expected: number, eps: number) {
  assert(Math.abs(actual - expected) <= eps, `${actual} is not within ${eps} of ${expected}`);
}

// ---------------------------------------------------------------- distances and scores

Deno.test("haversine distances in km: known values", () => {
  const R = 6371;
  assertEquals(haversineKm({ lat: 10, lon: 20 }, { lat: 10, lon: 20 }), 0);
  near(haversineKm({ lat: 0, lon: 0 }, { lat: 0, lon: 180 }), Math.PI * R, 1e-9);
  near(haversineKm({ lat: 0, lon: 0 }, { lat: 90, lon: 0 }), (Math.PI / 2) * R, 1e-9);
  near(haversineKm({ lat: 0, lon: 0 }, { lat: 0, lon: 1 }), (Math.PI / 180) * R, 1e-9);
  near(haversineKm({ lat: 90, lon: 0 }, { lat: -90, lon: 77 }), Math.PI * R, 1e-6);
  // Seoul City Hall – Busan City Hall ≈ 325 km; London – Paris ≈ 343.5 km.
  near(haversineKm({ lat: 37.5665, lon: 126.978 }, { lat: 35.1796, lon: 129.0756 }), 325, 1);
  near(haversineKm({ lat: 51.5074, lon: -0.1278 }, { lat: 48.8566, lon: 2.3522 }), 343.5, 0.5);
  // Across the antimeridian: 2 degrees of longitude, not 358.
  near(haversineKm({ lat: 0, lon: 179 }, { lat: 0, lon: -179 }), (Math.PI / 90) * R, 1e-6);
  const a = { lat: 12.3, lon: 45.6 }, b = { lat: -7.8, lon: -100.2 };
  assertEquals(haversineKm(a, b), haversineKm(b, a));
});

Deno.test("score = 1 / (1 + km + load / 100)", () => {
  assertEquals(scoreOf(0, 0), 1);
  assertEquals(scoreOf(1, 0), 0.5);
  assertEquals(scoreOf(0, 100), 0.5);
  assertEquals(scoreOf(3, 100), 0.2);
  assertEquals(scoreOf(10, 0, 10), 0.5, "a distance unit of 10 km");
});

function node(id: string, over: Partial<NodeCandidate> = {}): NodeCandidate {
  return {
    id,
    tier: "edge",
    location: { lat: 37.5, lon: 127 },
    capabilities: ["vision"],
    limits: { cpu: 80, memory: 85, storage: 90 },
    status: "active",
    metrics: { cpu: 10, memory: 10, storage: 10, load: 10 },
    lastHeartbeat: T0,
    ...over,
  };
}

Deno.test("eligible: active, capable and strictly under each limit", () => {
  const m = (o: Partial<NonNullable<NodeCandidate["metrics"]>>) => ({
    metrics: { cpu: 10, memory: 10, storage: 10, load: 0, ...o },
  });
  assert(eligible(node("a"), "vision"));
  assert(!eligible(node("a"), "audio"), "no such capability");
  assert(!eligible(node("a", { status: "inactive" }), "vision"));
  assert(!eligible(node("a", { metrics: null }), "vision"), "no heartbeat yet");
  assert(eligible(node("a", m({ cpu: 79.99 })), "vision"));
  assert(!eligible(node("a", m({ cpu: 80 })), "vision"));
  assert(eligible(node("a", m({ memory: 84.99 })), "vision"));
  assert(!eligible(node("a", m({ memory: 85 })), "vision"));
  assert(eligible(node("a", m({ storage: 89.99 })), "vision"));
  assert(!eligible(node("a", m({ storage: 90 })), "vision"));
  assert(
    eligible(
      node("a", { limits: { cpu: 95, memory: 85, storage: 90 }, ...m({ cpu: 90 }) }),
      "vision",
    ),
  );
});

Deno.test("selectNode: the best score wins; ties go to the smallest id, in any order", () => {
  const here = { lat: 37.5, lon: 127 };
  const near1 = node("n-b", { metrics: { cpu: 1, memory: 1, storage: 1, load: 20 } });
  const near2 = node("n-a", { metrics: { cpu: 1, memory: 1, storage: 1, load: 20 } });
  const far = node("n-0", { location: { lat: 35, lon: 129 } });
  const busy = node("n-c", { metrics: { cpu: 1, memory: 1, storage: 1, load: 50 } });
  const full = node("a-full", { metrics: { cpu: 80, memory: 1, storage: 1, load: 0 } });
  const request = { capability: "vision", location: here };
  const random = prng(9);
  const all = [near1, near2, far, busy, full];
  for (let i = 0; i < 20; i++) {
    const shuffled = [...all].sort(() => random() - 0.5);
    assertEquals(selectNode(shuffled, request), { nodeId: "n-a", score: 1 / (1 + 0.2) });
  }
  assertEquals(selectNode([busy, far], request)?.nodeId, "n-c", "load/100 weighs less than km");
  assertEquals(selectNode([full], request), null);
  assertEquals(selectNode([], request), null);
});

Deno.test("edge node registration validates tier, location, capabilities, limits", () => {
  assertEquals(
    parseEdgeRegistration({ tier: "fog", location: { lat: 1, lon: 2 }, capabilities: ["x"] }),
    { tier: "fog", location: { lat: 1, lon: 2 }, capabilities: ["x"] },
  );
  for (
    const bad of [
      {},
      { tier: "mist", location: { lat: 0, lon: 0 }, capabilities: [] },
      { tier: "edge", location: { lat: 90.1, lon: 0 }, capabilities: [] },
      { tier: "edge", location: { lat: 0, lon: -180.5 }, capabilities: [] },
      { tier: "edge", location: { lat: 0, lon: 0 }, capabilities: ["a b"] },
      { tier: "edge", location: { lat: 0, lon: 0 }, capabilities: ["a", "a"] },
      { tier: "edge", location: { lat: 0, lon: 0 }, capabilities: [], limits: { cpu: 101 } },
      { tier: "edge", location: { lat: "0", lon: 0 }, capabilities: [] },
    ]
  ) {
    assertThrows(() => parseEdgeRegistration(bad), ValidationError);
  }
});

// ---------------------------------------------------------------- actors

const REG = { tier: "edge", location: { lat: 37.5, lon: 127 }, capabilities: ["vision"] } as const;
const HB = { cpu: 10, memory: 20, storage: 30, load: 40 };

Deno.test("an edge node is active from its first heartbeat until the timeout passes", async () => {
  const t = await deviceSystem({ edge: { heartbeatTimeout: "PT10S" } });
  const ref = t.system.ref(edgeNode, "e1");
  const registry = t.system.ref(edgeRegistry, "all");
  assertEquals((await ref.ask("register", REG)).node.status, "inactive");
  const request = { capability: "vision", location: { lat: 37.5, lon: 127 } };
  await t.system.idle();
  assertEquals(await registry.ask("route", request), null, "no heartbeat yet");
  assertEquals((await ref.ask("heartbeat", HB)).status, "active");
  await t.system.idle();
  assertEquals(await registry.ask("route", request), { nodeId: "e1", score: 1 / 1.4 });
  await t.advance(9_999);
  assertEquals((await ref.ask("view"))?.status, "active");
  await t.advance(1);
  assertEquals((await ref.ask("view"))?.status, "inactive");
  assertEquals(await registry.ask("route", request), null);
  const kinds = t.events("nodes").map((e) => (e.data as { event: string }).event);
  assertEquals(kinds, ["registered", "active", "inactive"]);
  await ref.ask("heartbeat", HB);
  await ref.ask("heartbeat", { ...HB, load: 0 });
  await t.system.idle();
  assertEquals(t.events("nodes").map((e) => (e.data as { event: string }).event).slice(3), [
    "active",
    "heartbeat",
  ]);
  assertEquals(await registry.ask("route", request), { nodeId: "e1", score: 1 });
  await t.system.shutdown();
});

Deno.test("restart: an active edge node goes inactive a timeout after the restart", async () => {
  const store = new MemoryStore();
  const config = { edge: { heartbeatTimeout: "PT10S" } };
  const first = await deviceSystem(config, { store });
  await first.system.ref(edgeNode, "e1").ask("register", REG);
  await first.system.ref(edgeNode, "e1").ask("heartbeat", HB);
  await first.system.idle();
  await first.system.shutdown();
  const restart = T0 + 3_600_000;
  const second = await deviceSystem(config, { store, clock: new ManualClock(restart) });
  const request = { capability: "vision", location: { lat: 37.5, lon: 127 } };
  await second.advance(1000);
  assertEquals(
    (await second.system.ref(edgeRegistry, "all").ask("route", request))?.nodeId,
    "e1",
    "the registry survives the restart",
  );
  await second.advance(8000);
  assertEquals(second.events("nodes"), []);
  await second.advance(3000);
  assertEquals(second.events("nodes").map((e) => (e.data as { event: string }).event), [
    "inactive",
  ]);
  assertEquals(await second.system.ref(edgeRegistry, "all").ask("route", request), null);
  await second.system.shutdown();
});

// ---------------------------------------------------------------- HTTP

const PROBLEM = "application/problem+json; charset=utf-8";

async function json(
  t: Awaited<ReturnType<typeof testApp>>,
  method: string,
  path: string,
  body?: unknown,
) {
  return await t.app.request(path, {
    method,
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

Deno.test("HTTP: register, heartbeat, list and route edge nodes", async () => {
  const t = await testApp();
  let res = await json(t, "PUT", "/api/edge-nodes/edge-seoul", {
    ...REG,
    limits: { cpu: 70 },
  });
  assertEquals(res.status, 201);
  const created = await res.json();
  assertEquals(created.limits, { cpu: 70, memory: 85, storage: 90 });
  assertEquals(created.status, "inactive");
  res = await json(t, "PUT", "/api/edge-nodes/edge-busan", {
    tier: "fog",
    location: { lat: 35.1796, lon: 129.0756 },
    capabilities: ["vision", "audio"],
  });
  assertEquals(res.status, 201);
  assertEquals(
    (await json(t, "PUT", "/api/edge-nodes/edge-busan", {
      tier: "fog",
      location: { lat: 35.1796, lon: 129.0756 },
      capabilities: ["vision", "audio"],
    })).status,
    200,
  );
  for (const id of ["edge-seoul", "edge-busan"]) {
    res = await json(t, "POST", `/api/edge-nodes/${id}/heartbeat`, HB);
    assertEquals(res.status, 200);
    assertEquals((await res.json()).status, "active");
  }
  res = await t.app.request("/api/edge-nodes");
  const page = await res.json();
  assertEquals(page.items.map((n: { id: string }) => n.id), ["edge-busan", "edge-seoul"]);
  assertEquals(page.next, null);
  res = await t.app.request("/api/edge-nodes?limit=1");
  const first = await res.json();
  assertEquals(first.items.map((n: { id: string }) => n.id), ["edge-busan"]);
  assertEquals(first.next, "edge-busan");
  res = await t.app.request(`/api/edge-nodes?limit=1&after=${first.next}`);
  assertEquals((await res.json()).items[0].id, "edge-seoul");
  // Near Seoul: the Seoul node; for audio only Busan has it.
  res = await json(t, "POST", "/api/route", {
    capability: "vision",
    location: { lat: 37.56, lon: 126.97 },
  });
  assertEquals(res.status, 200);
  const routed = await res.json();
  assertEquals(Object.keys(routed).sort(), ["nodeId", "score"]);
  assertEquals(routed.nodeId, "edge-seoul");
  res = await json(t, "POST", "/api/route", {
    capability: "audio",
    location: { lat: 37.56, lon: 126.97 },
  });
  assertEquals((await res.json()).nodeId, "edge-busan");
  // Seoul over its CPU limit (70): Busan takes the vision work.
  await json(t, "POST", "/api/edge-nodes/edge-seoul/heartbeat", { ...HB, cpu: 70 });
  res = await json(t, "POST", "/api/route", {
    capability: "vision",
    location: { lat: 37.56, lon: 126.97 },
  });
  assertEquals((await res.json()).nodeId, "edge-busan");
  res = await t.app.request("/api/edge-nodes/edge-seoul");
  assertEquals((await res.json()).metrics.cpu, 70);
  await t.close();
});

Deno.test("HTTP: no candidate is a 503 problem 'no available edge node'", async () => {
  const t = await testApp();
  const res = await json(t, "POST", "/api/route", {
    capability: "vision",
    location: { lat: 0, lon: 0 },
  });
  assertEquals(res.status, 503);
  assertEquals(res.headers.get("content-type"), PROBLEM);
  assertEquals(res.headers.get("retry-after"), "1");
  const body = await res.json();
  assertEquals(body.code, "no_available_edge_node");
  assertMatch(body.detail, /no available edge node/);
  await t.close();
});

Deno.test("HTTP: bad edge input is a 400 problem and changes nothing", async () => {
  const t = await testApp();
  const cases: [string, string, unknown, number][] = [
    ["PUT", "/api/edge-nodes/e1", {}, 400],
    ["PUT", "/api/edge-nodes/e1", { ...REG, tier: "sky" }, 400],
    ["PUT", "/api/edge-nodes/e1", { ...REG, location: { lat: 100, lon: 0 } }, 400],
    ["PUT", "/api/edge-nodes/e1", "{", 400],
    ["PUT", "/api/edge-nodes/e.1", REG, 400],
    ["PUT", `/api/edge-nodes/${"e".repeat(129)}`, REG, 400],
    ["PUT", `/api/edge-nodes/${encodeURIComponent("노드")}`, REG, 400],
    ["POST", "/api/edge-nodes/e1/heartbeat", HB, 404],
    ["POST", "/api/edge-nodes/e1/heartbeat", { cpu: 10 }, 400],
    ["POST", "/api/edge-nodes/e1/heartbeat", { ...HB, cpu: -1 }, 400],
    ["POST", "/api/edge-nodes/e1/heartbeat", { ...HB, extra: 1 }, 400],
    ["POST", "/api/route", {}, 400],
    ["POST", "/api/route", { capability: "vision" }, 400],
    ["POST", "/api/route", { capability: "vision", location: { lat: 0, lon: 181 } }, 400],
    ["POST", "/api/route", { capability: "", location: { lat: 0, lon: 0 } }, 400],
    ["GET", "/api/edge-nodes?limit=0", undefined, 400],
    ["GET", "/api/edge-nodes?limit=abc", undefined, 400],
    ["GET", "/api/edge-nodes?after=..", undefined, 400],
    ["GET", "/api/edge-nodes/nobody", undefined, 404],
  ];
  for (const [method, path, body, status] of cases) {
    const res = await json(t, method, path, body);
    assertEquals(res.status, status, `${method} ${path} ${JSON.stringify(body)}`);
    assertEquals(res.headers.get("content-type"), PROBLEM);
    await res.body?.cancel();
  }
  await t.system.idle();
  assertEquals(await t.store.keys("a/edge-node/"), []);
  await t.close();
});
