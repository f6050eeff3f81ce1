/**
 * The device simulator (`deno task simulate`, tools/simulate.ts):
 *
 * - its pure parts: the command line's bounds and messages, the robots' random walk staying in
 *   its area, readings inside their thresholds except for the injected anomalies, the node's
 *   own analytics staying quiet on normal readings, the seed making runs identical;
 * - whole runs, as a subprocess exactly as the task runs it, against an embedded node over
 *   HTTP and against a one-node cluster over NATS and over MQTT: the summary agrees with the
 *   node (acked == Σ messageCount over the simulated devices), terminals exist, and each robot
 *   stands where replaying its walk from the seed says it must;
 * - the friendly errors: nothing listening (HTTP, NATS, MQTT) and a refused token.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals, assertMatch, assertThrows } from "./helpers/assert.ts";
import { startCluster } from "./helpers/cluster.ts";
import { type NodeProcess, startNodeProcess, TEST_API_TOKEN } from "./helpers/process.ts";
import { main, type MainIo } from "../tools/simulate.ts";
import { AREA, createFleet, fleetCounts, MAX_STEP, Robot } from "../tools/simulate/fleet.ts";
import {
  DEFAULT_MIX,
  DEFAULT_URLS,
  MAX_MESSAGES,
  parseDuration,
  parseOptions,
  type SimOptions,
  UsageError,
} from "../tools/simulate/options.ts";
import { deriveSeed, Prng } from "../tools/simulate/prng.ts";
import { LatencyHistogram, type Summary } from "../tools/simulate/stats.ts";
import { DEFAULT_THRESHOLDS, outside } from "../actors/devices/thresholds.ts";
import { emptyAnalytics, observe, type Signal } from "../actors/devices/analytics.ts";
import { DEFAULT_WINDOW } from "../actors/devices/window.ts";
import { DEFAULT_TREND } from "../actors/devices/trend.ts";
import { DEFAULT_ANOMALY } from "../actors/devices/zscore.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

const parse = (...args: string[]) => parseOptions(args, {}, () => 1234) as SimOptions;

// ---------------------------------------------------------------------------------------------
// The command line

Deno.test("parseOptions: defaults are a small fleet on this machine over HTTP", () => {
  const o = parse();
  assertEquals(o.devices, 20);
  assertEquals(o.rate, 20);
  assertEquals(o.durationMs, 120_000);
  assertEquals(o.via, "http");
  assertEquals(o.url, "http://127.0.0.1:8080");
  assertEquals(o.api, "http://127.0.0.1:8080");
  assertEquals(o.seed, 1234);
  assertEquals(o.maxMessages, MAX_MESSAGES);
  assertEquals(o.mix, DEFAULT_MIX);
  assertEquals(o.token, null);
  assertEquals(o.register, true);
  assertEquals(parse("--via", "nats").url, DEFAULT_URLS.nats);
  assertEquals(parse("--via", "nats").api, DEFAULT_URLS.http);
  assertEquals(parse("--via", "mqtt").url, "mqtt://127.0.0.1:1883");
  assertEquals(parse("--via", "mqtt").concurrency, 1024);
  assertEquals(parseOptions(["--help"]), "help");
  assertEquals(
    (parseOptions([], { FLOTILLA_API_TOKEN: "env-tok" }, () => 1) as SimOptions).token,
    "env-tok",
  );
  assertEquals(
    (parseOptions(["--token", "flag-tok"], { FLOTILLA_API_TOKEN: "env-tok" }) as SimOptions).token,
    "flag-tok",
  );
  const o2 = parse(
    ...["--devices", "100000", "--rate", "0.5", "--duration", "1h", "--seed", "4294967295"],
    ...["--mix", "robots=1,terminal=2", "--no-register", "--url", "https://node.example:8443/"],
  );
  assertEquals(o2.devices, 100_000);
  assertEquals(o2.rate, 0.5);
  assertEquals(o2.durationMs, 3_600_000);
  assertEquals(o2.seed, 4294967295);
  assertEquals(o2.mix, { robot: 1, climate: 0, vibration: 0, terminal: 2 });
  assertEquals(o2.register, false);
  assertEquals(o2.url, "https://node.example:8443");
});

Deno.test("parseOptions: rejects what is out of bounds, naming the option", () => {
  const cases: [string[], RegExp][] = [
    [["--devices", "0"], /--devices must be a whole number from 1 to 100000, got "0"/],
    [["--devices", "100001"], /--devices .* to 100000/],
    [["--devices", "ten"], /--devices/],
    [["--rate", "0"], /--rate must be a number from 0.1 to 50000/],
    [["--rate", "-5"], /--rate/],
    [["--duration", "2h"], /--duration must be from 100ms to 1h/],
    [["--duration", "3601"], /--duration must be from 100ms to 1h/],
    [["--duration", "soon"], /--duration must look like/],
    [["--via", "udp"], /--via must be http, nats or mqtt/],
    [["--url", "ftp://127.0.0.1/"], /--url must be an http\(s\):\/\/, nats:\/\/ or mqtt:\/\/ URL/],
    [["--url", "ws://127.0.0.1:80"], /--url must be an http\(s\):\/\/, nats:\/\/ or mqtt:\/\//],
    [
      ["--url", "nats://127.0.0.1:4222"],
      /--url must be an http:\/\/ or https:\/\/ URL with --via http/,
    ],
    [
      ["--via", "nats", "--url", "mqtt://127.0.0.1"],
      /--url must be a nats:\/\/ URL with --via nats/,
    ],
    [["--via", "mqtt", "--url", "nats://127.0.0.1"], /a mqtt:\/\/ URL with --via mqtt/],
    [["--via", "nats", "--api", "nats://127.0.0.1"], /--api must be an http:\/\/ or https:\/\//],
    [["--via", "nats", "--url", "nats://127.0.0.1/x"], /--url must have no path/],
    [["--url", "http://127.0.0.1:8080/?x=1"], /no query or fragment/],
    [["--url", "not a url"], /--url is not a URL/],
    [["--seed=-1"], /--seed must be a whole number from 0 to 4294967295/],
    [["--seed", "-1"], /--seed/],
    [["--seed", "4294967296"], /--seed/],
    [["--anomaly-rate", "1.5"], /--anomaly-rate must be a number from 0 to 1/],
    [["--max-messages", "0"], /--max-messages/],
    [["--max-messages", "10000001"], /--max-messages/],
    [["--concurrency", "0"], /--concurrency/],
    [["--mix", "robot=0"], /--mix must give at least one kind a share above 0/],
    [["--mix", "drone=1"], /--mix must look like .*kinds: robot, climate, vibration, terminal/],
    [["--prefix", "a b"], /--prefix/],
    [["--token", ""], /--token must not be empty/],
    [["--bogus"], /Unknown option '--bogus'/],
    [["--rate"], /--rate/],
    [["extra"], /Unexpected argument 'extra'/],
  ];
  for (const [args, message] of cases) {
    const error = assertThrows(() => parse(...args), UsageError);
    assertMatch(error.message, message, `for ${args.join(" ")}`);
  }
});

Deno.test("parseDuration: seconds, units, combinations, ISO-8601", () => {
  assertEquals(parseDuration("2"), 2000);
  assertEquals(parseDuration("1.5"), 1500);
  assertEquals(parseDuration("500ms"), 500);
  assertEquals(parseDuration("90s"), 90_000);
  assertEquals(parseDuration("5m"), 300_000);
  assertEquals(parseDuration("1h"), 3_600_000);
  assertEquals(parseDuration("1m30s"), 90_000);
  assertEquals(parseDuration("PT1M30S"), 90_000);
  assertEquals(parseDuration("pt2s"), 2000);
  assertThrows(() => parseDuration("PT"), UsageError);
  assertThrows(() => parseDuration("1d"), UsageError);
});

Deno.test("main: a wrong command line exits 2 with the reason; --help exits 0", async () => {
  const io = captureIo();
  assertEquals(await main(["--devices", "0"], io), 2);
  assertMatch(io.err(), /^simulate: --devices must be .*\nRun `deno task simulate --help`/);
  const help = captureIo();
  assertEquals(await main(["--help"], help), 0);
  assertMatch(help.out(), /--devices N/);
  assertMatch(help.out(), /--via T\s+http \| nats \| mqtt/);
});

// ---------------------------------------------------------------------------------------------
// The fleet

Deno.test("fleetCounts: shares by largest remainder, adding up to the fleet", () => {
  assertEquals(fleetCounts(20, DEFAULT_MIX), { robot: 8, climate: 6, vibration: 4, terminal: 2 });
  assertEquals(fleetCounts(1, DEFAULT_MIX), { robot: 1, climate: 0, vibration: 0, terminal: 0 });
  assertEquals(fleetCounts(7, DEFAULT_MIX), { robot: 3, climate: 2, vibration: 1, terminal: 1 });
  const only = { robot: 0, climate: 0, vibration: 0, terminal: 1 };
  assertEquals(fleetCounts(3, only), { robot: 0, climate: 0, vibration: 0, terminal: 3 });
  const rng = new Prng(5);
  for (let i = 0; i < 200; i++) {
    const n = rng.int(1, 100_001);
    const mix = {
      robot: rng.int(0, 5),
      climate: rng.int(0, 5),
      vibration: 1,
      terminal: rng.int(0, 3),
    };
    const c = fleetCounts(n, mix);
    assertEquals(c.robot + c.climate + c.vibration + c.terminal, n);
    if (mix.robot === 0) assertEquals(c.robot, 0);
  }
});

Deno.test("Robot: the random walk stays in its area, moves at most MAX_STEP a reading, and covers ground", () => {
  for (let seed = 0; seed < 20; seed++) {
    const robot = new Robot(`r-${seed}`, new Prng(deriveSeed(seed, "r")), 0);
    let prev = { x: robot.x, y: robot.y };
    let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
    for (let i = 0; i < 20_000; i++) {
      const op = robot.next();
      assert(op.type === "telemetry");
      const { coordX, coordY, motorRPM } = op.body.readings as Record<string, number>;
      assert(coordX! >= 0 && coordX! <= AREA && coordY! >= 0 && coordY! <= AREA, `in the area`);
      assert(robot.x >= 0 && robot.x <= AREA && robot.y >= 0 && robot.y <= AREA);
      const step = Math.hypot(robot.x - prev.x, robot.y - prev.y);
      assert(step <= MAX_STEP + 1e-9, `step ${step} at ${i}`);
      assert(
        step > 0.1 || i === 0 || robot.x < 1 || robot.y < 1 || robot.x > AREA - 1 ||
          robot.y > AREA - 1,
        `moving (step ${step})`,
      );
      assert(motorRPM! > 0);
      prev = { x: robot.x, y: robot.y };
      minX = Math.min(minX, robot.x);
      maxX = Math.max(maxX, robot.x);
      minY = Math.min(minY, robot.y);
      maxY = Math.max(maxY, robot.y);
    }
    // Over 20,000 steps a robot visits the whole floor, walls included.
    assert(minX < 5 && maxX > AREA - 5 && minY < 5 && maxY > AREA - 5, `seed ${seed} roams`);
  }
});

Deno.test("createFleet: the same seed gives the same messages, another seed others", () => {
  const options = { devices: 50, mix: DEFAULT_MIX, prefix: "sim", anomalyRate: 0.05 };
  const ops = (seed: number) => {
    const fleet = createFleet({ ...options, seed });
    const out: string[] = [];
    for (let turn = 0; turn < 40; turn++) for (const d of fleet) out.push(JSON.stringify(d.next()));
    return out;
  };
  const a = ops(42), b = ops(42), c = ops(43);
  assertEquals(a.length, 2000);
  assertEquals(a, b);
  assert(a.filter((op, i) => op !== c[i]).length > 1900, "another seed, other messages");
  // A device's messages do not depend on the others' turns: one device alone sends the same.
  const alone = createFleet({ ...options, seed: 42 }).find((d) => d.id === "sim-robot-07")!;
  const inFleet = a.filter((op) => op.includes('"device":"sim-robot-07"'));
  assertEquals(inFleet.length, 40);
  for (const op of inFleet) assertEquals(JSON.stringify(alone.next()), op);
});

Deno.test("createFleet: ids by kind, kinds interleaved in turn order", () => {
  const fleet = createFleet({
    devices: 20,
    mix: DEFAULT_MIX,
    prefix: "sim",
    seed: 1,
    anomalyRate: 0,
  });
  assertEquals(fleet.length, 20);
  assertEquals(new Set(fleet.map((d) => d.id)).size, 20);
  assertEquals(fleet.filter((d) => d.kind === "robot").map((d) => d.id).sort()[0], "sim-robot-1");
  assertEquals(fleet.filter((d) => d.kind === "terminal").map((d) => d.id).sort(), [
    "sim-pos-1",
    "sim-pos-2",
  ]);
  // The first ten turns hold every kind.
  assertEquals(new Set(fleet.slice(0, 10).map((d) => d.kind)).size, 4);
  const wide = createFleet({
    devices: 120,
    mix: DEFAULT_MIX,
    prefix: "x",
    seed: 1,
    anomalyRate: 0,
  });
  assert(
    wide.some((d) => d.id === "x-robot-01") && wide.some((d) => d.id === "x-robot-48") &&
      wide.some((d) => d.id === "x-pos-12"),
  );
});

/** Runs every sensor device of a fleet for `turns` turns; readings by sensor, anomalies marked. */
function readingsOf(anomalyRate: number, turns: number, seed = 9) {
  const fleet = createFleet({ devices: 90, mix: DEFAULT_MIX, prefix: "s", seed, anomalyRate })
    .filter((d) => d.kind !== "terminal");
  const out: { device: string; sensor: string; value: number; anomaly: boolean; t: number }[] = [];
  for (let t = 0; t < turns; t++) {
    for (const d of fleet) {
      const op = d.next();
      if (op.type !== "telemetry") continue;
      for (const [sensor, value] of Object.entries(op.body.readings)) {
        out.push({ device: d.id, sensor, value, anomaly: op.anomalies.includes(sensor), t });
      }
    }
  }
  return out;
}

