/**
 * The pure state machine of a device's commands (actors/devices/command_log.ts): transitions,
 * idempotency by command id, bounds, retention, expiry and re-send backoff — on plain numbers
 * for time, with a recording sink.
 */
import {
  cancelCommand,
  type CommandLimits,
  type CommandLog,
  type CommandRecord,
  type CommandSink,
  commandView,
  connect,
  createCommand,
  disconnect,
  emptyLog,
  expireDue,
  type IgnoredReason,
  listCommands,
  type NewCommand,
  nextExpiry,
  nextResend,
  prune,
  reportCommand,
  resendDue,
} from "../actors/devices/command_log.ts";
import {
  CommandConflictError,
  CommandFinalError,
  TooManyCommandsError,
} from "../actors/devices/errors.ts";
import { NotFoundError } from "../runtime/mod.ts";
import { assertEquals, assertThrows } from "./helpers/assert.ts";

const LIMITS: CommandLimits = {
  maxOpen: 3,
  keepFinal: 2,
  retention: 7 * 86_400_000,
  defaultTtl: 3_600_000,
  resendInitial: 1000,
  resendMax: 60_000,
};

const T0 = 1_000_000;

/** A sink that writes down what it is told, as short strings. */
function recorder() {
  const lines: string[] = [];
  const sink: CommandSink = {
    changed: (r) => void lines.push(`${r.id} ${r.status}`),
    send: (r) => void lines.push(`send ${r.id} #${r.attempts}`),
    ignored: (id, reason: IgnoredReason) => void lines.push(`ignored ${id} ${reason}`),
  };
  return {
    sink,
    /** What was told since the last call. */
    take(): string[] {
      return lines.splice(0);
    },
  };
}

function ids() {
  let n = 0;
  return () => `c${++n}`;
}

function create(
  log: CommandLog,
  input: NewCommand,
  now: number,
  sink: CommandSink,
  newId = ids(),
): CommandRecord {
  return createCommand(log, "d1", input, now, LIMITS, sink, newId).record;
}

Deno.test("commands: pending → delivered → succeeded, each change told once; final stays final", () => {
  const log = emptyLog();
  const out = recorder();
  const c = create(log, { name: "move", params: { x: 3 } }, T0, out.sink);
  assertEquals(out.take(), ["c1 pending"], "offline: stored, not sent");
  assertEquals(c.expiresAt, T0 + LIMITS.defaultTtl);
  assertEquals(reportCommand(log, { commandId: "c1", status: "delivered" }, T0 + 5, out.sink), {
    record: c,
    ignored: null,
  });
  assertEquals(out.take(), ["c1 delivered"]);
  reportCommand(log, { commandId: "c1", status: "delivered" }, T0 + 6, out.sink);
  assertEquals(out.take(), ["ignored c1 duplicate"]);
  reportCommand(
    log,
    { commandId: "c1", status: "succeeded", result: { position: 3 } },
    T0 + 9,
    out.sink,
  );
  assertEquals(out.take(), ["c1 succeeded"]);
  assertEquals(commandView(c, T0 + 10), {
    commandId: "c1",
    name: "move",
    params: { x: 3 },
    status: "succeeded",
    createdAt: T0,
    expiresAt: T0 + LIMITS.defaultTtl,
    deliveredAt: T0 + 5,
    completedAt: T0 + 9,
    result: { position: 3 },
    attempts: 0,
  });
  // Final: nothing changes it any more.
  for (const status of ["delivered", "failed", "succeeded"] as const) {
    assertEquals(
      reportCommand(log, { commandId: "c1", status }, T0 + 11, out.sink).ignored,
      "final",
    );
  }
  assertThrows(() => cancelCommand(log, "d1", "c1", T0 + 12, out.sink), CommandFinalError);
  expireDue(log, T0 + LIMITS.defaultTtl * 2, out.sink);
  assertEquals(out.take(), ["ignored c1 final", "ignored c1 final", "ignored c1 final"]);
  assertEquals(c.status, "succeeded");
  assertEquals(
    reportCommand(log, { commandId: "nope", status: "succeeded" }, T0, out.sink).ignored,
    "unknown",
  );
  assertEquals(out.take(), ["ignored nope unknown"]);
});

Deno.test("commands: a failure straight from pending also counts as delivered; cancel", () => {
  const log = emptyLog();
  const out = recorder();
  const newId = ids();
  create(log, { name: "a" }, T0, out.sink, newId);
  create(log, { name: "b" }, T0, out.sink, newId);
  reportCommand(log, { commandId: "c1", status: "failed", error: "jammed" }, T0 + 3, out.sink);
  const failed = commandView(log.commands[0]!, T0 + 3);
  assertEquals([failed.status, failed.deliveredAt, failed.error], ["failed", T0 + 3, "jammed"]);
  assertEquals(cancelCommand(log, "d1", "c2", T0 + 4, out.sink).status, "cancelled");
  assertEquals(out.take(), ["c1 pending", "c2 pending", "c1 failed", "c2 cancelled"]);
  assertThrows(() => cancelCommand(log, "d1", "c9", T0, out.sink), NotFoundError);
});

