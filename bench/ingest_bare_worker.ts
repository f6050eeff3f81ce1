/**
 * Worker entry of the `ingest` benchmark's bare pipeline (see `ingest_bare.ts`).
 *
 * @module
 */
import { type BareConfig, runBarePipeline } from "./ingest_bare.ts";

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<BareConfig>) => void) | null;
  postMessage(message: unknown): void;
};
scope.onmessage = (e) => {
  runBarePipeline(e.data, () => scope.postMessage("ready")).then(
    (done) => scope.postMessage(done),
    (error) => scope.postMessage({ error: String(error?.stack ?? error) }),
  );
};