Deno.test("sensors: normal readings stay within their thresholds; anomalies leave them, at about the anomaly rate", () => {
  const normal = readingsOf(0, 500);
  assertEquals(normal.filter((r) => r.anomaly).length, 0);
  for (const r of normal) {
    assert(!outside(r.value, DEFAULT_THRESHOLDS[r.sensor]), `${r.sensor} ${r.value} inside`);
  }
  const rate = 0.02;
  const mixed = readingsOf(rate, 500);
  const anomalous = mixed.filter((r) => r.anomaly);
  const thresholded = anomalous.filter((r) => r.sensor in DEFAULT_THRESHOLDS);
  for (const r of thresholded) {
    assert(outside(r.value, DEFAULT_THRESHOLDS[r.sensor]), `${r.sensor} ${r.value} outside`);
  }
  for (const r of mixed.filter((r) => !r.anomaly)) {
    assert(!outside(r.value, DEFAULT_THRESHOLDS[r.sensor]));
  }
  // One draw per reading set: ~2 % of 81 devices × 500 turns.
  const turns = 81 * 500;
  assert(
    anomalous.length > turns * rate * 0.8 && anomalous.length < turns * rate * 1.2,
    `${anomalous.length} anomalies in ${turns} reading sets`,
  );
});

Deno.test("sensors: the node's analytics stay quiet on normal readings and alert on anomalies", () => {
  const config = { window: DEFAULT_WINDOW, trend: DEFAULT_TREND, anomaly: DEFAULT_ANOMALY };
  const count = (anomalyRate: number) => {
    const state = new Map<string, ReturnType<typeof emptyAnalytics>>();
    const signals: Signal[] = [];
    const readings = readingsOf(anomalyRate, 600, 3);
    for (const r of readings) {
      const key = `${r.device}/${r.sensor}`;
      if (!state.has(key)) state.set(key, emptyAnalytics());
      // One reading a second per device, as with --devices N --rate N.
      observe(
        state.get(key)!,
        r.sensor,
        r.t * 1000,
        r.value,
        DEFAULT_THRESHOLDS[r.sensor],
        config,
        signals,
      );
    }
    return { readings: readings.length, signals };
  };
  const quiet = count(0);
  assert(
    quiet.signals.length < quiet.readings / 2000,
    `${quiet.signals.length} signals in ${quiet.readings} normal readings`,
  );
  const noisy = count(0.01);
  const kinds = new Set(noisy.signals.map((s) => s.kind));
  assert(kinds.has("threshold") && kinds.has("anomaly"), [...kinds].join(","));
});

