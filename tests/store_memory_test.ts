import { MemoryStore } from "../runtime/stores/memory.ts";
import { storeConformance } from "./store_conformance.ts";

storeConformance("memory", () => {
  const store = new MemoryStore();
  return Promise.resolve({ store, cleanup: () => store.close() });
}, { durable: false });
