/**
 * docker-compose.yml cannot run here (no Docker engine), so it is checked statically: parsed
 * (a strict reader of the block YAML it is written in — no dependency), every file and
 * directory it references exists, the NATS configs it mounts agree with it (server names,
 * routes, data and monitoring paths, partitions), each Flotilla node's environment is a
 * valid cluster configuration for `main.ts`, and every node takes the same API token and card
 * key from `.env` (`.env.example` lists them; git and the Docker build leave `.env` out).
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../node/mod.ts";
import { assert, assertEquals } from "./helpers/assert.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

type Yaml = string | Yaml[] | { [key: string]: Yaml } | null;

/**
 * Reads the block YAML subset the compose file uses: mappings, sequences of scalars, plain and
 * double-quoted scalars, JSON-style flow sequences, `#` comments. Anything else (tabs, anchors,
 * block scalars, odd indentation, duplicate keys) is an error, so a malformed file fails here.
 */
export function parseYamlSubset(text: string): Yaml {
  const lines: { indent: number; text: string; n: number }[] = [];
  text.split("\n").forEach((raw, i) => {
    if (raw.includes("\t")) throw new Error(`line ${i + 1}: tab`);
    const body = stripComment(raw).trimEnd();
    if (body.trim() === "") return;
    lines.push({ indent: body.length - body.trimStart().length, text: body.trim(), n: i + 1 });
  });
  let at = 0;
  const block = (indent: number): Yaml => {
    const first = lines[at]!;
    if (first.indent !== indent) throw new Error(`line ${first.n}: indentation`);
    if (first.text === "-" || first.text.startsWith("- ")) {
      const items: Yaml[] = [];
      while (
        at < lines.length && lines[at]!.indent === indent && lines[at]!.text.startsWith("- ")
      ) {
        items.push(scalar(lines[at]!.text.slice(2).trim(), lines[at]!.n));
        at++;
      }
      return items;
    }
    const map: { [key: string]: Yaml } = {};
    while (at < lines.length && lines[at]!.indent === indent) {
      const line = lines[at]!;
      const m = /^([A-Za-z0-9_.-]+):(?:\s+(.*))?$/.exec(line.text);
      if (m === null) throw new Error(`line ${line.n}: not "key: value": ${line.text}`);
      const key = m[1]!;
      if (Object.hasOwn(map, key)) throw new Error(`line ${line.n}: duplicate key ${key}`);
      at++;
      if (m[2] !== undefined) {
        map[key] = scalar(m[2], line.n);
      } else if (at < lines.length && lines[at]!.indent > indent) {
        map[key] = block(lines[at]!.indent);
      } else if (
        at < lines.length && lines[at]!.indent === indent && lines[at]!.text.startsWith("- ")
      ) {
        map[key] = block(indent);
      } else {
        map[key] = null;
      }
    }
    if (at < lines.length && lines[at]!.indent > indent) {
      throw new Error(`line ${lines[at]!.n}: indentation`);
    }
    return map;
  };
  const doc = block(0);
  if (at !== lines.length) throw new Error(`line ${lines[at]!.n}: not read`);
  return doc;
}

function stripComment(line: string): string {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '"' && line[i - 1] !== "\\") quoted = !quoted;
    if (!quoted && line[i] === "#" && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i);
  }
  return line;
}