Deno.test("Terminal: goes offline and back, pays with unique transaction ids meanwhile", () => {
  const terminalOf = (anomalyRate: number) =>
    createFleet({
      devices: 1,
      mix: { robot: 0, climate: 0, vibration: 0, terminal: 1 },
      prefix: "t",
      seed: 77,
      anomalyRate,
    })[0]!;
  const setup = terminalOf(0).setup(0);
  assertEquals(setup.map((op) => op.type), ["terminal", "cards"]);
  const cache = (setup[1]!.body as { cards: Record<string, string> }).cards;
  const cards = Object.values(cache);
  assertEquals(cards.filter((s) => s === "valid").length, 10);
  assertEquals(cards.filter((s) => s === "blocked").length, 5);
  assertEquals(cards.filter((s) => s === "expired").length, 5);

  for (const anomalyRate of [0, 0.01]) {
    const terminal = terminalOf(anomalyRate);
    let online = true, wentOffline = 0, cameBack = 0, offline = 0, payments = 0;
    // What the node rejects: blocked or expired cards, offline above 50,000 KRW.
    let declined = 0, stolen = 0;
    const ids = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const op = terminal.next();
      if (op.type === "terminal") {
        assertEquals(op.body.online, !online, "alternates");
        online = op.body.online;
        if (online) cameBack++;
        else wentOffline++;
      } else if (op.type === "payment") {
        const { transactionId, amount, currency, cardToken } = op.body;
        assert(!ids.has(transactionId));
        ids.add(transactionId);
        assert(amount >= 1000 && amount % 100 === 0 && currency === "KRW");
        payments++;
        if (!online) offline++;
        if (cache[cardToken] === "blocked" || cache[cardToken] === "expired") declined++;
        else if (!online && amount > 50_000) declined++;
        if (cardToken.endsWith("-stolen")) {
          stolen++;
          assert(amount > 1_000_000, "a stolen card pays big");
        }
      } else throw new Error(`unexpected ${op.type}`);
    }
    assert(
      wentOffline > 100 && cameBack >= wentOffline - 1,
      `${wentOffline} off, ${cameBack} back`,
    );
    assert(offline > 300, `${offline} offline payments`);
    // Normal traffic stays under the node's 5 % failure-rate alert.
    assert(declined / payments < 0.04, `${declined} of ${payments} declined`);
    assert(Math.abs(stolen / payments - anomalyRate) < 0.004, `${stolen} stolen-card payments`);
  }
});

