/**
 * Devices against a real cluster: a nats-server (JetStream, Flotilla's mappings, MQTT), a
 * redis-server and a node process running `main.ts` in cluster mode (tests/helpers/cluster.ts).
 *
 * - a reading published with `mosquitto_pub` through nats-server's MQTT listener reaches the
 *   twin;
 * - invalid payloads over NATS are counted (`/metrics`) and reported (`ingest.rejected` on SSE
 *   topic `system`), and the valid reading after them in the same partition is applied;
 * - with per-device permissions (an account from tools/nats_device_users.ts, as in
 *   deploy/nats/accounts.conf), a device publishes only as itself and reads only its own
 *   commands, while the node connects with the user and password in NATS_URL;
 * - desired-state changes and commands go out on `cmd.<deviceId>`.
 *
 * @module
 */
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { Cluster, PARTITIONS, startCluster } from "./helpers/cluster.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { SseReader } from "./helpers/sse.ts";
import { startNatsServer, startRedisServer } from "./helpers/servers.ts";
import { partitionOf } from "../runtime/nats/hash.ts";
import { accountBlock, devicePassword } from "../tools/nats_device_users.ts";
import { mosquitto } from "./helpers/mosquitto.ts";
import { delay, waitFor } from "./helpers/wait.ts";

type Twin = Record<string, unknown> & {
  reported?: Record<string, { value: number; ts: number }>;
  messageCount?: number;
};

const unsanitized = { sanitizeOps: false, sanitizeResources: false } as const;

// One cluster (one node, MQTT on) for the tests that need no special nats-server config,
// started outside any test (see tests/helpers/servers.ts); the last of them stops it.
const cluster = await startCluster({ nodes: 1, mqtt: true });
await cluster.settled(cluster.nodes, true, 20_000);
const node = cluster.nodes[0]!;

Deno.test({
  name: "cluster devices: mosquitto_pub sensors/robot1/coordX 150.5 through MQTT reaches the twin",
  ...unsanitized,
  async fn() {
    const pub = mosquitto("mosquitto_pub");
    const out = await new Deno.Command(pub, {
      args: [
        ...["-h", "127.0.0.1", "-p", String(cluster.nats.mqttPort), "-i", "flotilla-test-robot1"],
        ...["-q", "1", "-t", "sensors/robot1/coordX", "-m", "150.5"],
      ],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(10_000),
    }).output();
    assert(
      out.success,
      `mosquitto_pub failed (${out.code}): ${new TextDecoder().decode(out.stderr)}`,
    );
    const twin = await waitFor(
      "robot1's twin with coordX",
      () => cluster.twin("robot1") as Promise<Twin | null>,
      (t) => t?.reported?.coordX !== undefined,
    );
    assertEquals(twin!.reported!.coordX!.value, 150.5);
    assertEquals(twin!.messageCount, 1);
  },
});

