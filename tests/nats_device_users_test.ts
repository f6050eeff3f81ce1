/**
 * tools/nats_device_users.ts: derived passwords, bcrypt against published vectors, the exact
 * permissions, id validation, and a nats-server started with the generated account (JetStream,
 * mappings, node user, two devices) where each device may publish only as itself — over core
 * NATS and over MQTT.
 *
 * @module
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkPartitionMapping, partitionMappings } from "../runtime/nats/connection.ts";
import { DEFAULT_PARTITIONS, partitionOf } from "../runtime/nats/hash.ts";
import {
  accountBlock,
  bcryptHash,
  bcryptUnbase64,
  devicePassword,
  devicePermissions,
  deviceUsers,
  parseIdList,
  run,
  UsageError,
} from "../tools/nats_device_users.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "./helpers/assert.ts";
import { startNatsServer } from "./helpers/servers.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SECRET = "test-device-secret-0123456789";
const NODE_PASSWORD = "test-node-password-0123456789";

Deno.test("device users: bcrypt matches the published test vectors", () => {
  const salt = (s: string) => bcryptUnbase64(s, 16);
  // Openwall's crypt_blowfish vectors (also what glibc/libxcrypt and OpenBSD compute).
  assertEquals(
    bcryptHash("U*U", 5, salt("CCCCCCCCCCCCCCCCCCCCC.")),
    "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
  );
  assertEquals(
    bcryptHash("U*U*", 5, salt("CCCCCCCCCCCCCCCCCCCCC.")),
    "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK",
  );
  assertEquals(
    bcryptHash("", 5, salt("CCCCCCCCCCCCCCCCCCCCC.")),
    "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy",
  );
  assertEquals(
    bcryptHash(
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
      5,
      salt("abcdefghijklmnopqrstuu"),
    ),
    "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui",
  );
  let threw = false;
  try {
    bcryptHash("x".repeat(73), 4, new Uint8Array(16));
  } catch (error) {
    threw = error instanceof UsageError;
  }
  assert(threw, "a password over 72 bytes must be refused, not truncated silently");
});

Deno.test("device users: passwords are base64url HMAC-SHA-256 of the id under the secret", async () => {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", key, new TextEncoder().encode("robot1")),
  );
  const expected = btoa(String.fromCharCode(...mac)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
  assertEquals(await devicePassword(SECRET, "robot1"), expected);
  assertEquals(expected.length, 43);
  assert(await devicePassword(SECRET, "robot2") !== expected);
  assert(await devicePassword(`${SECRET}x`, "robot1") !== expected);
  await assertRejects(() => devicePassword("short", "robot1"), UsageError);
});

Deno.test("device users: exactly its own subjects, and ids validated like DEVICE_ID", async () => {
  const p = partitionOf("robot1", DEFAULT_PARTITIONS);
  assertEquals(devicePermissions("robot1"), {
    publish: [
      "iot.robot1.>",
      "sensors.robot1.>",
      `fl.in.${p}.robot1.t`,
      `fl.in.${p}.robot1.h`,
      `fl.in.${p}.robot1.c`,
      `fl.in.${p}.robot1.s.*`,
    ],
    subscribe: ["cmd.robot1"],
  });
  assertEquals(
    devicePermissions("robot1", 8).publish[2],
    `fl.in.${partitionOf("robot1", 8)}.robot1.t`,
  );
  for (const bad of ["", "robot.1", "robot 1", "*", ">", "robot1>", "ü", "x".repeat(129)]) {
    await assertRejects(() => deviceUsers([bad], { secret: SECRET, plain: true }), UsageError);
  }
  await assertRejects(() => deviceUsers([], { secret: SECRET, plain: true }), UsageError);
  // Duplicates are listed once; the longest id is fine.
  const users = await deviceUsers(["a", "a", "x".repeat(128)], { secret: SECRET, cost: 4 });
  assertEquals(users.match(/user: /g)?.length, 2);
  assertEquals(parseIdList("robot1\n\n# fleet B\nrobot2 # spare\r\n  robot3  \n"), [
    "robot1",
    "robot2",
    "robot3",
  ]);
});

Deno.test("device users: the command line", async () => {
  const env = { FLOTILLA_DEVICE_SECRET: SECRET };
  const passwords = await run(["--passwords", "robot1", "robot2"], env);
  assertEquals(
    passwords,
    `robot1 ${await devicePassword(SECRET, "robot1")}\nrobot2 ${await devicePassword(
      SECRET,
      "robot2",
    )}\n`,
  );
  const plain = await run(["--plain", "--file", "ids.txt"], env, () => Promise.resolve("robot9\n"));
  assert(plain.includes("WARNING: plain-text passwords"), plain);
  assert(plain.includes(`password: "${await devicePassword(SECRET, "robot9")}"`), plain);
  const hashed = await run(["--cost", "4", "robot1"], env);
  assert(/password: "\$2a\$04\$[./A-Za-z0-9]{53}"/.test(hashed), hashed);
  assert(!hashed.includes(await devicePassword(SECRET, "robot1")), "no plain password");
  assertEquals(hashed, await run(["--cost", "4", "robot1"], env), "the same input, the same file");
  await assertRejects(() => run(["robot1"], {}), UsageError, "FLOTILLA_DEVICE_SECRET");
  await assertRejects(() => run(["robot.1"], env), UsageError, "not a device id");
  await assertRejects(() => run(["--account", "F", "robot1"], env), UsageError, "NODE_PASSWORD");
  await assertRejects(() => run(["--bogus", "robot1"], env), UsageError);
  await assertRejects(() => run(["--cost", "3", "robot1"], env), UsageError);

  // As a process: exit code 2 and a message on stderr for wrong input.
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-env", "--allow-read", "tools/nats_device_users.ts", "bad id"],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 2);
  assert(new TextDecoder().decode(out.stderr).includes("not a device id"));
});

/** Errors the server reported on `nc` (permission violations arrive here). */
function serverErrors(nc: NatsConnection): Error[] {
  const errors: Error[] = [];
  (async () => {
    for await (const status of nc.status()) {
      if (status.type === "error") errors.push(status.error);
    }
  })().catch(() => {});
  return errors;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Logs in with the NATS protocol over a plain socket (CONNECT, PING) and returns the server's
 * answer line: `PONG`, or `-ERR '…'`. Not through nats.js: a connection the server closes
 * during the handshake can leave nats.js's socket with no error listener, and the reset then
 * surfaces as an uncaught error in the test process.
 */
async function login(port: number, user: string, pass: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), 5000);
  try {
    const reader = conn.readable.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const line = async () => {
      while (!text.includes("\r\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`connection closed; got ${JSON.stringify(text)}`);
        text += value;
      }
      const end = text.indexOf("\r\n");
      const first = text.slice(0, end);
      text = text.slice(end + 2);
      return first;
    };
    assert((await line()).startsWith("INFO "), "the server greets with INFO");
    const connect = JSON.stringify({ user, pass, verbose: false, pedantic: false, protocol: 1 });
    await conn.write(new TextEncoder().encode(`CONNECT ${connect}\r\nPING\r\n`));
    return await line();
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer or the server */ }
  }
}