function scalar(text: string, n: number): Yaml {
  if (text.startsWith('"') || text.startsWith("[")) {
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`line ${n}: not a JSON-style string or list: ${text}`);
    }
  }
  if (/^[&*!|>{'@`%]/.test(text) || /:\s|\s#/.test(text)) {
    throw new Error(`line ${n}: unsupported or ambiguous plain scalar: ${text}`);
  }
  return text;
}

const map = (v: Yaml | undefined): { [key: string]: Yaml } => {
  assert(v !== null && v !== undefined && typeof v === "object" && !Array.isArray(v));
  return v as { [key: string]: Yaml };
};
const list = (v: Yaml | undefined): Yaml[] => {
  assert(Array.isArray(v), `expected a list, got ${JSON.stringify(v)}`);
  return v;
};
const exists = (path: string) => {
  try {
    Deno.statSync(join(ROOT, path));
    return true;
  } catch {
    return false;
  }
};

Deno.test("compose file: the YAML reader reads what it should and refuses what it cannot", () => {
  assertEquals(
    parseYamlSubset(
      'a:\n  b: "x # y"  # note\n  c:\n    - "1"\n    - two\n  d: ["e", "f"]\n  g:\nh:\n- i\n',
    ),
    { a: { b: "x # y", c: ["1", "two"], d: ["e", "f"], g: null }, h: ["i"] },
  );
  for (
    const bad of ["a:\n\tb: 1\n", "a: 1\na: 2\n", "a:\n  b: 1\n c: 2\n", "a: &x 1\n", "a: b: c\n"]
  ) {
    let threw = false;
    try {
      parseYamlSubset(bad);
    } catch {
      threw = true;
    }
    assert(threw, `accepted ${JSON.stringify(bad)}`);
  }
});

Deno.test("compose file: NATS cluster, Redis and three nodes, consistent with deploy/nats", () => {
  const doc = map(parseYamlSubset(Deno.readTextFileSync(join(ROOT, "docker-compose.yml"))));
  const all = map(doc.services);
  // The services of profile "edge" are checked by the next test.
  const services = Object.fromEntries(
    Object.entries(all).filter(([, s]) => map(s).profiles === undefined),
  );
  assertEquals(Object.keys(services).sort(), [
    "flotilla-1",
    "flotilla-2",
    "flotilla-3",
    "nats-1",
    "nats-2",
    "nats-3",
    "redis",
  ]);
  const volumes = Object.keys(map(doc.volumes));
  const natsNames = ["nats-1", "nats-2", "nats-3"];
  const mappings = Deno.readTextFileSync(join(ROOT, "deploy/nats/mappings.conf"));
  const partitions = new Set([...mappings.matchAll(/partition\((\d+),1\)/g)].map((m) => m[1]));
  assertEquals(partitions.size, 1, "one partition count in mappings.conf");

  for (const [i, name] of natsNames.entries()) {
    const s = map(services[name]);
    assert(/^nats:2\.(9|10)-alpine$/.test(String(s.image)), `${name} image ${s.image}`);
    const conf = `cluster-${i + 1}.conf`;
    assertEquals(s.command, ["-c", `/etc/nats/${conf}`]);
    const mounts = list(s.volumes).map(String);
    assert(mounts.includes("./deploy/nats:/etc/nats:ro"), `${name} mounts deploy/nats`);
    const data = mounts.find((m) => m.endsWith(":/data"));
    assert(data !== undefined && volumes.includes(data.split(":")[0]!), `${name} data volume`);
    assert(exists(`deploy/nats/${conf}`), `deploy/nats/${conf} exists`);
    const text = Deno.readTextFileSync(join(ROOT, "deploy/nats", conf));
    assert(new RegExp(`^server_name: ${name}$`, "m").test(text), `${conf}: server_name ${name}`);
    for (const peer of natsNames) assert(text.includes(`nats-route://${peer}:6222`), conf);
    assert(/store_dir: "\/data\//.test(text), `${conf}: JetStream under the /data volume`);
    assert(/^http: 0\.0\.0\.0:8222$/m.test(text), `${conf}: monitoring port for the healthcheck`);
    assert(/^mqtt \{/m.test(text), `${conf}: MQTT listener`);
    for (const [, included] of text.matchAll(/^include (\S+)$/gm)) {
      assert(exists(join("deploy/nats", included!)), `${conf} includes ${included}, which exists`);
    }
    assert(text.includes("include ./mappings.conf"), `${conf} includes the mappings`);
    assert(list(map(s.healthcheck).test).join(" ").includes(":8222/healthz"), name);
  }

  const redis = map(services.redis);
  assertEquals(redis.image, "redis:7-alpine");
  assert(list(redis.command).join(" ").includes("--appendonly yes"), "Redis AOF on");
  assert(volumes.includes(String(list(redis.volumes)[0]).split(":")[0]!), "Redis data volume");

  assert(exists("Dockerfile"), "the build context has a Dockerfile");
  const ids = new Set<string>();
  const tokens = new Set<string | null>();
  for (const n of [1, 2, 3]) {
    const name = `flotilla-${n}`;
    const s = map(services[name]);
    assertEquals(s.build, ".");
    assertEquals(s.ports, [`808${n}:8080`]);
    const env = map(s.environment) as Record<string, string>;
    // One token and one card key for the whole cluster: every node reads the same variables,
    // which Compose must have (from .env) or refuse to start.
    for (const name of SHARED) {
      assertEquals(env[name], `\${${name}:?set ${name} in .env (see .env.example)}`, `${name}`);
    }
    const resolved = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [k, interpolate(String(v), DOT_ENV)]),
    );
    const servers = resolved.NATS_URL!.split(",");
    assertEquals(servers, natsNames.map((h) => `nats://${h}:4222`));
    assertEquals(resolved.REDIS_URL, "redis://redis:6379");
    ids.add(resolved.FLOTILLA_NODE_ID!);
    // What the node makes of it (node/config.ts).
    const config = loadConfig({ ...resolved, PORT: "8080" });
    assertEquals(config.mode, "cluster");
    assertEquals(config.store, "redis");
    assertEquals(config.nodeId, name);
    assertEquals(config.streamReplicas, 3);
    assertEquals(String(config.partitions), [...partitions][0], "FLOTILLA_PARTITIONS = mappings");
    assertEquals(config.port, 8080);
    assertEquals(config.apiToken, DOT_ENV.FLOTILLA_API_TOKEN, "the shared API token");
    tokens.add(config.apiToken);
    const deps = map(s.depends_on);
    assertEquals(Object.keys(deps).sort(), [...natsNames, "redis"]);
    for (const dep of Object.values(deps)) assertEquals(map(dep).condition, "service_healthy");
    assert(list(map(s.healthcheck).test).join(" ").includes("/healthz"), `${name} healthcheck`);
  }
  assertEquals(ids.size, 3, "node ids differ");
  assertEquals(tokens.size, 1, "one API token for every node");
});

Deno.test("compose file: profile edge, a hub and a site, each its nats-server and node", () => {
  const doc = map(parseYamlSubset(Deno.readTextFileSync(join(ROOT, "docker-compose.yml"))));
  const services = map(doc.services);
  const edge = Object.keys(services).filter((name) =>
    list(map(services[name]).profiles ?? []).includes("edge")
  ).sort();
  assertEquals(edge, ["edge-hub", "edge-hub-nats", "edge-site", "edge-site-nats"]);
  const volumes = Object.keys(map(doc.volumes));
  for (
    const [name, conf, vars] of [
      ["edge-hub-nats", "hub.conf", [] as string[]],
      ["edge-site-nats", "site.conf", ["FLOTILLA_SITE", "FLOTILLA_HUB_LEAF_URL"]],
    ] as const
  ) {
    const s = map(services[name]);
    assertEquals(s.command, ["-c", `/etc/nats/${conf}`, "-sd", "/data"]);
    const text = Deno.readTextFileSync(join(ROOT, "deploy/nats", conf));
    const env = map(s.environment) as Record<string, string>;
    // Every variable the config uses is given.
    for (const [, used] of text.matchAll(/:\s*\$([A-Z_]+)\s*$/gm)) {
      assert(env[used!] !== undefined, `${name} sets ${used}`);
    }
    for (const v of vars) assert(env[v] !== undefined, `${name} sets ${v}`);
    const data = list(s.volumes).map(String).find((m) => m.endsWith(":/data"));
    assert(data !== undefined && volumes.includes(data.split(":")[0]!), `${name} data volume`);
  }
  const siteNats = map(map(services["edge-site-nats"]).environment) as Record<string, string>;
  const hubNats = map(map(services["edge-hub-nats"]).environment) as Record<string, string>;
  assertEquals(
    siteNats.FLOTILLA_HUB_LEAF_URL,
    `nats-leaf://edge-hub-nats:${hubNats.FLOTILLA_LEAF_PORT}`,
  );
  const configOf = (name: string) => {
    const env = map(map(services[name]).environment) as Record<string, string>;
    const resolved = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [k, interpolate(String(v), DOT_ENV)]),
    );
    return loadConfig({ ...resolved, PORT: "8080" });
  };
  const hub = configOf("edge-hub");
  assertEquals(hub.edge.sites, [siteNats.FLOTILLA_SITE!]);
  assertEquals(hub.natsUrl, "nats://edge-hub-nats:4222");
  const site = configOf("edge-site");
  assertEquals(site.edge.site, siteNats.FLOTILLA_SITE);
  assertEquals(site.store, "denokv");
  assertEquals(site.natsUrl, "nats://edge-site-nats:4222");
});

