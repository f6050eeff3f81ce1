/**
 * The `device-commands` actor with the device actor, on a ManualClock (no sleeps): a command to
 * an offline device goes out once when it says hello or comes back; the device's report moves
 * it on; TTL expiry and re-send backoff are durable reminders that fire on the clock and
 * survive a restart; the desired state reaches a device that was away as one final state.
 */
import {
  COMMANDS_TOPIC,
  type CommandsEvent,
  device,
  deviceCommands,
  type NewCommand,
} from "../actors/devices/mod.ts";
import { ManualClock, MemoryStore } from "../runtime/mod.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { deviceSystem, T0 } from "./helpers/devices.ts";

type Sys = Awaited<ReturnType<typeof deviceSystem>>;

/** Sends a command as `POST /api/devices/:id/commands` does. */
async function command(t: Sys, id: string, body: NewCommand) {
  const target = await t.system.ref(device, id).ask("commandTarget");
  assert(target.known, `device ${id} is known`);
  const online = target.commandsInUse
    ? target.online
    : (await t.system.ref(device, id).ask("useCommands")).online;
  const reply = await t.system.ref(deviceCommands, id).ask("create", {
    command: body,
    deviceOnline: online,
  });
  await t.system.idle();
  return reply;
}

async function telemetry(t: Sys, id: string, readings: Record<string, number>) {
  await t.system.ref(device, id).ask("telemetry", { ts: t.clock.now(), readings });
  await t.system.idle();
}

/** The `commands` events of one kind, their data. */
function sent<K extends CommandsEvent["kind"]>(
  t: Sys,
  kind: K,
): Extract<CommandsEvent, { kind: K }>[] {
  return t.events(COMMANDS_TOPIC).map((e) => e.data as unknown as CommandsEvent)
    .filter((d): d is Extract<CommandsEvent, { kind: K }> => d.kind === kind);
}

Deno.test("device commands: an offline device gets its command once on hello; its report completes it", async () => {
  const t = await deviceSystem();
  await t.system.ref(device, "r1").ask("register", { type: "robot" });
  const { commandId, status, expiresAt, created } = await command(t, "r1", {
    name: "move",
    params: { x: 3 },
  });
  assertEquals([status, expiresAt, created], ["pending", T0 + 3_600_000, true]);
  assertEquals(sent(t, "command"), [], "offline: nothing sent");
  assertEquals(sent(t, "status").map((e) => e.status), ["pending"]);

  await t.advance(5000);
  await t.system.ref(deviceCommands, "r1").tell("hello", {});
  await t.system.idle();
  assertEquals(sent(t, "command"), [{
    kind: "command",
    device: "r1",
    commandId,
    name: "move",
    params: { x: 3 },
    expiresAt,
    attempt: 1,
  }]);
  const commands = t.system.ref(deviceCommands, "r1");
  await commands.tell("report", { commandId, status: "delivered" });
  await commands.tell("report", { commandId, status: "succeeded", result: { at: 3 } });
  await t.system.idle();
  const view = await commands.ask("get", { commandId });
  assertEquals(view, {
    commandId,
    name: "move",
    params: { x: 3 },
    status: "succeeded",
    createdAt: T0,
    expiresAt,
    deliveredAt: T0 + 5000,
    completedAt: T0 + 5000,
    result: { at: 3 },
    attempts: 1,
  });
  assertEquals(sent(t, "status").map((e) => e.status), ["pending", "delivered", "succeeded"]);
  // Delivered: nothing is re-sent, however long the device stays.
  await t.advance(120_000);
  assertEquals(sent(t, "command").length, 1);
  await t.system.shutdown();
});