async function until(what: string, done: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await delay(20);
  }
}

const MOSQUITTO_PUB = "/usr/bin/mosquitto_pub";

async function mosquittoPub(port: number, user: string, pass: string, topic: string) {
  try {
    Deno.statSync(MOSQUITTO_PUB);
  } catch {
    throw new Error(
      `${MOSQUITTO_PUB} is missing: install it with \`sudo apt-get install -y mosquitto-clients\``,
    );
  }
  const out = await new Deno.Command(MOSQUITTO_PUB, {
    args: ["-h", "127.0.0.1", "-p", String(port), "-u", user, "-P", pass, "-q", "1"]
      .concat(["-t", topic, "-m", "7.5"]),
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(10_000),
  }).output();
  assert(out.success, `mosquitto_pub: ${new TextDecoder().decode(out.stderr)}`);
}

Deno.test({
  name:
    "device users: a nats-server with the generated account lets a device publish only as itself",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // The tool as a user runs it: ids from the arguments and from a file.
    const ids = await Deno.makeTempFile({ prefix: "flotilla-ids-" });
    await Deno.writeTextFile(ids, "# fleet\nrobotB\n");
    const generated = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-env", "--allow-read", "tools/nats_device_users.ts"]
        .concat(["--account", "FLOTILLA", "--cost", "4", "--file", ids, "robotA"]),
      cwd: ROOT,
      env: { FLOTILLA_DEVICE_SECRET: SECRET, FLOTILLA_NODE_PASSWORD: NODE_PASSWORD },
      stdout: "piped",
      stderr: "piped",
    }).output();
    await Deno.remove(ids);
    const config = new TextDecoder().decode(generated.stdout);
    assertEquals(generated.code, 0, new TextDecoder().decode(generated.stderr));

    const server = await startNatsServer({ config, mqtt: true });
    const clients: NatsConnection[] = [];
    const client = async (user: string, pass: string) => {
      const nc = await connect({ servers: server.url, user, pass, maxReconnectAttempts: 0 });
      clients.push(nc);
      return nc;
    };
    try {
      // The node user: JetStream and the partition mappings work in the account.
      const node = await client("flotilla", NODE_PASSWORD);
      await checkPartitionMapping(node, DEFAULT_PARTITIONS);
      const info = await (await jetstreamManager(node)).getAccountInfo();
      assert(info.limits !== undefined, "JetStream is enabled for the account");
      const seen: string[] = [];
      node.subscribe("fl.in.>", { callback: (_e, msg) => void seen.push(msg.subject) });
      const commands: string[] = [];
      await node.flush();

      const passA = await devicePassword(SECRET, "robotA");
      const robotA = await client("robotA", passA);
      const errors = serverErrors(robotA);
      robotA.subscribe("cmd.robotA", { callback: (_e, msg) => void commands.push(msg.string()) });
      const pA = partitionOf("robotA", DEFAULT_PARTITIONS);
      const pB = partitionOf("robotB", DEFAULT_PARTITIONS);
      robotA.publish("iot.robotA.telemetry", '{"readings":{"x":1}}');
      robotA.publish("sensors.robotA.x", "1");
      robotA.publish("iot.robotB.telemetry", '{"readings":{"x":666}}');
      robotA.publish("sensors.robotB.x", "666");
      robotA.publish(`fl.in.${pB}.robotB.t`, '{"readings":{"x":666}}'); // around the mapping
      // The command protocol: its own hello and reports, not another device's.
      robotA.publish("iot.robotA.hello", "{}");
      robotA.publish("iot.robotA.commands", '{"commandId":"c1","status":"delivered"}');
      robotA.publish("iot.robotB.commands", '{"commandId":"c1","status":"failed"}');
      await robotA.flush();
      await node.flush();
      await until("4 publish violations", () => errors.length >= 4);
      assertEquals(
        errors.map((e) => [e.name, (e as Error & { subject?: string }).subject]),
        [
          ["PermissionViolationError", `fl.in.${pB}.robotB.t`],
          ["PermissionViolationError", `fl.in.${pB}.robotB.s.x`],
          ["PermissionViolationError", `fl.in.${pB}.robotB.t`],
          ["PermissionViolationError", `fl.in.${pB}.robotB.c`],
        ],
      );

      // Its own commands, not another device's.
      node.publish("cmd.robotA", "go");
      const other = robotA.subscribe("cmd.robotB");
      const refused = await Promise.race([other.closed, delay(5000).then(() => "open")]);
      assert(refused instanceof Error, "subscribing to cmd.robotB was not refused");
      assertEquals(refused.name, "PermissionViolationError");
      await until("robotA's command", () => commands.length === 1);

      // Over MQTT, with the same user and password.
      await mosquittoPub(server.mqttPort!, "robotA", passA, "iot/robotA/hello");
      await mosquittoPub(server.mqttPort!, "robotA", passA, "sensors/robotA/y");
      await mosquittoPub(server.mqttPort!, "robotA", passA, "sensors/robotB/y");
      await until("robotA's MQTT reading", () => seen.includes(`fl.in.${pA}.robotA.s.y`));
      await node.flush();
      await delay(200);
      assertEquals(seen.sort(), [
        `fl.in.${pA}.robotA.c`,
        `fl.in.${pA}.robotA.h`,
        `fl.in.${pA}.robotA.h`,
        `fl.in.${pA}.robotA.s.x`,
        `fl.in.${pA}.robotA.s.y`,
        `fl.in.${pA}.robotA.t`,
      ]);

      // A device's password is its own: robotB's does not open robotA.
      const passB = await devicePassword(SECRET, "robotB");
      assertEquals(await login(server.port, "robotA", passA), "PONG");
      assertEquals(await login(server.port, "robotB", passB), "PONG");
      assertMatch(await login(server.port, "robotA", passB), /^-ERR 'Authorization Violation'/);
      assertMatch(await login(server.port, "robotA", "wrong"), /^-ERR 'Authorization Violation'/);
    } finally {
      for (const nc of clients) await nc.close().catch(() => {});
      await server.stop();
    }
  },
});

