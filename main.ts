/**
 * Flotilla's entry point: reads the command line and the configuration (from the
 * environment), assembles a node (`node/`), serves it until SIGTERM or SIGINT, then hands its
 * partitions over (cluster mode), drains mailboxes, flushes state and exits 0 (1 when some
 * state could not be flushed).
 *
 * Signals within half a second of the first are the same one (under `deno task`, one Ctrl-C
 * arrives twice: see `runtime/interrupt.ts`); a signal after that, while the node is still
 * stopping, exits at once with code 130, without waiting for the flush.
 *
 * - Embedded mode (`deno task dev`, or no `NATS_URL`): in-process transport, a Deno KV file
 *   store, no external service.
 * - Cluster mode (`NATS_URL` set): NATS JetStream transport and event stream, partitions
 *   shared with the other nodes, state in Redis (`REDIS_URL`) or JetStream KV.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { assemble, type FlotillaNode, loadConfig } from "./node/mod.ts";
import { describeError, interruptHandler } from "./runtime/mod.ts";

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { embedded: { type: "boolean", default: false } },
  });
  const env = Deno.env.toObject();
  if (values.embedded) {
    // `deno task dev`: a laptop, no services; listen on loopback unless told otherwise.
    env.HOST ??= "127.0.0.1";
  }
  const cannotStart = (error: unknown): never => {
    console.error(`flotilla: cannot start: ${describeError(error)}`);
    Deno.exit(1);
  };
  const node: FlotillaNode = await Promise.resolve()
    .then(() => assemble(loadConfig(env, Deno.stdout.isTerminal(), values.embedded)))
    .catch(cannotStart);
  const onSignal = interruptHandler(
    (signal: Deno.Signal) => {
      node.logger.info("signal received", {
        signal,
        stopping: "gracefully; a second signal exits at once",
      });
      node.stop().then((flushed) => Deno.exit(flushed ? 0 : 1));
    },
    (signal: Deno.Signal) => {
      node.logger.warn("second signal while stopping: exiting now, without waiting for the flush", {
        signal,
      });
      Deno.exit(130);
    },
  );
  // Listening for signals before serving: a client may signal as soon as the URL is logged.
  Deno.addSignalListener("SIGTERM", () => onSignal("SIGTERM"));
  Deno.addSignalListener("SIGINT", () => onSignal("SIGINT"));
  await node.listen().catch(cannotStart);
}