Deno.test("commands: the same commandId and body is the same command; another body a conflict", () => {
  const log = emptyLog();
  const out = recorder();
  const body = { commandId: "op-1", name: "move", params: { x: 1, y: [2, 3] }, ttl: 60_000 };
  const first = createCommand(log, "d1", body, T0, LIMITS, out.sink, ids());
  assertEquals(first.created, true);
  assertEquals(first.record.id, "op-1");
  // Keys in another order are the same params.
  const again = createCommand(
    log,
    "d1",
    { commandId: "op-1", name: "move", params: { y: [2, 3], x: 1 }, ttl: 60_000 },
    T0 + 1,
    LIMITS,
    out.sink,
    ids(),
  );
  assertEquals(again, { record: first.record, created: false });
  assertEquals(out.take(), ["op-1 pending"], "the retry changes nothing");
  for (
    const other of [
      { ...body, name: "stop" },
      { ...body, params: { x: 2, y: [2, 3] } },
      { ...body, params: { x: 1, y: [3, 2] } },
      { ...body, ttl: 120_000 },
    ]
  ) {
    assertThrows(
      () => createCommand(log, "d1", other, T0, LIMITS, out.sink, ids()),
      CommandConflictError,
    );
  }
  // A made-up id never takes one in use.
  const made = ["op-1", "fresh"];
  const taken = createCommand(log, "d1", { name: "x" }, T0, LIMITS, out.sink, () => made.shift()!);
  assertEquals(taken.record.id, "fresh");
});

Deno.test("commands: at most maxOpen not final; final ones do not count", () => {
  const log = emptyLog();
  const out = recorder();
  const newId = ids();
  for (let i = 0; i < LIMITS.maxOpen; i++) create(log, { name: "n" }, T0, out.sink, newId);
  assertThrows(() => create(log, { name: "n" }, T0, out.sink, newId), TooManyCommandsError);
  // A retry of a kept command is not a new one: it is answered even at the bound.
  const retry = createCommand(
    log,
    "d1",
    { commandId: "c1", name: "n" },
    T0,
    LIMITS,
    out.sink,
    newId,
  );
  assertEquals(retry.created, false);
  reportCommand(log, { commandId: "c2", status: "succeeded" }, T0, out.sink);
  assertEquals(create(log, { name: "n" }, T0, out.sink, newId).id, "c4");
});

Deno.test("commands: final ones are kept for the retention and at most keepFinal, oldest first", () => {
  const log = emptyLog();
  const out = recorder();
  const newId = ids();
  for (let i = 0; i < 4; i++) {
    create(log, { name: "n" }, T0 + i, out.sink, newId);
    reportCommand(log, { commandId: `c${i + 1}`, status: "succeeded" }, T0 + i, out.sink);
  }
  create(log, { name: "open" }, T0 + 5, out.sink, newId);
  prune(log, T0 + 10, LIMITS);
  assertEquals(log.commands.map((c) => c.id), ["c3", "c4", "c5"], "the last 2 final, the open");
  prune(log, T0 + 3 + LIMITS.retention, LIMITS);
  assertEquals(log.commands.map((c) => c.id), ["c4", "c5"], "c3 is older than the retention");
  // Listing hides what is past the retention even before it is pruned.
  assertEquals(
    listCommands(log, { limit: 10 }, T0 + 4 + LIMITS.retention + 1, LIMITS).items.map((c) =>
      c.commandId
    ),
    ["c5"],
  );
  prune(log, T0 + 4 + LIMITS.retention + 1, LIMITS);
  assertEquals(log.commands.map((c) => c.id), ["c5"], "open commands are never pruned");
});