Deno.test("LatencyHistogram: quantiles within 2 %", () => {
  const h = new LatencyHistogram();
  assertEquals(h.quantile(0.5), null);
  for (let i = 1; i <= 1000; i++) h.record(i / 10);
  const p50 = h.quantile(0.5)!, p99 = h.quantile(0.99)!;
  assert(Math.abs(p50 - 50) / 50 <= 0.02, `p50 ${p50}`);
  assert(Math.abs(p99 - 99) / 99 <= 0.02, `p99 ${p99}`);
});

// ---------------------------------------------------------------------------------------------
// Runs against real nodes

/** Output captured in memory. */
function captureIo(env: Record<string, string> = {}): MainIo & { out(): string; err(): string } {
  let out = "", err = "";
  return {
    stdout: { isTerminal: false, write: (t) => (out += t) },
    stderr: { isTerminal: false, write: (t) => (err += t) },
    env,
    signal: new AbortController().signal,
    out: () => out,
    err: () => err,
  };
}

/** `deno task simulate` as deno.json spells it: `deno run <permissions> tools/simulate.ts`. */
const TASK: string[] = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`)).tasks.simulate
  .split(/\s+/).slice(1);

/** The simulator as the task runs it (same permissions), with `--json`. */
function simulator(args: string[]): Deno.ChildProcess {
  const env = Deno.env.toObject();
  delete env.FLOTILLA_API_TOKEN;
  assertEquals(TASK.at(-1), "tools/simulate.ts");
  return new Deno.Command(Deno.execPath(), {
    args: [...TASK, ...args, "--json"],
    cwd: ROOT,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** The exit code, the summary (the last line of stdout) and stderr of a finished run. */
function parseRun(code: number, stdout: string, stderr: string) {
  const lines = stdout.trim().split("\n");
  let summary: Summary;
  try {
    summary = JSON.parse(lines.at(-1)!);
  } catch {
    throw new Error(`no summary (exit ${code}):\n${stdout}\n${stderr}`);
  }
  return { code, summary, stderr };
}

/** Runs the simulator to its end. */
async function runSimulator(args: string[]) {
  const { code, stdout, stderr } = await simulator(args).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return parseRun(code, text(stdout), text(stderr));
}

/** Waits for a pattern in a child's stderr. */
type Seen = (pattern: RegExp) => Promise<void>;

/**
 * Runs the simulator and, once its progress (stderr) matches `when`, lets `interrupt` signal
 * it (by default one SIGINT); `seen` waits for more of its progress.
 */
async function interruptSimulator(
  args: string[],
  when: RegExp,
  interrupt: (child: Deno.ChildProcess, seen: Seen) => void | Promise<void> = (child) =>
    child.kill("SIGINT"),
) {
  const child = simulator(args);
  let stderr = "";
  let ended = false;
  const waiting: { pattern: RegExp; resolve: () => void }[] = [];
  const seen: Seen = (pattern) =>
    new Promise((resolve) => {
      if (ended || pattern.test(stderr)) resolve();
      else waiting.push({ pattern, resolve });
    });
  const errDone = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      stderr += chunk;
      for (const w of waiting) if (w.pattern.test(stderr)) w.resolve();
    }
    ended = true;
    for (const w of waiting) w.resolve();
  })();
  const stdout = new Response(child.stdout).text();
  await seen(when);
  await interrupt(child, seen);
  const { code } = await child.status;
  await errDone;
  return parseRun(code, await stdout, stderr);
}

interface Twin {
  messageCount: number;
  reported: Record<string, { value: number }>;
}

/**
 * Checks a finished run against the node: Σ messageCount of the simulated devices equals the
 * summary's acked telemetry, every device that had a turn has a twin, every terminal exists,
 * and each robot stands where replaying its walk from the seed puts it.
 */
async function checkAgainstNode(
  node: NodeProcess,
  summary: Summary,
  options: { devices: number; seed: number; readingsPerMessage: boolean; prefix?: string },
): Promise<void> {
  assertEquals(summary.telemetry.errors, {});
  assertEquals(summary.terminals.errors, {});
  assertEquals(summary.setup.errors, {});
  assert(summary.telemetry.sent >= 10, `sent ${summary.telemetry.sent}`);
  assertEquals(summary.telemetry.acked, summary.telemetry.sent);
  const fleet = createFleet({
    devices: options.devices,
    mix: DEFAULT_MIX,
    prefix: options.prefix ?? "sim",
    seed: options.seed,
    anomalyRate: 0.01,
  });
  let sum = 0, heard = 0, robotsMoved = 0;
  for (const device of fleet) {
    if (device.kind === "terminal") {
      const res = await node.api(`/api/terminals/${device.id}`);
      assertEquals(res.status, 200, `terminal ${device.id}`);
      const view = await res.json();
      assertEquals(view.id, device.id);
      assertEquals(view.online, true, `${device.id} back online at the end`);
      continue;
    }
    const res = await node.api(`/api/devices/${device.id}`);
    assertEquals(res.status, 200, `twin of ${device.id}`);
    const twin = await res.json() as Twin;
    sum += twin.messageCount;
    if (twin.messageCount > 0) heard++;
    if (device instanceof Robot) {
      const start = { x: device.x, y: device.y };
      // Over MQTT each reading is a message of its own: three per turn.
      const turns = options.readingsPerMessage ? twin.messageCount / 3 : twin.messageCount;
      if (turns === 0) continue;
      assert(Number.isInteger(turns), `${device.id}: ${twin.messageCount} messages`);
      let last: Record<string, number> = {};
      for (let i = 0; i < turns; i++) {
        const op = device.next();
        if (op.type === "telemetry") last = op.body.readings as Record<string, number>;
      }
      assertEquals(twin.reported.coordX?.value, last.coordX, `${device.id} coordX`);
      assertEquals(twin.reported.coordY?.value, last.coordY, `${device.id} coordY`);
      assert(
        Math.abs(last.coordX! - start.x) > 0.05 || Math.abs(last.coordY! - start.y) > 0.05,
        `${device.id} moved`,
      );
      robotsMoved++;
    }
  }
  assertEquals(sum, summary.telemetry.acked, "acked == Σ messageCount");
  // Every device gets about two turns; one whose request was still being answered when its
  // turn came skips it, which a loaded machine may make happen now and then.
  const sensors = fleet.filter((d) => d.kind !== "terminal").length;
  assert(heard >= sensors * 0.75, `${heard} of ${sensors} devices heard from`);
  assert(robotsMoved >= summary.fleet.robots! * 0.75, `${robotsMoved} robots moved`);
}

const RUN = ["--devices", "20", "--rate", "20", "--duration", "2", "--seed", "42"];

Deno.test({
  name: "simulate --via http: 20 devices at 20 msg/s for 2 s agree with the node",
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "flotilla-sim-" });
    const node = await startNodeProcess({ FLOTILLA_DATA_DIR: tmp });
    try {
      const { code, summary, stderr } = await runSimulator([
        ...RUN,
        ...["--via", "http", "--url", node.url, "--token", TEST_API_TOKEN],
      ]);
      assertEquals(code, 0, stderr);
      assertEquals(summary.stoppedBy, "duration");
      assertEquals(summary.fleet, { robots: 8, climate: 6, vibration: 4, terminals: 2 });
      assertEquals(summary.setup.acked, 18 + 2 * 2, "18 registrations, 2 × (settings, cards)");
      assert(summary.terminals.acked >= 2, `terminal requests ${summary.terminals.acked}`);
      assert(summary.telemetry.latencyMs !== null && summary.telemetry.latencyMs.p99 > 0);
      // Paced: never above the target (a slow node may keep it below).
      assert(summary.rate.mean > 5 && summary.rate.mean <= 21, `mean rate ${summary.rate.mean}`);
      await checkAgainstNode(node, summary, { devices: 20, seed: 42, readingsPerMessage: false });

      // The message cap stops a run by itself.
      const capped = await runSimulator([
        ...["--devices", "5", "--rate", "50", "--duration", "30", "--max-messages", "7"],
        ...["--prefix", "cap", "--url", node.url, "--token", TEST_API_TOKEN],
      ]);
      assertEquals(capped.code, 0, capped.stderr);
      assertEquals(capped.summary.stoppedBy, "message cap");
      assertEquals(capped.summary.total.sent, 7);
      assertEquals(capped.summary.total.acked, 7);

      // Ctrl-C (SIGINT) stops a long run cleanly: every message answered, the summary printed.
      const interrupted = await interruptSimulator([
        ...[
          "--devices",
          "10",
          "--rate",
          "40",
          "--duration",
          "60",
          "--seed",
          "5",
          "--prefix",
          "int",
        ],
        ...["--url", node.url, "--token", TEST_API_TOKEN],
      ], /sent [1-9]\d/);
      assertEquals(interrupted.code, 0, interrupted.stderr);
      assertEquals(interrupted.summary.stoppedBy, "interrupted");
      assert(interrupted.summary.elapsedMs < 30_000, `${interrupted.summary.elapsedMs} ms`);
      await checkAgainstNode(node, interrupted.summary, {
        devices: 10,
        seed: 5,
        readingsPerMessage: false,
        prefix: "int",
      });

      // Ctrl-C in a terminal under `deno task simulate` arrives twice (the terminal signals
      // the process group, and deno task forwards it): one stop, still with its summary. The
      // node is frozen meanwhile, so answers are outstanding and the second SIGINT comes while
      // the simulator waits for them.
      const twice = await interruptSimulator(
        [
          ...["--devices", "10", "--rate", "40", "--duration", "60", "--seed", "6"],
          ...["--prefix", "int2", "--url", node.url, "--token", TEST_API_TOKEN],
        ],
        /sent [1-9]\d/,
        async (child, seen) => {
          node.signal("SIGSTOP");
          try {
            // Requests sent meanwhile wait for their answers.
            await new Promise((resolve) => setTimeout(resolve, 300));
            child.kill("SIGINT");
            await seen(/stopping/);
            child.kill("SIGINT"); // throws if the simulator had already exited
          } finally {
            node.signal("SIGCONT");
          }
        },
      );
      assertEquals(twice.code, 0, twice.stderr);
      assertEquals(twice.summary.stoppedBy, "interrupted");
      assert(twice.summary.total.sent > 0, "sent something");
      assertEquals(twice.summary.total.acked, twice.summary.total.sent, "every answer awaited");

      // A refused token: the run stops at once and says to pass --token.
      const io = captureIo();
      const exit = await main([
        ...[
          "--url",
          node.url,
          "--token",
          "not-the-token-0000",
          "--devices",
          "2",
          "--duration",
          "5",
        ],
      ], io);
      assertEquals(exit, 1);
      assertMatch(
        io.err(),
        /refused the API token \(401 Unauthorized\): pass the node's token with --token/,
      );
      const none = captureIo();
      assertEquals(await main(["--url", node.url, "--devices", "2", "--duration", "5"], none), 1);
      assertMatch(
        none.err(),
        /requires an API token .*pass --token <token> or set FLOTILLA_API_TOKEN/,
      );
    } finally {
      await node.stop("SIGTERM");
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test("simulate: nothing listening → which URL, and what to run", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const http = captureIo();
  assertEquals(await main(["--url", `http://127.0.0.1:${port}`, "--duration", "1"], http), 1);
  assertMatch(
    http.err(),
    new RegExp(
      `cannot reach the Flotilla node at http://127.0.0.1:${port}: connection refused\\. ` +
        "Start a node with `deno task dev`",
    ),
  );
});

