/**
 * Real servers for integration tests: a `nats-server` (JetStream in a fresh store directory,
 * optionally an MQTT listener and extra configuration such as `mappings` or `accounts`) and a
 * `redis-server` (no persistence, or AOF for durability tests), each on free loopback ports, in
 * its own temporary directory, with its stdout and stderr in a log file there.
 *
 * Nothing here touches the machine's own NATS (4222) or Redis (6379): ports are picked free, and
 * a server is stopped by its process id, never by name.
 *
 * Cleanup, even when a test fails:
 * - inside one test, `try { … } finally { await server.stop(); }`, or `await using server = …`
 *   (handles are `AsyncDisposable`);
 * - for a server shared by a whole test file, start it with top-level `await` (outside any test,
 *   so the op and resource sanitizers of `Deno.test` do not count it against a test) and stop it
 *   in the file's last test; if that test does not run (`--filter`, a crash), an `unload`
 *   listener kills every server still running and deletes its directory when the test process
 *   ends;
 * - and if the test process itself is killed, each server gets SIGKILL from the kernel
 *   (`setpriv --pdeathsig`, where util-linux has it) when the thread that started it dies.
 *
 * A test that starts a server inside its body must also stop it there: a running child process
 * is an op the sanitizers see.
 *
 * @example
 * ```ts
 * import { startRedisServer } from "./helpers/servers.ts";
 * const redis = await startRedisServer(); // top level: one server for the file
 * Deno.test("uses redis", async () => {
 *   const client = new Redis(redis.url);
 *   try { … } finally { client.disconnect(); }
 * });
 * Deno.test("stop redis", () => redis.stop());
 * ```
 *
 * @module
 */
import { requirements } from "../../tools/setup.ts";

/**
 * How to install what the tests run (the packages `deno task setup` installs), for error
 * messages.
 */
export const INSTALL_HINT = `sudo apt-get install -y ${
  requirements({}).map((r) => r.package).join(" ")
}`;

/** A server binary is not installed (or not where it was looked for). */
export class MissingBinaryError extends Error {
  constructor(binary: string, looked: readonly string[], envVar: string) {
    super(
      `${binary} is not installed: looked in ${looked.join(", ")}. Install it with ` +
        `\`${INSTALL_HINT}\`, or set ${envVar} to its path.`,
    );
    this.name = "MissingBinaryError";
  }
}

/** A server did not start (exited early, or did not accept connections in time). */
export class ServerStartError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ServerStartError";
  }
}

/** A server process started for a test. */
export interface ServerHandle extends AsyncDisposable {
  /** `"nats-server"` or `"redis-server"`. */
  readonly kind: string;
  /** The URL clients connect to: `nats://127.0.0.1:<port>` or `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** Always `127.0.0.1`. */
  readonly host: string;
  /** The client port; kept across {@link restart}. */
  readonly port: number;
  /** The process id of the current process (a new one after {@link restart}). */
  readonly pid: number;
  /** The temporary directory holding data, configuration and the log. */
  readonly dir: string;
  /** The server's stdout and stderr, appended across restarts. */
  readonly logPath: string;
  /** Whether the current process has not exited yet (a SIGSTOPped process still runs). */
  readonly running: boolean;
  /** Resolves when the current process exits. */
  readonly exited: Promise<Deno.CommandStatus>;
  /**
   * Sends a signal to the process: `SIGKILL` (crash), `SIGTERM` (graceful exit), `SIGSTOP`
   * (freeze: connections stay open, nothing answers), `SIGCONT` (thaw). Does not wait.
   */
  kill(signal: Deno.Signal): void;
  /**
   * Stops the process gracefully (SIGTERM, then SIGKILL after `timeoutMs`) and waits for it to
   * exit; then deletes {@link dir} unless `keepData` (so a later {@link restart} can start from
   * the same data). Safe to call twice.
   */
  stop(options?: { keepData?: boolean; timeoutMs?: number }): Promise<void>;
  /**
   * Starts the server again on the same port with the same data directory, stopping it first
   * if it still runs, and waits until it accepts connections. For "server restarted mid-stream"
   * tests: `server.kill("SIGKILL"); …; await server.restart();`.
   */
  restart(): Promise<void>;
  /** The last `lines` lines of the log, for failure messages. */
  logTail(lines?: number): Promise<string>;
}

/** A running `nats-server`. */
export interface NatsServerHandle extends ServerHandle {
  readonly kind: "nats-server";
  /** The MQTT listener's port when started with `mqtt: true`. */
  readonly mqttPort?: number;
  /** `mqtt://127.0.0.1:<mqttPort>` when started with `mqtt: true`. */
  readonly mqttUrl?: string;
  /** The HTTP monitoring port when started with `monitor: true`. */
  readonly monitorPort?: number;
  /** The configuration file written for it. */
  readonly configPath: string;
  /** JetStream's store directory (inside {@link dir}). */
  readonly storeDir: string;
}