Deno.test({
  name: "device users: accountBlock text loads in nats-server with plain passwords too",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = await accountBlock(["r1"], {
      secret: SECRET,
      nodePassword: NODE_PASSWORD,
      plain: true,
      partitions: 16,
      account: "FLEET",
      nodeUser: "node",
    });
    const server = await startNatsServer({ config });
    const nc = await connect({ servers: server.url, user: "node", pass: NODE_PASSWORD });
    try {
      await checkPartitionMapping(nc, 16);
      const r1 = await connect({
        servers: server.url,
        user: "r1",
        pass: await devicePassword(SECRET, "r1"),
      });
      await r1.close();
    } finally {
      await nc.close();
      await server.stop();
    }
  },
});

// deploy/nats/accounts.conf, the example shipped for production: its device users must work
// the same way. nats-server checks publish permissions after the account's mappings, so the
// example needs the mapped subjects (fl.in.<p>.<id>.t, fl.in.<p>.<id>.s.*) too.
const SHIPPED = Deno.readTextFileSync(join(ROOT, "deploy/nats/accounts.conf"));

/** The `name { … }` block of a nats-server config, braces matched. */
function configBlock(text: string, name: string): string {
  const start = new RegExp(`^${name}\\s*[:=]?\\s*\\{`, "m").exec(text);
  if (start === null) throw new Error(`no "${name} {" block`);
  let depth = 0;
  for (let i = start.index + start[0].length - 1; i < text.length; i++) {
    if (text[i] === "{") depth++;
    else if (text[i] === "}" && --depth === 0) return text.slice(start.index, i + 1);
  }
  throw new Error(`the "${name}" block is not closed`);
}

