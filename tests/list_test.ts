import {
  ActorSystem,
  createLogger,
  defineActor,
  ManualClock,
  MemoryStore,
} from "../runtime/mod.ts";
import { assertEquals } from "./helpers/assert.ts";

const item = defineActor({
  name: "item",
  initialState: () => ({ n: 0 }),
  handlers: { touch: (ctx) => ++ctx.state.n },
  queries: { get: (ctx) => ctx.state.n },
});

Deno.test("system.list pages through the ids of actors with durable state", async () => {
  const system = new ActorSystem({
    clock: new ManualClock(0),
    store: new MemoryStore(),
    logger: createLogger({ level: "error", write: () => {} }),
  }).register(item);
  await system.start();
  const ids = Array.from({ length: 12 }, (_, i) => `i${String(i).padStart(2, "0")}`);
  for (const id of ids) await system.ref(item, id).ask("touch");
  await system.ref(item, "only-read").ask("get"); // activated, never persisted: not listed
  assertEquals(await system.list("item", { limit: 5 }), ids.slice(0, 5));
  assertEquals(await system.list("item", { after: "i04", limit: 5 }), ids.slice(5, 10));
  assertEquals(await system.list("item", { after: "i09" }), ids.slice(10));
  assertEquals(await system.list("item"), ids);
  await system.shutdown();
});
