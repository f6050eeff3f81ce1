/**
 * Commands and desired state against a real cluster — a nats-server with its MQTT listener and
 * Flotilla's mappings, a redis-server, two node processes (tests/helpers/cluster.ts) — with
 * devices as users write them: the TypeScript and mosquitto examples of docs/devices.md, run
 * as written, and NATS clients.
 *
 * - a device offline when a command is sent gets it exactly once when it connects and says
 *   hello, and its report makes the command `succeeded` (the NATS example, then the MQTT one);
 * - three desired changes while the device is offline reach it as one final state with its
 *   version; a stale `If-Match` is a 412;
 * - bad reports (garbage, an unknown id, another device's id in the body) are counted and change
 *   nothing;
 * - SIGKILL of the node owning the device between `pending` and `delivered` loses nothing: the
 *   node taking the partition over re-sends the command on its reminder (the device never says
 *   hello again), and the deduplicating device executes it once.
 *
 * @module
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { partitionOf } from "../runtime/nats/hash.ts";
import { PARTITIONS, startCluster } from "./helpers/cluster.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { docExample, ROOT } from "./helpers/doc_examples.ts";
import { leaseHolders } from "./helpers/failover.ts";
import { mosquitto } from "./helpers/mosquitto.ts";
import type { NodeProcess } from "./helpers/process.ts";
import { delay, waitFor } from "./helpers/wait.ts";

const unsanitized = { sanitizeOps: false, sanitizeResources: false } as const;
const DOC = "docs/devices.md";
const JSON_HEADERS = { "content-type": "application/json" };

const cluster = await startCluster({ nodes: 2, mqtt: true });
await cluster.settled(cluster.nodes, true, 20_000);

/** A child process whose stdout lines are kept as they come. */
interface Running {
  readonly lines: string[];
  stop(): Promise<void>;
}

function run(command: string, args: string[], env: Record<string, string>): Running {
  const child = new Deno.Command(command, {
    args,
    env,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const reading = (async () => {
    let buffer = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      lines.push(...parts);
    }
  })();
  const errors = new Response(child.stderr).text();
  return {
    lines,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* exited already */ }
      await child.status;
      await reading.catch(() => {});
      await errors.catch(() => "");
    },
  };
}

async function api(path: string, init?: RequestInit, node: NodeProcess = cluster.nodes[0]!) {
  const res = await node.api(path, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === "" ? null : JSON.parse(text) };
}

async function register(id: string, extra: Record<string, unknown> = {}, node?: NodeProcess) {
  const res = await api(`/api/devices/${id}`, {
    method: "PUT",
    headers: JSON_HEADERS,
    body: JSON.stringify({ type: "robot", ...extra }),
  }, node);
  assert(res.status === 201 || res.status === 200, JSON.stringify(res));
}

async function sendCommand(
  id: string,
  body: Record<string, unknown>,
  node?: NodeProcess,
): Promise<string> {
  const res = await api(`/api/devices/${id}/commands`, {
    method: "POST",
    headers: JSON_HEADERS,
    body: JSON.stringify(body),
  }, node);
  assertEquals(res.status, 202, JSON.stringify(res.body));
  assertEquals(res.body.status, "pending");
  return res.body.commandId;
}

function commandOf(id: string, commandId: string, node?: NodeProcess) {
  return async () => (await api(`/api/devices/${id}/commands/${commandId}`, undefined, node)).body;
}

/** Every message on `cmd.<id>`, parsed, as a NATS client sees them. */
async function watch(nc: NatsConnection, id: string): Promise<Record<string, unknown>[]> {
  const seen: Record<string, unknown>[] = [];
  nc.subscribe(`cmd.${id}`, { callback: (_e, msg) => void seen.push(msg.json()) });
  await nc.flush();
  return seen;
}

