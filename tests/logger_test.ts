import { ConfigError } from "../runtime/errors.ts";
import { createLogger, type LoggerOptions, parseLogLevel } from "../runtime/logger.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "./helpers/assert.ts";

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5, 678);

/** A logger that collects its lines, at a fixed time. */
function capture(options: LoggerOptions = {}) {
  const lines: string[] = [];
  const log = createLogger({ now: () => T0, write: (line) => lines.push(line), ...options });
  return { log, lines, records: () => lines.map((l) => JSON.parse(l)) };
}

Deno.test("createLogger writes one JSON object per line", () => {
  const { log, lines } = capture();
  log.info("started", { port: 8080, ok: true, tags: ["a", "b"], none: null });
  assertEquals(lines, [
    '{"ts":"2025-01-02T03:04:05.678Z","level":"info","msg":"started",' +
    '"port":8080,"ok":true,"tags":["a","b"],"none":null}',
  ]);
  log.warn('quoted "msg"\nnext line');
  assertEquals(
    lines[1],
    String.raw`{"ts":"2025-01-02T03:04:05.678Z","level":"warn","msg":"quoted \"msg\"\nnext line"}`,
  );
});

Deno.test("Logger.child adds fields to every line; call fields win", () => {
  const { log, records } = capture();
  const actor = log.child({ actor: "user/42", attempt: 1 });
  const nested = actor.child({ handler: "get" });
  nested.info("handled", { attempt: 2 });
  actor.info("plain");
  log.info("root");
  assertEquals(records(), [
    {
      ts: "2025-01-02T03:04:05.678Z",
      level: "info",
      msg: "handled",
      actor: "user/42",
      attempt: 2,
      handler: "get",
    },
    { ts: "2025-01-02T03:04:05.678Z", level: "info", msg: "plain", actor: "user/42", attempt: 1 },
    { ts: "2025-01-02T03:04:05.678Z", level: "info", msg: "root" },
  ]);
  assertEquals(nested.level, "info");
});

Deno.test("Logger fields named ts, level or msg cannot overwrite the record's own", () => {
  const { log, lines } = capture();
  log.child({ level: "fake" }).info("real", { msg: "fake", ts: 1 });
  assertEquals(
    lines[0],
    '{"ts":"2025-01-02T03:04:05.678Z","level":"info","msg":"real","_level":"fake","_msg":"fake","_ts":1}',
  );
});

Deno.test("Logger filters levels below its own without formatting the fields", () => {
  const { log, records } = capture({ level: "warn" });
  let reads = 0;
  const fields = {
    get expensive() {
      reads++;
      return 1;
    },
  };
  log.debug("no", fields);
  log.info("no", fields);
  assertEquals(reads, 0, "a filtered call must not read its fields");
  log.warn("yes", fields);
  log.error("yes too");
  assertEquals(reads, 1);
  assertEquals(records().map((r) => r.level), ["warn", "error"]);
  assertEquals(log.level, "warn");

  const all = capture({ level: "debug" });
  all.log.debug("d");
  assertEquals(all.records().map((r) => r.msg), ["d"]);
  const quiet = capture({ level: "error" });
  quiet.log.warn("w");
  quiet.log.child({ a: 1 }).warn("w");
  assertEquals(quiet.lines, []);
});

Deno.test("Logger redacts secret-looking keys at any depth", () => {
  const { log, records } = capture();
  log.child({ apiKey: "k1" }).info("request", {
    user: "ada",
    token: "t0",
    headers: { Authorization: "Bearer xyz", accept: "json" },
    config: { db: { password: "pw", host: "db" }, "api-key": "k2", api_key: "k3" },
    sessions: [{ accessToken: "t1", id: 1 }],
    byName: new Map([["clientSecret", "s1"], ["region", "eu"]]),
    nestedSecret: { value: "everything below a secret key goes" },
  });
  assertEquals(records()[0], {
    ts: "2025-01-02T03:04:05.678Z",
    level: "info",
    msg: "request",
    apiKey: "[redacted]",
    user: "ada",
    token: "[redacted]",
    headers: { Authorization: "[redacted]", accept: "json" },
    config: {
      db: { password: "[redacted]", host: "db" },
      "api-key": "[redacted]",
      api_key: "[redacted]",
    },
    sessions: [{ accessToken: "[redacted]", id: 1 }],
    byName: { clientSecret: "[redacted]", region: "eu" },
    nestedSecret: "[redacted]",
  });

  const pretty = capture({ format: "pretty" });
  pretty.log.info("login", { password: "hunter2", body: { refresh_token: "r", user: "ada" } });
  assert(
    !pretty.lines[0]!.includes("hunter2") && !pretty.lines[0]!.includes('"r"'),
    pretty.lines[0],
  );
  assertMatch(
    pretty.lines[0]!,
    / password=\[redacted\] body=\{"refresh_token":"\[redacted\]","user":"ada"\}$/,
  );
});

