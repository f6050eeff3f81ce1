/**
 * Runs `main.ts` as a child process, as a user would with `deno task dev`, and reads its JSON
 * log lines.
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SETPRIV } from "./servers.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The API token test nodes get unless a test sets FLOTILLA_API_TOKEN itself. */
export const TEST_API_TOKEN = "test-api-token-0123456789abcdef";

/** A running node process. */
export interface NodeProcess {
  readonly child: Deno.ChildProcess;
  readonly pid: number;
  /** `fetch` of a path on the node, with its API token. */
  api(path: string, init?: RequestInit): Promise<Response>;
  /** Base URL from its "listening" log line. */
  readonly url: string;
  /** Every log line so far, parsed. */
  readonly lines: Record<string, unknown>[];
  /** Everything the process wrote to stderr, once it exited. */
  readonly stderr: Promise<string>;
  /** Sends a signal without waiting (SIGSTOP/SIGCONT to freeze and thaw, say). */
  signal(signal: Deno.Signal): void;
  /** Sends a signal and resolves with the exit code once the process ended. */
  stop(signal: Deno.Signal): Promise<number>;
}

/**
 * Starts `deno run main.ts` with `env` — `--embedded` unless `embedded` is false (cluster mode:
 * pass NATS_URL and REDIS_URL in `env`). NATS_URL and REDIS_URL are never inherited. The node
 * must log at level info (the default): its URL comes from its "listening" line.
 */
export async function startNodeProcess(
  env: Record<string, string>,
  { embedded = true }: { readonly embedded?: boolean } = {},
): Promise<NodeProcess> {
  const inherited = Deno.env.toObject();
  delete inherited.NATS_URL;
  delete inherited.REDIS_URL;
  // FLOTILLA_NODE_DENO_FLAGS: extra `deno run` flags for the node, e.g. `--cpu-prof
  // --cpu-prof-dir=/tmp/prof` to profile the nodes of a benchmark (see bench/README.md).
  const flags = (Deno.env.get("FLOTILLA_NODE_DENO_FLAGS") ?? "").split(" ").filter((f) => f);
  const args = [
    "run",
    "--allow-all",
    ...flags,
    join(ROOT, "main.ts"),
    ...(embedded ? ["--embedded"] : []),
  ];
  // With setpriv, the node dies with the test process even if the test never stops it.
  const command = SETPRIV === undefined ? Deno.execPath() : SETPRIV;
  const child = new Deno.Command(command, {
    args: SETPRIV === undefined ? args : ["--pdeathsig", "KILL", "--", Deno.execPath(), ...args],
    cwd: ROOT,
    env: {
      ...inherited,
      FLOTILLA_LOG_FORMAT: "json",
      PORT: "0",
      FLOTILLA_API_TOKEN: TEST_API_TOKEN,
      ...env,
    },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: Record<string, unknown>[] = [];
  const listening = Promise.withResolvers<Record<string, unknown>>();
  // Log records come on stdout (debug, info) and stderr (warn, error); anything else on stderr
  // (a crash's stack) is kept as text.
  let other = "";
  const read = async (stream: ReadableStream<Uint8Array>, keepText: boolean) => {
    let buffer = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.trim() === "") continue;
        let record: Record<string, unknown> | null = null;
        try {
          record = line.startsWith("{") ? JSON.parse(line) : null;
        } catch {
          record = null;
        }
        if (record === null) {
          if (keepText) other += line + "\n";
          continue;
        }
        lines.push(record);
        if (record.msg === "listening") listening.resolve(record);
      }
    }
    if (keepText) other += buffer;
  };
  const stdoutDone = read(child.stdout, false);
  const stderrDone = read(child.stderr, true);
  const stderr = stderrDone.then(() => other);
  const done = (async () => {
    await Promise.all([stdoutDone, stderrDone]);
    listening.reject(new Error(`node exited before listening: ${other}`));
  })();
  const ready = await listening.promise;
  const url = String(ready.url);
  const token = env.FLOTILLA_API_TOKEN ?? TEST_API_TOKEN;
  return {
    child,
    pid: child.pid,
    url,
    api(path, init = {}) {
      const headers = new Headers(init.headers);
      headers.set("Authorization", `Bearer ${token}`);
      return fetch(`${url}${path}`, { ...init, headers });
    },
    signal(signal) {
      try {
        child.kill(signal);
      } catch {
        // Already gone.
      }
    },
    lines,
    stderr,
    async stop(signal) {
      try {
        child.kill(signal);
      } catch {
        // Already gone.
      }
      const status = await child.status;
      await done;
      await stderr;
      return status.code;
    },
  };
}