/** A running `redis-server`. */
export interface RedisServerHandle extends ServerHandle {
  readonly kind: "redis-server";
  /** Whether the append-only file is on. */
  readonly durable: boolean;
  /** When the append-only file is fsynced (with {@link durable}). */
  readonly appendfsync: "always" | "everysec" | null;
  /**
   * The multi-part append-only file's directory (Redis 7: a manifest, a base file and the
   * `incr` files the writes are appended to), inside {@link ServerHandle.dir}.
   */
  readonly aofDir: string;
}

/** Options shared by both servers. */
export interface ServerOptions {
  /** Extra command-line arguments. */
  readonly args?: readonly string[];
  /** How long to wait for the server to accept connections (default 15 000 ms). */
  readonly startTimeoutMs?: number;
  /** Keep the temporary directory after {@link ServerHandle.stop} (for debugging). */
  readonly keepDir?: boolean;
}

/** Options of {@link startNatsServer}. */
export interface NatsServerOptions extends ServerOptions {
  /** Enable JetStream with a fresh store directory (default true). */
  readonly jetstream?: boolean;
  /** Open an MQTT listener on a free port (needs JetStream; default false). */
  readonly mqtt?: boolean;
  /** Open the HTTP monitoring endpoint on a free port (default false). */
  readonly monitor?: boolean;
  /** JetStream's domain (edge sites: the hub's and each site's server have one). */
  readonly domain?: string;
  /**
   * Configuration text appended to the generated file: `mappings { … }`, `accounts { … }`,
   * `authorization { … }`, limits. With `accounts`, give an account that uses JetStream
   * `jetstream: enabled`.
   */
  readonly config?: string;
}

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions extends ServerOptions {
  /**
   * Turn the append-only file on (`appendfsync always`, so an acknowledged write survives a
   * SIGKILL); default off: `--save "" --appendonly no`, nothing written to disk.
   */
  readonly durable?: boolean;
  /**
   * With `durable`: fsync the append-only file on every write (`always`, the default) or once
   * a second (`everysec`: a crash of the machine may lose the last second; a test that wants
   * that loss truncates the file itself, since a killed process loses nothing it wrote).
   */
  readonly appendfsync?: "always" | "everysec";
  /**
   * With `durable`: start from a copy of this directory's `appendonlydir` (another server's
   * {@link ServerHandle.dir}, stopped or killed), to read what that server would load.
   */
  readonly aofFrom?: string;
}

/** A port nothing listens on right now: listen on port 0 of 127.0.0.1, note it, close. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Starts a `nats-server` on free loopback ports; see {@link NatsServerOptions}. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const binary = findBinary("nats-server", "FLOTILLA_NATS_SERVER");
  const dir = await Deno.makeTempDir({ prefix: "flotilla-nats-" });
  const configPath = `${dir}/nats.conf`;
  const storeDir = `${dir}/jetstream`;
  const jetstream = options.jetstream ?? true;
  let ports = {
    port: 0,
    mqtt: undefined as number | undefined,
    monitor: undefined as number | undefined,
  };
  const server = new Server("nats-server", binary, dir, options, () => ["-c", configPath]);
  await server.startOnFreePorts(async () => {
    ports = {
      port: freePort(),
      mqtt: options.mqtt ? freePort() : undefined,
      monitor: options.monitor ? freePort() : undefined,
    };
    server.port = ports.port;
    await Deno.writeTextFile(
      configPath,
      natsConfig(ports, jetstream, storeDir, options.config, options.domain),
    );
  }, natsReady);
  const handle = server.handle(`nats://${HOST}:${ports.port}`) as NatsServerHandle;
  return Object.defineProperties(handle, {
    kind: { value: "nats-server", enumerable: true },
    configPath: { value: configPath, enumerable: true },
    storeDir: { value: storeDir, enumerable: true },
    mqttPort: { value: ports.mqtt, enumerable: true },
    mqttUrl: { value: ports.mqtt && `mqtt://${HOST}:${ports.mqtt}`, enumerable: true },
    monitorPort: { value: ports.monitor, enumerable: true },
  });
}

/** Starts a `redis-server` on a free loopback port; see {@link RedisServerOptions}. */
export async function startRedisServer(
  options: RedisServerOptions = {},
): Promise<RedisServerHandle> {
  const binary = findBinary("redis-server", "FLOTILLA_REDIS_SERVER");
  const dir = await Deno.makeTempDir({ prefix: "flotilla-redis-" });
  const durable = options.durable ?? false;
  const appendfsync = durable ? options.appendfsync ?? "always" : null;
  if (durable && options.aofFrom !== undefined) {
    await copyDir(`${options.aofFrom}/${AOF_DIR}`, `${dir}/${AOF_DIR}`);
  }
  const server = new Server("redis-server", binary, dir, options, (port) => [
    "--port",
    String(port),
    "--bind",
    HOST,
    "--dir",
    dir,
    "--daemonize",
    "no",
    "--protected-mode",
    "yes",
    "--logfile",
    "",
    "--save",
    "",
    ...(durable
      ? ["--appendonly", "yes", "--appendfsync", appendfsync!, "--aof-use-rdb-preamble", "no"]
      : ["--appendonly", "no"]),
  ]);
  await server.startOnFreePorts(() => {
    server.port = freePort();
    return Promise.resolve();
  }, redisReady);
  const handle = server.handle(`redis://${HOST}:${server.port}`) as RedisServerHandle;
  return Object.defineProperties(handle, {
    kind: { value: "redis-server", enumerable: true },
    durable: { value: durable, enumerable: true },
    appendfsync: { value: appendfsync, enumerable: true },
    aofDir: { value: `${dir}/${AOF_DIR}`, enumerable: true },
  });
}