Deno.test({
  name: "simulate: NATS or MQTT not listening → which URL, and what to run",
  // The NATS and MQTT clients keep timers of their own for a moment after a failed connect.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    for (const via of ["nats", "mqtt"] as const) {
      const io = captureIo();
      const args = ["--via", via, "--url", `${via}://127.0.0.1:${port}`, "--mix", "robot=1"];
      assertEquals(await main([...args, "--no-register", "--duration", "1"], io), 1);
      assertMatch(
        io.err(),
        new RegExp(
          `cannot reach ${via.toUpperCase()} at ${via}://127.0.0.1:${port}: .*` +
            "nats-server -c deploy/nats/dev.conf",
        ),
      );
    }
  },
});

Deno.test({
  name: "simulate --via nats and --via mqtt: publishes agree with a cluster node",
  async fn(t) {
    // One cluster for both (a cluster takes seconds to start); each run has its own devices.
    const cluster = await startCluster({ nodes: 1, mqtt: true });
    try {
      await cluster.settled();
      const node = cluster.nodes[0]!;
      await t.step("core NATS publishes to iot.<id>.telemetry", async () => {
        const { code, summary, stderr } = await runSimulator([
          ...RUN,
          ...["--via", "nats", "--url", cluster.nats.url, "--api", node.url],
          ...["--token", TEST_API_TOKEN],
        ]);
        assertEquals(code, 0, stderr);
        assertEquals(summary.telemetry.latencyMs, null);
        await cluster.drained();
        await checkAgainstNode(node, summary, { devices: 20, seed: 42, readingsPerMessage: false });
      });
      await t.step("MQTT publishes to sensors/<id>/<sensor>", async () => {
        // Over MQTT every reading is a message: a round of the fleet is 42 messages, not 20.
        const { code, summary, stderr } = await runSimulator([
          ...["--devices", "20", "--rate", "60", "--duration", "2", "--seed", "42"],
          ...["--prefix", "mq", "--via", "mqtt", "--url", cluster.nats.mqttUrl!],
          ...["--api", node.url, "--token", TEST_API_TOKEN],
        ]);
        assertEquals(code, 0, stderr);
        assert(summary.telemetry.latencyMs !== null, "PUBACK latency");
        await cluster.drained();
        await checkAgainstNode(node, summary, {
          devices: 20,
          seed: 42,
          readingsPerMessage: true,
          prefix: "mq",
        });
      });
    } finally {
      await cluster.stop();
    }
  },
});
