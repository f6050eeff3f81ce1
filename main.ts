/**
 * Flotilla's entry point: reads the command line and the configuration (from the
 * environment), assembles a node (`node/`), serves it until SIGTERM or SIGINT, then hands its
 * partitions over (cluster mode), drains mailboxes, flushes state and exits 0.
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
import { describeError } from "./runtime/mod.ts";

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
  let node: FlotillaNode;
  try {
    node = await assemble(loadConfig(env, Deno.stdout.isTerminal(), values.embedded));
    await node.listen();
  } catch (error) {
    console.error(`flotilla: cannot start: ${describeError(error)}`);
    Deno.exit(1);
  }
  const onSignal = (signal: Deno.Signal) => {
    node.logger.info("signal received", { signal });
    node.stop().then((flushed) => Deno.exit(flushed ? 0 : 1));
  };
  Deno.addSignalListener("SIGTERM", () => onSignal("SIGTERM"));
  Deno.addSignalListener("SIGINT", () => onSignal("SIGINT"));
}