Deno.test({
  name: "cluster devices: invalid NATS payloads are counted and reported; the partition goes on",
  ...unsanitized,
  async fn() {
    const sse = await fetch(`${node.url}/api/events?topics=system`);
    assertEquals(sse.status, 200);
    const events = new SseReader(sse);
    const nc = await cluster.client();
    try {
      // The first frame (`retry:`) is written after the stream subscribed to the bus.
      assert((await events.next())?.startsWith("retry:"), "the SSE stream did not start");
      const encode = (text: string) => new TextEncoder().encode(text);
      const huge = encode(
        JSON.stringify({ readings: { temperature: 20 }, pad: "x".repeat(64 * 1024) }),
      );
      nc.publish("iot.bad1.telemetry", encode("{not json"));
      nc.publish(
        "iot.bad1.telemetry",
        encode(JSON.stringify({ readings: { temperature: "hot" } })),
      );
      nc.publish("iot.bad1.telemetry", huge);
      nc.publish("iot.bad1.telemetry", new Uint8Array([0xff, 0xfe, 0x7b]));
      nc.publish("sensors.bad1.temp", encode("hot"));
      // Then a valid reading of the same device: same partition, after the bad ones.
      nc.publish("iot.bad1.telemetry", encode(JSON.stringify({ readings: { temperature: 21.5 } })));
      await nc.flush();

      const twin = await waitFor(
        "bad1's valid reading",
        () => cluster.twin("bad1") as Promise<Twin | null>,
        (t) => t?.reported?.temperature !== undefined,
      );
      assertEquals(twin!.reported!.temperature!.value, 21.5);
      assertEquals(twin!.messageCount, 1, "only the valid message counts");

      const expected = ["invalid_telemetry", "not_a_number", "not_json", "not_utf8", "oversized"];
      const reasons: string[] = [];
      const deadline = Date.now() + 10_000;
      while (reasons.length < expected.length) {
        const left = deadline - Date.now();
        assert(left > 0, `ingest.rejected events seen: ${JSON.stringify(reasons)}`);
        let timer: ReturnType<typeof setTimeout> | undefined;
        const frame = await Promise.race([
          events.next(),
          new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), left))),
        ]);
        clearTimeout(timer);
        if (frame === null) continue;
        if (!/^event: system$/m.test(frame)) continue;
        const data = JSON.parse(/^data: (.*)$/m.exec(frame)![1]!);
        if (data.type !== "ingest.rejected" || data.device !== "bad1") continue;
        assert(/^fl\.in\.\d+\.bad1\./.test(data.subject), `subject ${data.subject}`);
        reasons.push(String(data.reason).split(":")[0]!);
      }
      assertEquals(reasons.sort(), expected);

      const metrics = await (await fetch(`${node.url}/metrics`)).text();
      for (const reason of expected) {
        const line = new RegExp(
          `^flotilla_ingest_rejected_total\\{reason="${reason}"\\} (\\d+)$`,
          "m",
        )
          .exec(metrics);
        assert(line !== null, `no flotilla_ingest_rejected_total for ${reason}:\n${metrics}`);
        assertEquals(Number(line[1]), 1, `rejected ${reason}`);
      }
      // The node did not crash: still running, still serving.
      const state = await Promise.race([
        node.child.status.then((status) => `exited with ${status.code}`),
        delay(50).then(() => "running"),
      ]);
      assertEquals(state, "running");
      const health = await fetch(`${node.url}/healthz`);
      assertEquals(health.status, 200);
      await health.body?.cancel();
    } finally {
      await events.close();
      await nc.close();
    }
  },
});

Deno.test({
  name: "cluster devices: a partition consumer deleted under the node is created again",
  ...unsanitized,
  async fn() {
    const nc = await cluster.client();
    try {
      const p = partitionOf("vanish1", PARTITIONS);
      const jsm = await jetstreamManager(nc);
      const send = async (value: number) => {
        nc.publish("iot.vanish1.telemetry", JSON.stringify({ readings: { level: value } }));
        await nc.flush();
      };
      await send(1);
      await waitFor(
        "the first reading",
        () => cluster.twin("vanish1") as Promise<Twin | null>,
        (t) => t?.messageCount === 1,
      );
      // As after a nats-server crash that lost it: the durable consumer is gone.
      await jsm.consumers.delete("FLOTILLA_INGEST", `ingest-p${p}`);
      await send(2);
      await send(3);
      const twin = await waitFor(
        "the readings after the consumer vanished",
        () => cluster.twin("vanish1") as Promise<Twin | null>,
        (t) => t?.messageCount === 3,
        15_000,
      );
      assertEquals(twin!.reported!.level!.value, 3);
      // The twin is written before the acknowledgement goes out: wait for the server to see it.
      await waitFor(
        "nothing left in the partition",
        async () => {
          const info = await jsm.consumers.info("FLOTILLA_INGEST", `ingest-p${p}`);
          return info.num_ack_pending + info.num_pending;
        },
        (left) => left === 0,
      );
      assert(
        node.lines.some((l) => l.msg === "a partition consumer vanished; creating it again"),
        "the node said what it did",
      );
    } finally {
      await nc.close();
    }
  },
});

Deno.test({
  name: "cluster devices: desired-state changes and commands go out on cmd.<deviceId>",
  ...unsanitized,
  async fn() {
    const nc = await cluster.client();
    try {
      const received: Record<string, unknown>[] = [];
      const sub = nc.subscribe("cmd.cmd1", {
        callback: (_error, msg) => void received.push(msg.json()),
      });
      await nc.flush();
      const seen = await node.api(`/api/devices/cmd1/telemetry`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ readings: { speed: 1 } }),
      });
      assertEquals(seen.status, 202, await seen.text());

      const desired = await node.api(`/api/devices/cmd1/desired`, {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ speed: 3, mode: "eco" }),
      });
      assertEquals(desired.status, 200, await desired.clone().text());
      const { version } = await desired.json();
      const command = await node.api(`/api/devices/cmd1/commands`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "reboot", params: { delay: 5 } }),
      });
      assertEquals(command.status, 202, await command.clone().text());
      const { commandId } = await command.json();

      await waitFor(
        "two messages on cmd.cmd1",
        () => Promise.resolve(received.length),
        (n) => n >= 2,
      );
      const [first, second] = received;
      assertEquals(first!.kind, "desired");
      assertEquals(first!.device, "cmd1");
      assertEquals(first!.desired, { speed: 3, mode: "eco" });
      assertEquals(first!.delta, { speed: 3, mode: "eco" });
      assertEquals(first!.version, version);
      assertEquals(second!.kind, "command");
      assertEquals(second!.commandId, commandId);
      assertEquals(second!.name, "reboot");
      assertEquals(second!.params, { delay: 5 });
      await delay(200);
      assertEquals(received.length, 2, "each push is published once");
      sub.unsubscribe();
    } finally {
      await nc.close();
    }
  },
});