/** The sum over the running nodes of a metric's sample (0 where absent). */
async function metric(nodes: readonly NodeProcess[], sample: string): Promise<number> {
  let sum = 0;
  for (const node of nodes) {
    const text = await (await fetch(`${node.url}/metrics`)).text();
    const escaped = sample.replace(/[{}"\\]/g, "\\$&");
    sum += Number(new RegExp(`^${escaped} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
  }
  return sum;
}

Deno.test({
  name:
    "cluster commands: an offline device gets its command exactly once on hello (docs' NATS example)",
  ...unsanitized,
  async fn() {
    const id = "doc-nats-1";
    await register(id);
    const commandId = await sendCommand(id, { name: "move", params: { x: 3 } });
    const observer = await watch(await cluster.client(), id);
    await delay(300);
    assertEquals(observer, [], "nothing goes to an offline device");

    // The device of docs/devices.md, run as written.
    const file = await Deno.makeTempFile({ prefix: "flotilla-device-", suffix: ".ts" });
    await Deno.writeTextFile(file, docExample(DOC, "nats-device"));
    const device = run(Deno.execPath(), [
      "run",
      "--check",
      "--allow-net",
      "--allow-env",
      "--config",
      `${ROOT}/deno.json`,
      file,
    ], { NATS_URL: cluster.nats.url, DEVICE_ID: id });
    try {
      const done = await waitFor(
        "the command succeeded",
        commandOf(id, commandId),
        (c) => c?.status === "succeeded",
        30_000,
      );
      assertEquals(done.result, { ok: true });
      assert(done.deliveredAt <= done.completedAt, "delivered, then completed");
      // On a loaded machine the "delivered" report may come after the first re-send's time: the
      // same command then goes out again (attempt 2, same id) and the device does not run it
      // twice. Once it is reported, nothing more goes out.
      const reportedSends = observer.filter((m) => m.kind === "command").length;
      await delay(1500);
      const commands = observer.filter((m) => m.kind === "command");
      assertEquals(commands.length, reportedSends, "nothing sent after the report");
      assertEquals(commands.length, done.attempts, "every attempt counted");
      assertEquals(
        commands.map((m) => [m.commandId, m.attempt]),
        commands.map((_, i) => [commandId, i + 1]),
      );
      assertEquals(device.lines.filter((l) => l.startsWith("executed")), [
        'executed move {"x":3}',
      ]);
    } finally {
      await device.stop();
      await Deno.remove(file);
    }
  },
});

Deno.test({
  name: "cluster commands: the docs' mosquitto_sub/mosquitto_pub device over MQTT",
  ...unsanitized,
  async fn() {
    const id = "doc-mqtt-1";
    await register(id);
    const commandId = await sendCommand(id, { name: "stop" });
    const env = {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      MQTT_HOST: "127.0.0.1",
      MQTT_PORT: String(cluster.nats.mqttPort),
      DEVICE: id,
    };
    mosquitto("mosquitto_sub");
    mosquitto("mosquitto_pub");
    const listen = run("bash", ["-c", docExample(DOC, "mqtt-listen")], env);
    const nc = await cluster.client();
    try {
      // Subscribed once a probe published on its subject comes out.
      await waitFor("the MQTT subscription", async () => {
        nc.publish(`cmd.${id}`, JSON.stringify({ kind: "probe" }));
        await nc.flush();
        return listen.lines.length;
      }, (n) => n > 0);
      const hello = await new Deno.Command("bash", {
        args: ["-c", docExample(DOC, "mqtt-hello")],
        env,
      }).output();
      assert(hello.success, new TextDecoder().decode(hello.stderr));
      const line = await waitFor(
        "the command on cmd/<id>",
        () => Promise.resolve(listen.lines.find((l) => l.includes('"command"'))),
        (l) => l !== undefined,
      );
      const message = JSON.parse(line!);
      assertEquals([message.commandId, message.name, message.attempt], [commandId, "stop", 1]);
      const report = await new Deno.Command("bash", {
        args: ["-c", docExample(DOC, "mqtt-report")],
        env: { ...env, COMMAND_ID: commandId },
      }).output();
      assert(report.success, new TextDecoder().decode(report.stderr));
      const done = await waitFor(
        "the command succeeded",
        commandOf(id, commandId),
        (c) => c?.status === "succeeded",
      );
      assertEquals(done.result, { ok: true });
    } finally {
      await listen.stop();
    }
  },
});

Deno.test({
  name:
    "cluster commands: three desired changes while offline arrive as one final state; stale If-Match 412",
  ...unsanitized,
  async fn() {
    const id = "desired-1";
    await register(id);
    const nc = await cluster.client();
    const seen = await watch(nc, id);
    const twin = await api(`/api/devices/${id}`);
    assertEquals(twin.headers.get("etag"), '"0"');
    const patch = (body: unknown, ifMatch?: string) =>
      api(`/api/devices/${id}/desired`, {
        method: "PATCH",
        headers: { ...JSON_HEADERS, ...(ifMatch === undefined ? {} : { "If-Match": ifMatch }) },
        body: JSON.stringify(body),
      });
    let res = await patch({ speed: 1 }, '"0"');
    assertEquals([res.status, res.headers.get("etag")], [200, '"1"']);
    res = await patch({ speed: 2, mode: "eco" }, '"1"');
    assertEquals(res.body.version, 2);
    res = await patch({ speed: 3 });
    assertEquals(res.body.version, 3);
    res = await patch({ speed: 9 }, '"2"');
    assertEquals([res.status, res.body.code], [412, "precondition_failed"]);
    await delay(300);
    assertEquals(seen, [], "nothing while offline");

    nc.publish(`iot.${id}.hello`, JSON.stringify({ desiredVersion: 0 }));
    await waitFor("the desired state", () => Promise.resolve(seen.length), (n) => n > 0);
    // Its first reading after the hello sends nothing again.
    nc.publish(`iot.${id}.telemetry`, JSON.stringify({ readings: { speed: 1 } }));
    await waitFor(
      "the reading",
      async () => (await api(`/api/devices/${id}`)).body,
      (t) => t.status === "online",
    );
    await delay(500);
    assertEquals(seen, [{
      kind: "desired",
      device: id,
      desired: { speed: 3, mode: "eco" },
      delta: { speed: 3, mode: "eco" },
      version: 3,
    }]);
  },
});

Deno.test({
  name: "cluster commands: bad reports are counted and change nothing",
  ...unsanitized,
  async fn() {
    const id = "bad-reports-1";
    await register(id);
    const commandId = await sendCommand(id, { name: "reset" });
    const nodes = cluster.nodes;
    const before = {
      notJson: await metric(nodes, 'flotilla_ingest_rejected_total{reason="not_json"}'),
      mismatch: await metric(nodes, 'flotilla_ingest_rejected_total{reason="device_mismatch"}'),
      invalid: await metric(nodes, 'flotilla_ingest_rejected_total{reason="invalid_report"}'),
      unknown: await metric(nodes, 'flotilla_command_reports_ignored_total{reason="unknown"}'),
    };
    const nc = await cluster.client();
    const subject = `iot.${id}.commands`;
    nc.publish(subject, "garbage");
    nc.publish(subject, JSON.stringify({ commandId, status: "succeeded", device: "someone" }));
    nc.publish(subject, JSON.stringify({ commandId, status: "done" }));
    nc.publish(subject, JSON.stringify({ commandId: "not-a-command", status: "succeeded" }));
    // Then a valid report: the same partition, after the bad ones.
    nc.publish(subject, JSON.stringify({ commandId, status: "delivered" }));
    await nc.flush();
    const command = await waitFor(
      "the valid report",
      commandOf(id, commandId),
      (c) => c?.status === "delivered",
    );
    assertEquals([command.result, command.error, command.completedAt], [
      undefined,
      undefined,
      undefined,
    ]);
    const after = await waitFor(
      "the counters",
      async () => ({
        notJson: await metric(nodes, 'flotilla_ingest_rejected_total{reason="not_json"}'),
        mismatch: await metric(nodes, 'flotilla_ingest_rejected_total{reason="device_mismatch"}'),
        invalid: await metric(nodes, 'flotilla_ingest_rejected_total{reason="invalid_report"}'),
        unknown: await metric(nodes, 'flotilla_command_reports_ignored_total{reason="unknown"}'),
      }),
      (m) => m.unknown > before.unknown,
    );
    assertEquals(after, {
      notJson: before.notJson + 1,
      mismatch: before.mismatch + 1,
      invalid: before.invalid + 1,
      unknown: before.unknown + 1,
    });
    const list = await api(`/api/devices/${id}/commands`);
    assertEquals(list.body.items.map((c: { commandId: string }) => c.commandId), [commandId]);
  },
});

Deno.test({
  name: "cluster commands: SIGKILL of the owner between pending and delivered; executed once",
  ...unsanitized,
  async fn() {
    try {
      const holders = await leaseHolders(cluster);
      const [victim, survivor] = cluster.nodes as [NodeProcess, NodeProcess];
      const victimName = cluster.names[0]!;
      let id = "";
      for (let i = 0; !id; i++) {
        const candidate = `kill-${i}`;
        if (holders.get(partitionOf(candidate, PARTITIONS)) === victimName) id = candidate;
      }
      await register(id, {}, survivor);
      // A device that executes a command id once, and stays mute until the owner is gone (as
      // if its reports were lost): the command stays pending.
      const nc = await cluster.client();
      const received: string[] = [];
      const executed: string[] = [];
      let reporting = false;
      const report = (commandId: string) => {
        nc.publish(`iot.${id}.commands`, JSON.stringify({ commandId, status: "delivered" }));
        nc.publish(`iot.${id}.commands`, JSON.stringify({ commandId, status: "succeeded" }));
      };
      nc.subscribe(`cmd.${id}`, {
        callback: (_e, msg) => {
          const m = msg.json<{ kind: string; commandId: string }>();
          if (m.kind !== "command") return;
          received.push(m.commandId);
          if (!executed.includes(m.commandId)) executed.push(m.commandId);
          if (reporting) report(m.commandId);
        },
      });
      await nc.flush();
      nc.publish(`iot.${id}.hello`, "");
      await nc.flush();
      const commandId = await sendCommand(id, { name: "dock" }, survivor);
      await waitFor("the first send", () => Promise.resolve(received.length), (n) => n >= 1);
      const pending = await commandOf(id, commandId, survivor)();
      assertEquals(pending.status, "pending");

      victim.signal("SIGKILL");
      await victim.child.status;
      const sentBefore = received.length;
      reporting = true;
      const done = await waitFor(
        "the command succeeded through the survivor",
        commandOf(id, commandId, survivor),
        (c) => c?.status === "succeeded",
        30_000,
      );
      assertEquals(executed, [commandId], "executed once");
      assert(received.length > sentBefore, `re-sent after the kill (${received.length} sends)`);
      assert(done.attempts >= 2, `attempts ${done.attempts}`);
    } finally {
      await cluster.stop();
    }
  },
});
