/**
 * deploy/nats/dev.conf, the nats-server configuration of the README's walkthrough, started for
 * real: on ports chosen through its environment variables (free ones here, as on a machine where
 * 4222, 1883 and 8222 are taken), listening on loopback only, with its subject mappings working
 * over NATS and over MQTT; and without a port variable it refuses to start, naming it. Also
 * deploy/nats/hub.conf and site.conf (edge sites): the site's server joins the hub's as a leaf
 * node, each in its JetStream domain, and device subjects stay on their side.
 *
 * @module
 */
import { connect } from "@nats-io/transport-node";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_PARTITIONS, partitionOf } from "../runtime/nats/hash.ts";
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { freePort, SETPRIV } from "./helpers/servers.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DEV_CONF = join(ROOT, "deploy/nats/dev.conf");

/** nats-server as the test helpers find it: their override variable, else PATH and sbin. */
function natsServer(): string {
  const override = Deno.env.get("FLOTILLA_NATS_SERVER");
  if (override) return override;
  const dirs = [...(Deno.env.get("PATH") ?? "").split(":"), "/usr/sbin", "/usr/local/bin"];
  for (const dir of dirs.filter((d) => d !== "")) {
    try {
      if (Deno.statSync(`${dir}/nats-server`).isFile) return `${dir}/nats-server`;
    } catch { /* not here */ }
  }
  throw new Error("nats-server is not installed: run `deno task setup` (as root) first");
}

