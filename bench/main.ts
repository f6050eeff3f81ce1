/**
 * `deno task bench [name…]`: runs the benchmarks, each in its own process (a clean heap, its
 * own flags), and prints one summary line per benchmark. Results: `bench/results/<name>.json`.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));

/** Benchmarks by name, and their files. */
export const BENCHMARKS: Readonly<Record<string, string>> = {
  "tell": "tell.ts",
  "actor-memory": "actor_memory.ts",
  "ingest": "ingest.ts",
  "sse": "sse.ts",
  "activation": "activation.ts",
  "persist": "persist.ts",
  "failover": "failover.ts",
  "fraud": "fraud.ts",
  "edge-catchup": "edge_catchup.ts",
  "scale": "scale.ts",
  "device-writes": "device_writes.ts",
};

if (import.meta.main) {
  const wanted = Deno.args.length > 0 ? Deno.args : Object.keys(BENCHMARKS);
  const unknown = wanted.filter((name) => !(name in BENCHMARKS));
  if (unknown.length > 0) {
    console.error(
      `unknown benchmark(s): ${unknown.join(", ")}; known: ${Object.keys(BENCHMARKS).join(", ")}`,
    );
    Deno.exit(2);
  }
  let failed = false;
  for (const name of wanted) {
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "--v8-flags=--expose-gc,--max-old-space-size=8192",
        join(HERE, BENCHMARKS[name]!),
      ],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (code !== 0) {
      console.error(`benchmark ${name} failed (exit ${code})`);
      failed = true;
    }
  }
  Deno.exit(failed ? 1 : 0);
}