Deno.test("device commands: the first telemetry after a silence sends what is pending; offline stops re-sends", async () => {
  const t = await deviceSystem();
  await telemetry(t, "r2", { speed: 1 });
  // Online: sent at once, then again after 1 s, 2 s, 4 s while not delivered.
  const { commandId } = await command(t, "r2", { name: "go" });
  const attempts = () => sent(t, "command").map((e) => e.attempt);
  assertEquals(attempts(), [1]);
  await t.advance(1000);
  assertEquals(attempts(), [1, 2]);
  await t.advance(1999);
  assertEquals(attempts(), [1, 2]);
  await t.advance(1);
  assertEquals(attempts(), [1, 2, 3]);
  // Silent for the heartbeat timeout (60 s): offline, and no more re-sends.
  for (let i = 0; i < 6; i++) await t.advance(10_000);
  const status = await t.system.ref(device, "r2").ask("twin");
  assertEquals(status?.status, "offline");
  const whileOnline = attempts().length;
  await t.advance(300_000);
  assertEquals(attempts().length, whileOnline, "nothing sent to an offline device");
  // Back: its first reading makes it online, and the command goes out at once.
  await telemetry(t, "r2", { speed: 2 });
  assertEquals(attempts().at(-1), whileOnline + 1);
  assertEquals(sent(t, "command").at(-1)!.commandId, commandId);
  await t.system.shutdown();
});

Deno.test("device commands: TTL expiry and re-sends are reminders on the clock, across a restart", async () => {
  const clock = new ManualClock(T0);
  const store = new MemoryStore();
  let t = await deviceSystem({}, { clock, store });
  await telemetry(t, "r3", { speed: 1 });
  const { commandId } = await command(t, "r3", { name: "go", ttl: 30_000 });
  const other = await command(t, "r3", { name: "later", ttl: 600_000 });
  await t.system.shutdown();

  // Another run on the same store: nothing in memory, the reminders bring the actor back.
  t = await deviceSystem({}, { clock, store });
  await t.advance(1000);
  assertEquals(
    sent(t, "command").map((e) => [e.commandId, e.attempt]),
    [[commandId, 2], [other.commandId, 2]],
    "re-sent by the reminder alone",
  );
  await t.advance(29_000);
  const expired = sent(t, "status").filter((e) => e.status === "expired");
  assertEquals(expired.map((e) => [e.commandId, e.at]), [[commandId, T0 + 30_000]]);
  const view = await t.system.ref(deviceCommands, "r3").ask("get", { commandId });
  assertEquals([view?.status, view?.completedAt], ["expired", T0 + 30_000]);
  await t.system.shutdown();
});

Deno.test("device commands: desired changes while away reach the device as one final state", async () => {
  const t = await deviceSystem();
  const twin = t.system.ref(device, "hv1");
  await telemetry(t, "hv1", { fan: 1 });
  await t.advance(61_000);
  assertEquals((await twin.ask("twin"))?.status, "offline");
  for (const fan of [2, 3, 4]) await twin.ask("desired", { patch: { fan, mode: "eco" } });
  await t.system.idle();
  assertEquals(sent(t, "desired"), [], "nothing while offline");
  // Its hello says which version it has: behind, so the one final state goes out.
  await t.system.ref(deviceCommands, "hv1").tell("hello", { desiredVersion: 0 });
  await t.system.idle();
  assertEquals(sent(t, "desired"), [{
    kind: "desired",
    device: "hv1",
    desired: { fan: 4, mode: "eco" },
    delta: { fan: 4, mode: "eco" },
    version: 3,
  }]);
  // Its first reading after the hello: online again, and nothing sent twice.
  await telemetry(t, "hv1", { fan: 4 });
  assertEquals((await twin.ask("twin"))?.status, "online");
  assertEquals(sent(t, "desired").length, 1);
  // A hello at the current version gets nothing.
  await t.system.ref(deviceCommands, "hv1").tell("hello", { desiredVersion: 3 });
  await t.system.idle();
  assertEquals(sent(t, "desired").length, 1);
  // Away again, a change, back without a hello: its version is unknown, the state goes out.
  await t.advance(61_000);
  await twin.ask("desired", { patch: { fan: 5 } });
  await telemetry(t, "hv1", { fan: 4 });
  assertEquals(sent(t, "desired").map((d) => [d.version, d.delta]), [
    [3, { fan: 4, mode: "eco" }],
    [4, { fan: 5, mode: "eco" }],
  ]);
  await t.system.shutdown();
});
