/**
 * The dashboard's commands of devices (`routes/dashboard/command_store.js`), run in Deno as it
 * is: a page and the stream's events merge in any order, a status only moves forward, sends
 * count up the attempts, the list shows open commands first, and each device keeps a bounded
 * number.
 */
import { assertEquals } from "./helpers/assert.ts";
import {
  applyCommandEvent,
  type CommandData,
  commandsOf,
  createCommandBook,
  KEEP,
  mergeCommands,
} from "../routes/dashboard/command_store.js";

const T = Date.UTC(2026, 4, 1, 12, 0, 0);

function item(commandId: string, fields: Partial<CommandData> = {}): CommandData {
  return {
    commandId,
    name: "move",
    status: "pending",
    createdAt: T,
    expiresAt: T + 3_600_000,
    attempts: 0,
    ...fields,
  };
}

function status(commandId: string, s: string, at: number, extra: Record<string, unknown> = {}) {
  return { kind: "status", device: "r1", commandId, name: "move", status: s, at, ...extra };
}

const shown = (book: ReturnType<typeof createCommandBook>) =>
  commandsOf(book, "r1").map((c) => `${c.commandId} ${c.status} ${c.attempts}`);

Deno.test("dashboard commands: events and a page merge in any order; statuses only move forward", () => {
  const book = createCommandBook();
  assertEquals(applyCommandEvent(book, status("a", "pending", T)), "r1");
  assertEquals(
    applyCommandEvent(book, { kind: "command", device: "r1", commandId: "a", attempt: 1 }),
    "r1",
  );
  assertEquals(applyCommandEvent(book, status("a", "succeeded", T + 5, { attempts: 1 })), "r1");
  // A page asked for before the events answers after them: its older statuses change nothing.
  assertEquals(
    mergeCommands(book, "r1", { items: [item("a"), item("b", { createdAt: T + 1 })] }),
    true,
  );
  assertEquals(shown(book), ["b pending 0", "a succeeded 1"]);
  assertEquals(applyCommandEvent(book, status("a", "pending", T)), null, "no way back");
  assertEquals(applyCommandEvent(book, status("a", "failed", T + 9)), null, "final is final");
  assertEquals(applyCommandEvent(book, status("b", "delivered", T + 2, { attempts: 2 })), "r1");
  // Sends of a delivered or unknown command, other kinds: nothing.
  assertEquals(
    applyCommandEvent(book, { kind: "command", device: "r1", commandId: "zz", attempt: 3 }),
    null,
  );
  assertEquals(applyCommandEvent(book, { kind: "ignored", device: "r1", commandId: "a" }), null);
  assertEquals(applyCommandEvent(book, { kind: "desired", device: "r1" }), null);
  assertEquals(shown(book), ["b delivered 2", "a succeeded 1"]);
  const b = commandsOf(book, "r1")[0]!;
  assertEquals([b.createdAt, b.changedAt], [T + 1, T + 2]);
  assertEquals(commandsOf(book, "other"), []);
});

Deno.test("dashboard commands: open ones first, newest first; at most KEEP per device", () => {
  const book = createCommandBook();
  const items = Array.from(
    { length: KEEP + 10 },
    (_, i) => item(`c${i}`, { createdAt: T + i, status: i % 10 === 0 ? "pending" : "succeeded" }),
  );
  mergeCommands(book, "r1", { items });
  const list = commandsOf(book, "r1");
  assertEquals(list.length, KEEP);
  assertEquals(list.slice(0, 6).map((c) => c.commandId), ["c50", "c40", "c30", "c20", "c10", "c0"]);
  assertEquals(list[6]!.commandId, "c59", "then the newest final one");
  assertEquals(list.at(-1)!.commandId, "c12", "the ten oldest final ones went first");
});
