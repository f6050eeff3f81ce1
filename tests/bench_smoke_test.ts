/**
 * The `activation`, `persist` and `ingest` benchmarks run end to end at tiny sizes, as
 * `deno task bench` runs them (a child process each), writing their results to a temporary
 * directory: the result is well formed and its figures consistent. No timing is asserted — the performance targets
 * live in the benchmarks' results, not in tests.
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchResult } from "../bench/lib.ts";
import { assert, assertEquals } from "./helpers/assert.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Runs `bench/<file>` with `env` and returns the result it wrote as `<name>.json`. */
async function runBench(
  file: string,
  name: string,
  env: Record<string, string>,
): Promise<{ result: BenchResult; stdout: string }> {
  const dir = await Deno.makeTempDir({ prefix: "flotilla-bench-smoke-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--v8-flags=--expose-gc", join(ROOT, "bench", file)],
      cwd: ROOT,
      env: { ...env, BENCH_RESULTS_DIR: dir, NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      // A hung benchmark is killed (its servers die with it: see tests/helpers/servers.ts).
      signal: AbortSignal.timeout(60_000),
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, `bench/${file} exited with ${out.code}:\n${stdout}\n${stderr}`);
    const text = await Deno.readTextFile(join(dir, `${name}.json`));
    return { result: JSON.parse(text) as BenchResult, stdout };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function assertWellFormed(result: BenchResult, name: string): void {
  assertEquals(result.name, name);
  for (const field of ["unit", "baseline", "target"] as const) {
    assert(
      typeof result[field] === "string" && result[field] !== "",
      `${field}: ${result[field]}`,
    );
  }
  assert(typeof result.met === "boolean", `met: ${result.met}`);
  assert(Number.isFinite(result.value) && result.value > 0, `value: ${result.value}`);
  assert(
    Number.isFinite(result.baselineValue) && result.baselineValue > 0,
    `baselineValue: ${result.baselineValue}`,
  );
  const expected = result.value / result.baselineValue;
  assert(
    Math.abs(result.ratio - expected) <= 1e-9 * expected,
    `ratio ${result.ratio} is not value / baselineValue = ${expected}`,
  );
  assert(typeof result.machine?.cores === "number", "machine described");
  assert(typeof result.details === "object" && result.details !== null, "details present");
}

Deno.test("bench activation: a tiny run writes a consistent result", async () => {
  const { result, stdout } = await runBench("activation.ts", "activation", {
    BENCH_ACTIVATION_N: "200",
    BENCH_ACTIVATION_RUNS: "1",
  });
  assertWellFormed(result, "activation");
  assertEquals(result.details?.actors, 200);
  assert(/^(PASS|MISS) activation: /m.test(stdout), stdout);
});

Deno.test("bench persist: a tiny run writes a consistent result for every store", async () => {
  const { result, stdout } = await runBench("persist.ts", "persist", {
    BENCH_PERSIST_ACTORS: "50",
    BENCH_PERSIST_SECONDS: "0.2",
    BENCH_PERSIST_BASELINE_SECONDS: "0.1",
    BENCH_PERSIST_ROUNDS: "1",
  });
  assertWellFormed(result, "persist");
  const stores = result.details?.stores as Record<
    string,
    { writesPerSec: number; baselinePerSec: number; writes: number; committedOps: number }
  >;
  assertEquals(Object.keys(stores).sort(), ["denokv", "natskv", "redis"]);
  for (const [name, store] of Object.entries(stores)) {
    assert(store.writesPerSec > 0 && store.baselinePerSec > 0, `${name}: ${JSON.stringify(store)}`);
    assertEquals(store.committedOps, store.writes, `${name}: every reply is one write`);
  }
  const line = stdout.split("\n").find((l) => /^(PASS|MISS) persist: /.test(l));
  assert(line !== undefined, stdout);
  for (const name of ["denokv", "redis", "natskv"]) assert(line.includes(name), line);
});

Deno.test("bench ingest: a tiny run writes a consistent result with the issue-15 fields", async () => {
  const { result, stdout } = await runBench("ingest.ts", "ingest", {
    BENCH_INGEST_N: "2000",
    BENCH_INGEST_SECONDS: "0.5",
    BENCH_INGEST_STEADY_RATE: "200",
  });
  assertWellFormed(result, "ingest");
  const d = result.details as Record<string, number>;
  assertEquals(d.messages, 2000);
  for (const field of ["p50Ms", "p99Ms", "p50At1000Ms", "p99At1000Ms"]) {
    assert(Number.isFinite(d[field]) && d[field]! >= 0, `${field}: ${d[field]}`);
  }
  assert(d.consumeOnlyRatio! > 0, `consumeOnlyRatio: ${d.consumeOnlyRatio}`);
  assert(d.storedBytesPerDevice! > 0, `storedBytesPerDevice: ${d.storedBytesPerDevice}`);
  assert(d.bareValueBytes! > 0, `bareValueBytes: ${d.bareValueBytes}`);
  assert(d.writeBytesPerReading! > 0, `writeBytesPerReading: ${d.writeBytesPerReading}`);
  assert(/^(PASS|MISS) ingest: /m.test(stdout), stdout);
});

Deno.test("bench scale: a tiny run writes a consistent result", async () => {
  const { result, stdout } = await runBench("scale.ts", "scale", {
    BENCH_SCALE_DEVICES: "300",
    BENCH_SCALE_SMALL: "30",
    BENCH_SCALE_MESSAGES: "600",
    BENCH_SCALE_CAP: "100",
    BENCH_SCALE_CHURN_MESSAGES: "400",
    BENCH_SCALE_IN_FLIGHT: "100",
  });
  assertWellFormed(result, "scale");
  const d = result.details!;
  assertEquals(d.devices, 300);
  assertEquals(d.twinsActive, 300, "every device active without a cap");
  assertEquals(d.deviceCrashes, 0, "the seeded twins load and apply records");
  assert(typeof d.rateRatio === "number" && d.rateRatio > 0, `rateRatio: ${d.rateRatio}`);
  assert((d.churnEvictions as number) > 0, "the cap evicted devices");
  assert((d.churnActiveAtEnd as number) <= 100, "within the cap at the end");
  assert(/^(PASS|MISS) scale: /m.test(stdout), stdout);
});

Deno.test("bench device-writes: a tiny run counts a journal append per reading", async () => {
  const { result, stdout } = await runBench("device_writes.ts", "device-writes", {
    BENCH_DEVICE_WRITES_DEVICES: "3",
    BENCH_DEVICE_WRITES_MESSAGES: "60",
  });
  assertWellFormed(result, "device-writes");
  const one = result.details?.oneSensor as { ops: Record<string, number>; bytesPerWrite: number };
  // Devices 0, 1, 2 send 60, 61 and 62 readings: one append each, a snapshot at 50; and each
  // goes offline (one more event) as the clock runs on past its heartbeat timeout.
  assertEquals(one.ops, { append: 183 + 3, put: 3, trim: 3 });
  assert(one.bytesPerWrite < 300, `bytes per write: ${one.bytesPerWrite}`);
  assert(/^(PASS|MISS) device-writes: /m.test(stdout), stdout);
});