Deno.test("Logger renders Errors with a stack only at level error", () => {
  const { log, records } = capture({ level: "debug" });
  const boom = new TypeError("boom");
  log.warn("retrying", { error: boom });
  log.error("gave up", { error: boom, nested: { cause: new RangeError("deep") } });
  const [warn, error] = records();
  assertEquals(warn.error, { name: "TypeError", message: "boom" });
  assertEquals(error.error.name, "TypeError");
  assertEquals(error.error.message, "boom");
  assertMatch(error.error.stack, /^TypeError: boom\n\s+at /);
  assertEquals(error.nested.cause.name, "RangeError");
});

Deno.test("Logger never throws on awkward fields", () => {
  const { log, records, lines } = capture();
  const loop: Record<string, unknown> = { name: "loop" };
  loop.self = loop;
  const shared = { n: 1 };
  log.info("odd", {
    loop,
    twice: [shared, shared],
    big: 12345678901234567890n,
    fn: () => "source code",
    bytes: new Uint8Array(3),
    when: new Date(0),
    tags: new Set(["a"]),
  });
  assertEquals(records()[0], {
    ts: "2025-01-02T03:04:05.678Z",
    level: "info",
    msg: "odd",
    loop: { name: "loop", self: "[Circular]" },
    twice: [{ n: 1 }, { n: 1 }],
    big: "12345678901234567890",
    bytes: "[Uint8Array 3 bytes]",
    when: "1970-01-01T00:00:00.000Z",
    tags: ["a"],
  });
  log.info("getter", {
    get bad(): unknown {
      throw new Error("nope");
    },
  });
  assertEquals(JSON.parse(lines[1]!).msg, "getter");
  assertEquals(JSON.parse(lines[1]!).logError, "Error: nope");
});

Deno.test("Logger pretty format is HH:MM:SS.mmm LEVEL msg key=value", () => {
  const { log, lines } = capture({ format: "pretty", level: "debug" });
  log.info("started", { port: 8080, name: "two words", empty: "", path: "/a/b", obj: { a: 1 } });
  log.debug("d");
  log.error("failed", { error: new Error("boom") });
  const d = new Date(T0); // local time, as a person at the terminal reads it
  const time = [d.getHours(), d.getMinutes(), d.getSeconds()]
    .map((n) => String(n).padStart(2, "0")).join(":") + ".678";
  assertEquals(
    lines[0],
    `${time} INFO  started port=8080 name="two words" empty="" path=/a/b obj={"a":1}`,
  );
  assertEquals(lines[1], `${time} DEBUG d`);
  assertMatch(
    lines[2]!,
    new RegExp(`^${time} ERROR failed error="Error: boom"\\nError: boom\\n\\s+at `),
  );
});

Deno.test("createLogger writes info to console.log and warn to console.error by default", () => {
  const out: string[] = [];
  const err: string[] = [];
  const { log: origLog, error: origError } = console;
  console.log = (line: string) => out.push(line);
  console.error = (line: string) => err.push(line);
  try {
    const log = createLogger({ level: "debug", now: () => T0 });
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");
  } finally {
    console.log = origLog;
    console.error = origError;
  }
  assertEquals(out.map((l) => JSON.parse(l).msg), ["d", "i"]);
  assertEquals(err.map((l) => JSON.parse(l).msg), ["w", "e"]);
});

Deno.test("parseLogLevel accepts the four levels and names them on error", () => {
  assertEquals(parseLogLevel(undefined, "info"), "info");
  assertEquals(parseLogLevel("", "warn"), "warn");
  assertEquals(parseLogLevel("debug", "info"), "debug");
  assertEquals(parseLogLevel(" ERROR ", "info"), "error");
  const e = assertThrows(() => parseLogLevel("verbose", "info"), ConfigError, '"verbose"');
  assertMatch(e.message, /debug, info, warn, error/);
  assertThrows(() => parseLogLevel("toString", "info"), ConfigError); // not an inherited key
});