// ---------------------------------------------------------------- internals

const HOST = "127.0.0.1";
/** Redis 7's default `appenddirname`. */
const AOF_DIR = "appendonlydir";

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isFile) await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}
const SEARCH_DIRS = ["/usr/sbin", "/usr/local/sbin", "/usr/local/bin", "/usr/bin", "/sbin", "/bin"];
// Servers still running when the test process ends are killed by the `unload` listener.
const live = new Set<Server>();
let unloadListening = false;

function findBinary(name: string, envVar: string): string {
  const override = Deno.env.get(envVar);
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter((d) => d !== "");
  const candidates = override
    ? [override]
    : [...new Set([...dirs, ...SEARCH_DIRS])].map((d) => `${d}/${name}`);
  for (const path of candidates) {
    try {
      const info = Deno.statSync(path);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return path;
    } catch { /* not here */ }
  }
  throw new MissingBinaryError(name, override ? [override] : ["PATH", ...SEARCH_DIRS], envVar);
}

/** `setpriv` (util-linux) sets a parent-death signal and execs: same pid, killed with us. */
export const SETPRIV = (() => {
  for (const path of ["/usr/bin/setpriv", "/bin/setpriv"]) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch { /* absent */ }
  }
  return undefined;
})();

function natsConfig(
  ports: { port: number; mqtt?: number; monitor?: number },
  jetstream: boolean,
  storeDir: string,
  extra = "",
  domain?: string,
): string {
  const lines = [
    `server_name: ${JSON.stringify(`flotilla-test-${ports.port}`)}`,
    `host: ${JSON.stringify(HOST)}`,
    `port: ${ports.port}`,
  ];
  if (ports.monitor !== undefined) {
    lines.push(`http: ${JSON.stringify(`${HOST}:${ports.monitor}`)}`);
  }
  if (jetstream) {
    lines.push(
      "jetstream {",
      `  store_dir: ${JSON.stringify(storeDir)}`,
      ...(domain === undefined ? [] : [`  domain: ${JSON.stringify(domain)}`]),
      "  max_memory_store: 268435456",
      "  max_file_store: 4294967296",
      "}",
    );
  }
  if (ports.mqtt !== undefined) {
    lines.push("mqtt {", `  host: ${JSON.stringify(HOST)}`, `  port: ${ports.mqtt}`, "}");
  }
  return `${lines.join("\n")}\n${extra}\n`;
}

/** Reads the INFO line a NATS server sends first. */
async function natsReady(port: number): Promise<boolean> {
  return await probe(port, undefined, (text) => text.startsWith("INFO ") && text.includes("\r\n"));
}

/** PING answered by PONG (not `-LOADING` while an AOF is replayed). */
async function redisReady(port: number): Promise<boolean> {
  return await probe(port, "PING\r\n", (text) => text.startsWith("+PONG\r\n"));
}

