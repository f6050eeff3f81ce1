import { LATENCY_BUCKETS, MetricsRegistry } from "../runtime/metrics.ts";
import { assert, assertEquals, assertThrows } from "./helpers/assert.ts";

Deno.test("MetricsRegistry renders counters with escaped labels, gauges and histograms", () => {
  const metrics = new MetricsRegistry();
  const delivered = metrics.counter({
    name: "flotilla_messages_total",
    help: "Messages delivered.",
    labels: ["type", "outcome"],
  });
  delivered.labels("user", "ok").inc();
  delivered.labels("user", "ok").inc(2);
  delivered.labels('say "hi"\\\n', "error").inc();
  const actors = metrics.gauge({ name: "flotilla_actors", help: "Live actors.\nAll \\ types." });
  actors.set(3);
  const latency = metrics.histogram({
    name: "flotilla_handle_seconds",
    help: "Handler latency.",
    labels: ["type"],
    buckets: [0.25, 0.5, 1],
  });
  const users = latency.labels("user");
  for (const v of [0.125, 0.25, 0.75, 4]) users.observe(v); // 0.25 sits on a bound: le is ≤

  assertEquals(
    metrics.render(),
    [
      "# HELP flotilla_messages_total Messages delivered.",
      "# TYPE flotilla_messages_total counter",
      'flotilla_messages_total{type="user",outcome="ok"} 3',
      String.raw`flotilla_messages_total{type="say \"hi\"\\\n",outcome="error"} 1`,
      String.raw`# HELP flotilla_actors Live actors.\nAll \\ types.`,
      "# TYPE flotilla_actors gauge",
      "flotilla_actors 3",
      "# HELP flotilla_handle_seconds Handler latency.",
      "# TYPE flotilla_handle_seconds histogram",
      'flotilla_handle_seconds_bucket{type="user",le="0.25"} 2',
      'flotilla_handle_seconds_bucket{type="user",le="0.5"} 2',
      'flotilla_handle_seconds_bucket{type="user",le="1"} 3',
      'flotilla_handle_seconds_bucket{type="user",le="+Inf"} 4',
      'flotilla_handle_seconds_sum{type="user"} 5.125',
      'flotilla_handle_seconds_count{type="user"} 4',
      "",
    ].join("\n"),
  );
  assertEquals(metrics.contentType, "text/plain; version=0.0.4; charset=utf-8");
});

Deno.test("MetricsRegistry renders untouched unlabelled metrics as 0 and no unused children", () => {
  const metrics = new MetricsRegistry();
  metrics.counter({ name: "a_total", help: "A." });
  metrics.gauge({ name: "b", help: "B.", labels: ["type"] });
  metrics.histogram({ name: "c_seconds", help: "C.", buckets: [1] });
  assertEquals(
    metrics.render(),
    [
      "# HELP a_total A.",
      "# TYPE a_total counter",
      "a_total 0",
      "# HELP b B.",
      "# TYPE b gauge",
      "# HELP c_seconds C.",
      "# TYPE c_seconds histogram",
      'c_seconds_bucket{le="1"} 0',
      'c_seconds_bucket{le="+Inf"} 0',
      "c_seconds_sum 0",
      "c_seconds_count 0",
      "",
    ].join("\n"),
  );
  assertEquals(new MetricsRegistry().render(), "");
});

Deno.test("MetricsRegistry renders numbers as Prometheus parses them", () => {
  const metrics = new MetricsRegistry();
  const g = metrics.gauge({ name: "n", help: "Numbers.", labels: ["case"] });
  const cases: [string, number][] = [
    ["big", 1e21],
    ["int", 123456789012],
    ["frac", 0.1],
    ["tiny", 1.5e-7],
    ["negzero", -0],
    ["neg", -2.5],
    ["inf", Infinity],
    ["ninf", -Infinity],
    ["nan", NaN],
  ];
  for (const [name, v] of cases) g.labels(name).set(v);
  const samples = metrics.render().split("\n").filter((l) => l.startsWith("n{"));
  assertEquals(samples, [
    'n{case="big"} 1000000000000000000000',
    'n{case="int"} 123456789012',
    'n{case="frac"} 0.1',
    'n{case="tiny"} 1.5e-7',
    'n{case="negzero"} 0',
    'n{case="neg"} -2.5',
    'n{case="inf"} +Inf',
    'n{case="ninf"} -Inf',
    'n{case="nan"} NaN',
  ]);
});

Deno.test("Counter.labels returns the same child for the same values", () => {
  const metrics = new MetricsRegistry();
  const c = metrics.counter({ name: "c_total", help: "C.", labels: ["a", "b"] });
  const child = c.labels("x", "y");
  assert(c.labels("x", "y") === child, "same values, same child");
  assert(c.labels("x", "z") !== child, "other values, other child");
  // Plain concatenation would give ("xy", "") and ("x", "y") the same cache key.
  assert(c.labels("xy", "") !== c.labels("x", "y"), "values are not merely concatenated");
  child.inc();
  child.inc(4);
  assertEquals(child.value, 5);
  assertEquals(c.get("x", "y"), 5);
  assertEquals(c.get("never", "seen"), 0);
  assert(!metrics.render().includes("never"), "get() creates no child");
});