Deno.test({
  name: "cluster devices: (stop the shared cluster)",
  ...unsanitized,
  async fn() {
    await cluster.stop();
  },
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

Deno.test({
  name: "cluster devices: with per-device permissions a device publishes and reads only as itself",
  ...unsanitized,
  async fn() {
    // An account as in deploy/nats/accounts.conf, generated by tools/nats_device_users.ts:
    // JetStream, the node user, robot1 and robot2, Flotilla's mappings; bcrypt passwords.
    const secret = "test-device-secret-0123456789";
    const nodePassword = "test-node-password-0123456789";
    const accounts = await accountBlock(["robot1", "robot2"], {
      secret,
      nodePassword,
      cost: 4,
      partitions: PARTITIONS,
    });
    const nats = await startNatsServer({ config: accounts });
    const redis = await startRedisServer().catch(async (error) => {
      await nats.stop();
      throw error;
    });
    // The node connects as the account's node user, credentials in NATS_URL.
    const nodeUrl = `nats://flotilla:${encodeURIComponent(nodePassword)}@127.0.0.1:${nats.port}`;
    const secure = new Cluster(nats, redis, { env: { NATS_URL: nodeUrl } });
    try {
      await secure.addNode();
      await secure.settled(secure.nodes, true, 15_000);
      const robot1 = await secure.client({
        user: "robot1",
        pass: await devicePassword(secret, "robot1"),
      });
      const errors = serverErrors(robot1);

      // Its own subject: lands in its twin.
      robot1.publish("iot.robot1.telemetry", JSON.stringify({ readings: { coordX: 1.5 } }));
      // Another device's subjects: refused by nats-server.
      robot1.publish("iot.robot2.telemetry", JSON.stringify({ readings: { coordX: 666 } }));
      robot1.publish("sensors.robot2.coordX", "666");
      await robot1.flush();
      const twin = await waitFor(
        "robot1's twin",
        () => secure.twin("robot1") as Promise<Twin | null>,
        (t) => t?.reported?.coordX !== undefined,
      );
      assertEquals(twin!.reported!.coordX!.value, 1.5);
      await waitFor("two publish violations", () => Promise.resolve(errors.length), (n) => n >= 2);
      const violations = errors.map((e) => ({
        name: e.name,
        operation: (e as Error & { operation?: string }).operation,
        subject: (e as Error & { subject?: string }).subject,
      }));
      // nats-server names the subject after its mapping: fl.in.<robot2's partition>.robot2.…
      const p2 = partitionOf("robot2", PARTITIONS);
      assertEquals(violations, [
        { name: "PermissionViolationError", operation: "publish", subject: `fl.in.${p2}.robot2.t` },
        {
          name: "PermissionViolationError",
          operation: "publish",
          subject: `fl.in.${p2}.robot2.s.coordX`,
        },
      ]);

      // Another device's commands: the subscription is refused.
      const other = robot1.subscribe("cmd.robot2");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const closed = await Promise.race([
        other.closed,
        new Promise<"open">((resolve) => (timer = setTimeout(() => resolve("open"), 5_000))),
      ]);
      clearTimeout(timer);
      assert(closed instanceof Error, "subscribing to cmd.robot2 was not refused");
      assertEquals(closed.name, "PermissionViolationError");
      assertEquals((closed as Error & { operation?: string }).operation, "subscription");

      // Its own commands still arrive (published by the node, which may publish anywhere).
      const own: Record<string, unknown>[] = [];
      robot1.subscribe("cmd.robot1", { callback: (_e, msg) => void own.push(msg.json()) });
      await robot1.flush();
      const res = await secure.nodes[0]!.api(`/api/devices/robot1/commands`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "stop" }),
      });
      assertEquals(res.status, 202, await res.clone().text());
      await res.body?.cancel();
      await waitFor("robot1's command", () => Promise.resolve(own.length), (n) => n === 1);
      assertEquals(own[0]!.name, "stop");

      // Nothing reached robot2: no twin on any path.
      await delay(300);
      assertEquals(await secure.twin("robot2"), null);
    } finally {
      await secure.stop();
    }
  },
});