/** The variables every node takes from .env. */
const SHARED = ["FLOTILLA_API_TOKEN", "FLOTILLA_CARD_KEY"] as const;

/** An .env as a user fills it in. */
const DOT_ENV: Record<string, string> = {
  FLOTILLA_API_TOKEN: "0123456789abcdef0123456789abcdef",
  FLOTILLA_CARD_KEY: "card-key-0123456789abcdef0123456789abcdef",
};

/**
 * Compose's interpolation of the forms the file uses: `${NAME}`, `${NAME:-default}` and
 * `${NAME:?error}` (which stops Compose when NAME is unset or empty).
 */
function interpolate(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::([-?])([^}]*))?\}/g, (_m, name, op, arg) => {
    const value = vars[name];
    if (value !== undefined && value !== "") return value;
    if (op === "?") throw new Error(`compose refuses to start: ${arg}`);
    return op === "-" ? arg : "";
  });
}

Deno.test("compose file: the shared secrets come from .env, which stays out of git and images", () => {
  const example = Deno.readTextFileSync(join(ROOT, ".env.example"));
  const keys = [...example.matchAll(/^([A-Z_]+)=(.*)$/gm)].map((m) => [m[1], m[2]]);
  // Every shared variable is there, empty: a copy that is not filled in does not start.
  assertEquals(keys, SHARED.map((name) => [name, ""]));
  const ignored = (file: string) =>
    Deno.readTextFileSync(join(ROOT, file)).split("\n").map((l) => l.trim()).includes(".env");
  assert(ignored(".gitignore"), ".env in .gitignore");
  assert(ignored(".dockerignore"), ".env in .dockerignore (the image copies the context)");
  const text = Deno.readTextFileSync(join(ROOT, "docker-compose.yml"));
  const node = map(map(map(parseYamlSubset(text)).services)["flotilla-1"]).environment;
  const token = String(map(node).FLOTILLA_API_TOKEN);
  let refused = "";
  try {
    interpolate(token, { FLOTILLA_API_TOKEN: "" });
  } catch (error) {
    refused = (error as Error).message;
  }
  assertEquals(
    refused,
    "compose refuses to start: set FLOTILLA_API_TOKEN in .env (see .env.example)",
  );
});