Deno.test("Metric label counts are checked and name the metric", () => {
  const metrics = new MetricsRegistry();
  const c = metrics.counter({ name: "labelled_total", help: "L.", labels: ["type"] });
  assertThrows(() => c.labels(), RangeError, "labelled_total");
  assertThrows(() => c.labels("a", "b"), RangeError, "labelled_total");
  assertThrows(() => c.inc(), RangeError, "labelled_total");
  assertThrows(() => c.get(), RangeError, "labelled_total");
  const g = metrics.gauge({ name: "plain", help: "P." });
  assertThrows(() => g.labels("x"), RangeError, "plain");
  const h = metrics.histogram({ name: "h", help: "H.", labels: ["a"] });
  assertThrows(() => h.observe(1), RangeError, "h");
});

Deno.test("Counter rejects negative and NaN increments", () => {
  const c = new MetricsRegistry().counter({ name: "up_total", help: "U." });
  assertThrows(() => c.inc(-1), RangeError, "up_total");
  assertThrows(() => c.labels().inc(NaN), RangeError, "up_total");
  c.inc(0);
  c.inc();
  c.inc(1.5);
  assertEquals(c.get(), 2.5);
});

Deno.test("MetricsRegistry rejects duplicate and invalid names", () => {
  const metrics = new MetricsRegistry();
  metrics.counter({ name: "dup", help: "D." });
  assertThrows(() => metrics.gauge({ name: "dup", help: "D." }), Error, "dup");
  for (const name of ["", "1abc", "a-b", "a b", "é"]) {
    assertThrows(() => metrics.counter({ name, help: "X." }), TypeError, "metric name");
  }
  metrics.counter({ name: "ok:with_colon", help: "Colons are legal in metric names." });
  for (const label of ["1a", "a:b", "__reserved", "a-b", ""]) {
    assertThrows(() => metrics.gauge({ name: "g", help: "G.", labels: [label] }), TypeError);
  }
  assertThrows(() => metrics.gauge({ name: "g", help: "G.", labels: ["a", "a"] }), TypeError);
  assertThrows(() => metrics.histogram({ name: "h", help: "H.", labels: ["le"] }), TypeError);
  metrics.gauge({ name: "g", help: "G.", labels: ["le", "_x"] }); // `le` is only a histogram's
});

Deno.test("Gauge sets, moves and resets", () => {
  const metrics = new MetricsRegistry();
  const live = metrics.gauge({ name: "live", help: "Live.", labels: ["type"] });
  const users = live.labels("user");
  users.set(5);
  users.inc();
  users.dec(2);
  assertEquals(live.get("user"), 4);
  live.labels("order").set(1);
  live.reset();
  assertEquals(live.get("user"), 0);
  assertEquals(metrics.render(), "# HELP live Live.\n# TYPE live gauge\n");
  assert(live.labels("user") !== users, "reset detaches old children");

  const depth = metrics.gauge({ name: "depth", help: "Depth." });
  const bound = depth.labels();
  depth.set(7);
  depth.inc(3);
  depth.dec();
  assertEquals(depth.get(), 9);
  depth.reset();
  bound.inc();
  assertEquals(depth.get(), 1, "an unlabelled gauge keeps its child across reset");
});

Deno.test("MetricsRegistry.onCollect runs before every render", () => {
  const metrics = new MetricsRegistry();
  const live = metrics.gauge({ name: "live", help: "Live.", labels: ["type"] });
  let snapshot: Record<string, number> = { user: 2, order: 1 };
  let calls = 0;
  metrics.onCollect(() => {
    calls++;
    live.reset();
    for (const [type, n] of Object.entries(snapshot)) live.labels(type).set(n);
  });
  assert(metrics.render().includes('live{type="order"} 1'));
  snapshot = { user: 3 };
  const text = metrics.render();
  assert(text.includes('live{type="user"} 3') && !text.includes("order"), text);
  assertEquals(calls, 2);
});

Deno.test("Histogram keeps per-bucket counts and validates buckets", () => {
  const metrics = new MetricsRegistry();
  const h = metrics.histogram({ name: "h_seconds", help: "H.", buckets: [0.1, 1, Infinity] });
  const child = h.labels();
  for (const v of [0.05, 0.1, 0.5, 1, 2, NaN]) child.observe(v);
  assertEquals(child.counts, new Float64Array([2, 2, 2]));
  assertEquals(child.count, 6);
  assert(Number.isNaN(child.sum), "NaN poisons the sum, as in Prometheus");
  h.observe(0);
  assertEquals(child.counts[0], 3);

  assertThrows(() => metrics.histogram({ name: "x", help: "X.", buckets: [1, 1] }), TypeError);
  assertThrows(() => metrics.histogram({ name: "y", help: "Y.", buckets: [2, 1] }), TypeError);
  assertThrows(() => metrics.histogram({ name: "z", help: "Z.", buckets: [NaN] }), TypeError);
  const d = metrics.histogram({ name: "d_seconds", help: "Default buckets." });
  assertEquals(d.labels().counts.length, LATENCY_BUCKETS.length + 1);
});

Deno.test("LATENCY_BUCKETS spans 10µs to 5s and is frozen", () => {
  assertEquals(
    [...LATENCY_BUCKETS],
    [
      1e-5,
      5e-5,
      1e-4,
      2.5e-4,
      5e-4,
      1e-3,
      2.5e-3,
      5e-3,
      0.01,
      0.025,
      0.05,
      0.1,
      0.25,
      0.5,
      1,
      2.5,
      5,
    ],
  );
  assert(Object.isFrozen(LATENCY_BUCKETS));
  const metrics = new MetricsRegistry();
  metrics.histogram({ name: "lat", help: "L." });
  assert(metrics.render().includes('lat_bucket{le="0.00001"} 0'), "small bounds in full");
});