/** nats-server -c deploy/nats/dev.conf (or `conf`) with `env`, in `cwd` (JetStream's store is under it). */
function devServer(
  env: Record<string, string>,
  cwd: string,
  conf = DEV_CONF,
): Deno.ChildProcess {
  const binary = natsServer();
  const command = [...(SETPRIV ? [SETPRIV, "--pdeathsig", "KILL", "--"] : []), binary];
  return new Deno.Command(command[0]!, {
    args: [...command.slice(1), "-c", conf],
    cwd,
    env: { PATH: Deno.env.get("PATH") ?? "", ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Waits until the monitoring endpoint answers `/healthz` (JetStream is up then). */
async function healthy(url: string, child: Deno.ChildProcess, log: () => string): Promise<void> {
  let exited = false;
  child.status.then(() => (exited = true));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) throw new Error(`nats-server exited:\n${log()}`);
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      if (res.ok) return;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`nats-server did not become healthy:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function collect(stream: ReadableStream<Uint8Array>): () => string {
  let text = "";
  (async () => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) text += chunk;
  })();
  return () => text;
}

Deno.test({
  name: "dev.conf: starts on the ports its variables give, on loopback, and maps subjects",
  // The NATS client keeps timers of its own for a moment after it closes.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cwd = await Deno.makeTempDir({ prefix: "flotilla-devconf-" });
    const ports = { nats: freePort(), mqtt: freePort(), monitor: freePort() };
    const child = devServer({
      FLOTILLA_NATS_PORT: String(ports.nats),
      FLOTILLA_MQTT_PORT: String(ports.mqtt),
      FLOTILLA_NATS_MONITOR_PORT: String(ports.monitor),
    }, cwd);
    const out = collect(child.stdout);
    const err = collect(child.stderr);
    const log = () => out() + err();
    const nc = { close: async () => {} } as { close(): Promise<void> };
    try {
      const monitor = `http://127.0.0.1:${ports.monitor}`;
      await healthy(`${monitor}/healthz?js-enabled-only=true`, child, log);
      const varz = await (await fetch(`${monitor}/varz`)).json();
      assertEquals(varz.host, "127.0.0.1");
      assertEquals(varz.port, ports.nats);
      assertEquals(varz.http_host, "127.0.0.1");
      assertEquals(varz.http_port, ports.monitor);
      assertEquals(varz.mqtt.host, "127.0.0.1");
      assertEquals(varz.mqtt.port, ports.mqtt);
      assertEquals(varz.server_name, "flotilla-dev");
      // JetStream's store is relative to where the server started.
      assertEquals(varz.jetstream.config.store_dir, ".data/nats/jetstream");
      assert(Deno.statSync(join(cwd, ".data/nats/jetstream")).isDirectory, "store in cwd/.data");

      const client = await connect({ servers: `nats://127.0.0.1:${ports.nats}` });
      Object.assign(nc, { close: () => client.close() });
      const seen: string[] = [];
      client.subscribe("fl.in.>", { callback: (_e, msg) => void seen.push(msg.subject) });
      await client.flush();
      client.publish("iot.x.telemetry", '{"readings":{"t":1}}');
      await client.flush();
      const mqtt = await new Deno.Command("/usr/bin/mosquitto_pub", {
        args: ["-h", "127.0.0.1", "-p", String(ports.mqtt), "-q", "1"]
          .concat(["-i", "devconf-test", "-t", "sensors/x/temp", "-m", "21.5"]),
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert(mqtt.success, `mosquitto_pub: ${new TextDecoder().decode(mqtt.stderr)}`);
      const deadline = Date.now() + 5000;
      while (seen.length < 2 && Date.now() < deadline) await client.flush();
      const p = partitionOf("x", DEFAULT_PARTITIONS);
      assertEquals(seen.sort(), [`fl.in.${p}.x.s.temp`, `fl.in.${p}.x.t`]);
    } finally {
      await nc.close();
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(cwd, { recursive: true });
    }
  },
});

Deno.test("dev.conf: a port variable missing stops nats-server, naming it", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "flotilla-devconf-" });
  try {
    const child = devServer({
      FLOTILLA_NATS_PORT: String(freePort()),
      FLOTILLA_NATS_MONITOR_PORT: String(freePort()),
    }, cwd);
    const [status, stdout, stderr] = await Promise.all([
      child.status,
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
    ]);
    assert(!status.success, "started without FLOTILLA_MQTT_PORT");
    assertMatch(stdout + stderr, /variable reference for 'FLOTILLA_MQTT_PORT'.*can not be found/);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test({
  name: "hub.conf and site.conf: a leaf node in its own JetStream domain; device subjects stay",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cwd = await Deno.makeTempDir({ prefix: "flotilla-edgeconf-" });
    const hub = { nats: freePort(), mqtt: freePort(), monitor: freePort(), leaf: freePort() };
    const site = { nats: freePort(), mqtt: freePort(), monitor: freePort() };
    const common = { FLOTILLA_NATS_HOST: "127.0.0.1" };
    const hubChild = devServer(
      {
        ...common,
        FLOTILLA_NATS_PORT: String(hub.nats),
        FLOTILLA_MQTT_PORT: String(hub.mqtt),
        FLOTILLA_NATS_MONITOR_PORT: String(hub.monitor),
        FLOTILLA_LEAF_PORT: String(hub.leaf),
      },
      cwd,
      join(ROOT, "deploy/nats/hub.conf"),
    );
    const siteChild = devServer(
      {
        ...common,
        FLOTILLA_SITE: "store1",
        FLOTILLA_NATS_PORT: String(site.nats),
        FLOTILLA_MQTT_PORT: String(site.mqtt),
        FLOTILLA_NATS_MONITOR_PORT: String(site.monitor),
        FLOTILLA_HUB_LEAF_URL: `nats-leaf://127.0.0.1:${hub.leaf}`,
      },
      cwd,
      join(ROOT, "deploy/nats/site.conf"),
    );
    const logs = [hubChild, siteChild].map((c) => {
      const out = collect(c.stdout);
      const err = collect(c.stderr);
      return () => out() + err();
    });
    const clients: { close(): Promise<void> }[] = [];
    try {
      await healthy(
        `http://127.0.0.1:${hub.monitor}/healthz?js-enabled-only=true`,
        hubChild,
        logs[0]!,
      );
      await healthy(
        `http://127.0.0.1:${site.monitor}/healthz?js-enabled-only=true`,
        siteChild,
        logs[1]!,
      );
      const deadline = Date.now() + 10_000;
      let leafs: { leafs?: unknown[] } = {};
      while (Date.now() < deadline) {
        leafs = await (await fetch(`http://127.0.0.1:${hub.monitor}/leafz`)).json();
        if ((leafs.leafs ?? []).length > 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assertEquals((leafs.leafs ?? []).length, 1, "the site's server is the hub's leaf node");
      const hubVarz = await (await fetch(`http://127.0.0.1:${hub.monitor}/varz`)).json();
      const siteVarz = await (await fetch(`http://127.0.0.1:${site.monitor}/varz`)).json();
      assertEquals(siteVarz.server_name, "store1");
      assertEquals(siteVarz.jetstream.config.domain, "store1");
      assertEquals(hubVarz.jetstream.config.domain, "hub");
      const atHub = await connect({ servers: `nats://127.0.0.1:${hub.nats}` });
      const atSite = await connect({ servers: `nats://127.0.0.1:${site.nats}` });
      clients.push(atHub, atSite);
      // The hub's JetStream answers at the site through its domain.
      const info = await atSite.request("$JS.hub.API.INFO", "", { timeout: 2000 });
      assert(info.data.length > 0, "hub JetStream reachable from the site");
      const crossed: string[] = [];
      atHub.subscribe("fl.>", { callback: (_e, m) => void crossed.push(m.subject) });
      atHub.subscribe("iot.>", { callback: (_e, m) => void crossed.push(m.subject) });
      await atHub.flush();
      await new Promise((r) => setTimeout(r, 200)); // interest reaches the site, or would
      atSite.publish("iot.x.telemetry", '{"readings":{"t":1}}');
      atSite.publish("fl.ev.telemetry", "{}");
      await atSite.flush();
      await new Promise((r) => setTimeout(r, 300));
      await atHub.flush();
      assertEquals(crossed, [], "device and Flotilla subjects stay at the site");
    } finally {
      for (const c of clients) await c.close();
      for (const child of [siteChild, hubChild]) {
        child.kill("SIGTERM");
        await child.status;
      }
      await Deno.remove(cwd, { recursive: true });
    }
  },
});