async function probe(
  port: number,
  send: string | undefined,
  done: (text: string) => boolean,
): Promise<boolean> {
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: HOST, port });
  } catch {
    return false;
  }
  const timer = setTimeout(() => conn.close(), 1000);
  try {
    if (send) await conn.write(new TextEncoder().encode(send));
    const buffer = new Uint8Array(4096);
    let text = "";
    while (!text.includes("\r\n")) {
      const n = await conn.read(buffer);
      if (n === null) return false;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    return done(text);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class Server {
  port = 0;
  #child: Deno.ChildProcess | undefined;
  #exited: Promise<Deno.CommandStatus> = Promise.resolve({ success: true, code: 0, signal: null });
  #running = false;
  #removed = false;
  #ready: ((port: number) => Promise<boolean>) | undefined;
  readonly logPath: string;

  constructor(
    readonly kind: string,
    readonly binary: string,
    readonly dir: string,
    readonly options: ServerOptions,
    readonly args: (port: number) => string[],
  ) {
    this.logPath = `${dir}/server.log`;
  }

  /** Picks ports with `choose`, starts, and on a port already taken tries new ones. */
  async startOnFreePorts(
    choose: () => Promise<void>,
    ready: (port: number) => Promise<boolean>,
  ): Promise<void> {
    this.#ready = ready;
    for (let attempt = 1;; attempt++) {
      await choose();
      try {
        await this.#start();
        return;
      } catch (e) {
        const log = await this.logTail(20);
        if (attempt < 5 && /address already in use|EADDRINUSE/i.test(log)) continue;
        this.#removeDir();
        throw e;
      }
    }
  }

  async #start(): Promise<void> {
    const command = [...(SETPRIV ? [SETPRIV, "--pdeathsig", "KILL", "--"] : []), this.binary];
    const args = [...this.args(this.port), ...(this.options.args ?? [])];
    await Deno.writeTextFile(
      this.logPath,
      `--- ${new Date().toISOString()} ${this.binary} ${args.join(" ")}\n`,
      { append: true },
    );
    // `exec` keeps the shell's pid for the server; the shell only redirects its output.
    const child = new Deno.Command("/bin/sh", {
      args: ["-c", 'exec "$@" >>"$FLOTILLA_SERVER_LOG" 2>&1', "sh", ...command, ...args],
      env: { FLOTILLA_SERVER_LOG: this.logPath },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    this.#child = child;
    this.#running = true;
    live.add(this);
    listenForUnload();
    this.#exited = child.status.then((status) => {
      if (this.#child === child) this.#running = false;
      return status;
    });
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 15_000);
    while (true) {
      if (!this.#running) {
        const status = await this.#exited;
        throw new ServerStartError(
          `${this.kind} exited while starting (code ${status.code}, signal ${status.signal}); ` +
            `log ${this.logPath}:\n${await this.logTail(20)}`,
        );
      }
      if (await this.#ready!(this.port)) return;
      if (Date.now() > deadline) {
        await this.#terminate(2000);
        throw new ServerStartError(
          `${this.kind} did not accept connections on port ${this.port} within ` +
            `${this.options.startTimeoutMs ?? 15_000} ms; log ${this.logPath}:\n` +
            (await this.logTail(20)),
        );
      }
      await delay(20);
    }
  }

  async #terminate(timeoutMs: number): Promise<void> {
    if (!this.#running) {
      await this.#exited;
      return;
    }
    this.#signal("SIGTERM");
    this.#signal("SIGCONT"); // a SIGSTOPped process handles SIGTERM only once thawed
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
    });
    const late = await Promise.race([this.#exited.then(() => false), timedOut]);
    clearTimeout(timer);
    if (late) this.#signal("SIGKILL");
    await this.#exited;
  }

  #signal(signal: Deno.Signal): void {
    if (!this.#running) return;
    try {
      this.#child?.kill(signal);
    } catch { /* exited meanwhile */ }
  }

  #removeDir(): void {
    live.delete(this);
    if (this.#removed || this.options.keepDir) return;
    this.#removed = true;
    try {
      Deno.removeSync(this.dir, { recursive: true });
    } catch { /* already gone */ }
  }

  /** Kills synchronously (at process exit). */
  killNow(): void {
    this.#signal("SIGKILL");
    this.#removeDir();
  }

  async logTail(lines = 40): Promise<string> {
    try {
      return (await Deno.readTextFile(this.logPath)).split("\n").slice(-lines - 1).join("\n");
    } catch {
      return "(no log)";
    }
  }

  handle(url: string): ServerHandle {
    // deno-lint-ignore no-this-alias
    const server = this;
    return {
      kind: server.kind,
      url,
      host: HOST,
      port: server.port,
      dir: server.dir,
      logPath: server.logPath,
      get pid() {
        return server.#child?.pid ?? -1;
      },
      get running() {
        return server.#running;
      },
      get exited() {
        return server.#exited;
      },
      kill: (signal) => server.#signal(signal),
      async stop(options = {}) {
        await server.#terminate(options.timeoutMs ?? 10_000);
        if (!options.keepData) server.#removeDir();
      },
      async restart() {
        if (server.#removed) throw new Error(`${server.kind} was stopped and its data deleted`);
        await server.#terminate(10_000);
        await server.#start();
      },
      logTail: (lines) => server.logTail(lines),
      async [Symbol.asyncDispose]() {
        await server.#terminate(10_000);
        server.#removeDir();
      },
    };
  }
}

function listenForUnload(): void {
  if (unloadListening) return;
  unloadListening = true;
  globalThis.addEventListener("unload", () => {
    for (const server of [...live]) server.killNow();
  });
}