function passwordOf(config: string, user: string): string {
  const match = new RegExp(`user:\\s*"?${user}"?\\s*,\\s*password:\\s*"([^"]+)"`).exec(config);
  if (match === null) throw new Error(`deploy/nats/accounts.conf has no password for ${user}`);
  return match[1]!;
}

/** The `"from": "to"` pairs of the first `mappings = { … }` block of a config. */
function mappingsOf(config: string): Record<string, string> {
  const lines = config.slice(config.search(/mappings\s*=\s*\{/)).split("\n").slice(1);
  const block = lines.slice(0, lines.findIndex((line) => line.trim() === "}"));
  return Object.fromEntries(block.map((line) => {
    const pair = /^\s*"([^"]+)":\s*"([^"]+)"\s*$/.exec(line);
    if (pair === null) throw new Error(`not a mapping: ${line}`);
    return [pair[1]!, pair[2]!];
  }));
}

Deno.test("device users: the shipped configs hold exactly the mappings the nodes need", () => {
  const mappings = Deno.readTextFileSync(join(ROOT, "deploy/nats/mappings.conf"));
  assertEquals(mappingsOf(mappings), partitionMappings(DEFAULT_PARTITIONS));
  assertEquals(mappingsOf(configBlock(SHIPPED, "accounts")), partitionMappings(16));
  // Each example device may publish its hello and its command reports after the mapping.
  for (const id of ["robot1", "robot2"]) {
    const p = partitionOf(id, DEFAULT_PARTITIONS);
    for (const kind of ["t", "h", "c"]) {
      assert(
        SHIPPED.includes(`"fl.in.${p}.${id}.${kind}"`),
        `${id} may publish fl.in.${p}.${id}.${kind}`,
      );
    }
  }
});

Deno.test({
  name: "device users: deploy/nats/accounts.conf lets robot1 publish as itself only",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const accounts = configBlock(SHIPPED, "accounts");
    const server = await startNatsServer({ config: accounts });
    const clients: NatsConnection[] = [];
    try {
      const node = await connect({
        servers: server.url,
        user: "flotilla",
        pass: passwordOf(accounts, "flotilla"),
      });
      clients.push(node);
      await checkPartitionMapping(node, DEFAULT_PARTITIONS);
      const seen: string[] = [];
      node.subscribe("fl.in.>", { callback: (_e, msg) => void seen.push(msg.subject) });
      await node.flush();
      const robot1 = await connect({
        servers: server.url,
        user: "robot1",
        pass: passwordOf(accounts, "robot1"),
      });
      clients.push(robot1);
      const errors = serverErrors(robot1);
      robot1.publish("iot.robot1.telemetry", '{"readings":{"x":1}}');
      robot1.publish("sensors.robot1.x", "1");
      robot1.publish("iot.robot2.telemetry", '{"readings":{"x":666}}');
      await robot1.flush();
      await node.flush();
      await until("robot1's messages", () => seen.length >= 2);
      await until("a publish violation", () => errors.length >= 1);
      const p1 = partitionOf("robot1", DEFAULT_PARTITIONS);
      assertEquals(seen.sort(), [`fl.in.${p1}.robot1.s.x`, `fl.in.${p1}.robot1.t`]);
      assertEquals(errors.length, 1, errors.map((e) => e.message).join("; "));
      const other = robot1.subscribe("cmd.robot2");
      const refused = await Promise.race([other.closed, delay(5000).then(() => "open")]);
      assert(refused instanceof Error, "subscribing to cmd.robot2 was not refused");
    } finally {
      for (const nc of clients) await nc.close().catch(() => {});
      await server.stop();
    }
  },
});
