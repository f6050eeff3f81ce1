/**
 * Runs `main.ts` as a child process, as a user would with `deno task dev`, and reads its JSON
 * log lines.
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** A running node process. */
export interface NodeProcess {
  readonly child: Deno.ChildProcess;
  /** Base URL from its "listening" log line. */
  readonly url: string;
  /** Every log line so far, parsed. */
  readonly lines: Record<string, unknown>[];
  /** Sends a signal and resolves with the exit code and the remaining log lines. */
  stop(signal: Deno.Signal): Promise<number>;
}

/** Starts `deno run main.ts --embedded` with `env` (no inherited NATS_URL or REDIS_URL). */
export async function startNodeProcess(env: Record<string, string>): Promise<NodeProcess> {
  const inherited = Deno.env.toObject();
  delete inherited.NATS_URL;
  delete inherited.REDIS_URL;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", join(ROOT, "main.ts"), "--embedded"],
    cwd: ROOT,
    env: { ...inherited, FLOTILLA_LOG_FORMAT: "json", PORT: "0", ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: Record<string, unknown>[] = [];
  const stderr = new Response(child.stderr).text();
  const listening = Promise.withResolvers<Record<string, unknown>>();
  const done = (async () => {
    let buffer = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.trim() === "") continue;
        const record = JSON.parse(line) as Record<string, unknown>;
        lines.push(record);
        if (record.msg === "listening") listening.resolve(record);
      }
    }
    listening.reject(new Error(`node exited before listening: ${await stderr}`));
  })();
  const ready = await listening.promise;
  return {
    child,
    url: String(ready.url),
    lines,
    async stop(signal) {
      child.kill(signal);
      const status = await child.status;
      await done;
      await stderr;
      return status.code;
    },
  };
}