Deno.test("commands: TTL — expired at its expiry time, shown expired before it is processed", () => {
  const log = emptyLog();
  const out = recorder();
  const newId = ids();
  create(log, { name: "short", ttl: 1000 }, T0, out.sink, newId);
  create(log, { name: "long", ttl: 5000 }, T0, out.sink, newId);
  reportCommand(log, { commandId: "c2", status: "delivered" }, T0 + 10, out.sink);
  out.take();
  assertEquals(nextExpiry(log), T0 + 1000);
  expireDue(log, T0 + 999, out.sink);
  assertEquals(out.take(), []);
  // Not processed yet, but a device polling for pending ones does not get it.
  assertEquals(commandView(log.commands[0]!, T0 + 1000).status, "expired");
  assertEquals(
    listCommands(log, { status: "pending", limit: 10 }, T0 + 1000, LIMITS).items,
    [],
  );
  expireDue(log, T0 + 3000, out.sink);
  assertEquals(out.take(), ["c1 expired"]);
  assertEquals(log.commands[0]!.completedAt, T0 + 1000, "completed at its expiry time");
  assertEquals(nextExpiry(log), T0 + 5000);
  expireDue(log, T0 + 5000, out.sink);
  assertEquals(out.take(), ["c2 expired"], "a delivered command expires too");
  assertEquals(nextExpiry(log), null);
  // A report after expiry changes nothing.
  assertEquals(
    reportCommand(log, { commandId: "c2", status: "succeeded" }, T0 + 5001, out.sink).ignored,
    "final",
  );
});

Deno.test("commands: sent at once to an online device, re-sent with backoff 1 s doubling to 1 min", () => {
  const log = emptyLog();
  const out = recorder();
  const newId = ids();
  connect(log, T0, LIMITS, out.sink, false);
  create(log, { name: "go", ttl: 3_600_000 }, T0, out.sink, newId);
  assertEquals(out.take(), ["c1 pending", "send c1 #1"]);
  const sends: number[] = [];
  let now = T0;
  while (sends.length < 9) {
    now = nextResend(log)!;
    resendDue(log, now, LIMITS, out.sink);
    if (out.take().length > 0) sends.push(now - T0);
  }
  assertEquals(sends, [1000, 3000, 7000, 15_000, 31_000, 63_000, 123_000, 183_000, 243_000]);
  assertEquals(log.commands[0]!.attempts, 10);
  // Delivered: no more re-sends.
  reportCommand(log, { commandId: "c1", status: "delivered" }, now, out.sink);
  assertEquals(nextResend(log), null);
});

Deno.test("commands: offline, nothing is re-sent; a connection sends every pending one once", () => {
  const log = emptyLog();
  const out = recorder();
  const newId = ids();
  create(log, { name: "a" }, T0, out.sink, newId);
  create(log, { name: "b" }, T0, out.sink, newId);
  create(log, { name: "c" }, T0, out.sink, newId);
  reportCommand(log, { commandId: "c2", status: "delivered" }, T0, out.sink);
  cancelCommand(log, "d1", "c3", T0, out.sink);
  out.take();
  assertEquals(nextResend(log), null);
  resendDue(log, T0 + 60_000, LIMITS, out.sink);
  assertEquals(out.take(), []);
  connect(log, T0 + 1, LIMITS, out.sink, false);
  assertEquals(out.take(), ["send c1 #1"], "only the pending one, not delivered or final");
  // Telemetry after a hello: already online, nothing again.
  connect(log, T0 + 2, LIMITS, out.sink, false);
  assertEquals(out.take(), []);
  // A hello always sends, and restarts the backoff.
  resendDue(log, T0 + 1001, LIMITS, out.sink);
  resendDue(log, T0 + 3001, LIMITS, out.sink);
  assertEquals(out.take(), ["send c1 #2", "send c1 #3"]);
  connect(log, T0 + 3002, LIMITS, out.sink, true);
  assertEquals(out.take(), ["send c1 #4"]);
  assertEquals(nextResend(log), T0 + 4002);
  disconnect(log);
  assertEquals([log.online, nextResend(log)], [false, null]);
});

Deno.test("commands: pages newest first, by status, with next", () => {
  const log = emptyLog();
  const out = recorder();
  const newId = ids();
  const roomy = { ...LIMITS, maxOpen: 10 };
  for (let i = 0; i < 5; i++) {
    createCommand(log, "d1", { name: `n${i}` }, T0 + i, roomy, out.sink, newId);
  }
  reportCommand(log, { commandId: "c2", status: "delivered" }, T0, out.sink);
  const all = (after?: string) =>
    listCommands(log, after === undefined ? { limit: 2 } : { limit: 2, after }, T0 + 9, LIMITS);
  let page = all();
  assertEquals([page.items.map((c) => c.commandId), page.next], [["c5", "c4"], "c4"]);
  page = all("c4");
  assertEquals([page.items.map((c) => c.commandId), page.next], [["c3", "c2"], "c2"]);
  page = all("c2");
  assertEquals([page.items.map((c) => c.commandId), page.next], [["c1"], null]);
  const pending = listCommands(log, { status: "pending", limit: 4 }, T0 + 9, LIMITS);
  assertEquals([pending.items.map((c) => c.commandId), pending.next], [
    ["c5", "c4", "c3", "c1"],
    null,
  ]);
  assertEquals(listCommands(log, { limit: 2, after: "gone" }, T0, LIMITS), {
    items: [],
    next: null,
  });
});
