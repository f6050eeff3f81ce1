/**
 * `actor-memory`: heap bytes per activated, idle actor of a small-state type, against a bare
 * `Map` of plain objects holding the same state, measured in the same process.
 *
 * @module
 */
import { ActorSystem, createLogger, defineActor } from "../runtime/mod.ts";
import { gc, machine, report } from "./lib.ts";

const COUNT = Number(Deno.env.get("BENCH_MEMORY_ACTORS") ?? 1_000_000);

function heap(): number {
  gc();
  return Deno.memoryUsage().heapUsed;
}

function bareMap(): number {
  const before = heap();
  const map = new Map<string, { count: number }>();
  for (let i = 0; i < COUNT; i++) map.set(`sensor-${i}`, { count: 0 });
  const bytes = (heap() - before) / COUNT;
  if (map.size !== COUNT) throw new Error("unreachable");
  return bytes;
}

async function actors(): Promise<{ bytes: number; active: number }> {
  const sensor = defineActor({
    name: "sensor",
    initialState: () => ({ count: 0 }),
    handlers: {
      touch(ctx) {
        ctx.state.count++;
      },
    },
    options: { persistence: "none", passivateAfter: null },
  });
  const system = new ActorSystem({ logger: createLogger({ level: "error" }) }).register(sensor);
  await system.start();
  const before = heap();
  for (let i = 0; i < COUNT; i += 10_000) {
    for (let j = i; j < Math.min(COUNT, i + 10_000); j++) {
      system.ref(sensor, `sensor-${j}`).tell("touch");
    }
    await system.idle();
  }
  const bytes = (heap() - before) / COUNT;
  const active = system.stats().sensor!.active;
  await system.shutdown();
  return { bytes, active };
}

if (import.meta.main) {
  const baseline = bareMap();
  const { bytes, active } = await actors();
  if (active !== COUNT) throw new Error(`expected ${COUNT} active actors, found ${active}`);
  await report({
    name: "actor-memory",
    value: bytes,
    unit: "bytes/actor",
    baseline: "Map of plain objects",
    baselineValue: baseline,
    ratio: bytes / baseline,
    target: "≤ 600 bytes per idle actor",
    met: bytes <= 600,
    machine: machine(),
    details: { actors: COUNT, state: "{ count: number }" },
  });
}
