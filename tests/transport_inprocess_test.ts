import { InProcessTransport } from "../runtime/mod.ts";
import { transportConformance } from "./transport_conformance.ts";

transportConformance("in-process", () =>
  Promise.resolve({
    transport: new InProcessTransport(),
    partitions: 1,
    ready: () => Promise.resolve(),
    cleanup: () => Promise.resolve(),
  }));
