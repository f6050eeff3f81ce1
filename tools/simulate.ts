/**
 * `deno task simulate`: a fleet of simulated devices against a Flotilla node — robots on
 * random walks, climate and vibration sensors with occasional anomalies, payment terminals
 * that go offline and back — over HTTP, NATS or MQTT, with a live progress line and a summary.
 * `--help` lists the options; docs/simulator.md shows examples.
 *
 * The pieces live in `tools/simulate/`: `options.ts` (the command line), `fleet.ts` (what the
 * devices send), `transports.ts` (HTTP, NATS, MQTT), `run.ts` (pacing), `stats.ts` (counts,
 * progress, summary); Ctrl-C is `runtime/interrupt.ts`, as for the node.
 *
 * @module
 */
import { interruptHandler } from "../runtime/interrupt.ts";
import { parseOptions, USAGE, UsageError } from "./simulate/options.ts";
import { simulate } from "./simulate/run.ts";
import { type Output, seconds, summaryText } from "./simulate/stats.ts";
import { FriendlyError, showUrl } from "./simulate/transports.ts";

export { parseOptions, UsageError } from "./simulate/options.ts";
export type { SimOptions } from "./simulate/options.ts";
export { createFleet, fleetCounts, Robot } from "./simulate/fleet.ts";
export { simulate } from "./simulate/run.ts";
export type { Summary } from "./simulate/stats.ts";
export { FriendlyError } from "./simulate/transports.ts";

/** Where `main` reads and writes. */
export interface MainIo {
  readonly stdout: Output;
  readonly stderr: Output;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Stops the run as Ctrl-C does; without it, `main` listens for SIGINT and SIGTERM itself. */
  readonly signal?: AbortSignal;
}

const encoder = new TextEncoder();

function output(stream: typeof Deno.stdout | typeof Deno.stderr): Output {
  const isTerminal = stream.isTerminal();
  let columns: number | undefined;
  if (isTerminal) {
    try {
      columns = Deno.consoleSize().columns;
    } catch {
      columns = undefined;
    }
  }
  return {
    isTerminal,
    columns,
    write(text) {
      const bytes = encoder.encode(text);
      let at = 0;
      while (at < bytes.length) at += stream.writeSync(bytes.subarray(at));
    },
  };
}

/** The process's own stdout, stderr and environment. */
export function processIo(): MainIo {
  let env: Record<string, string | undefined> = {};
  try {
    env = { FLOTILLA_API_TOKEN: Deno.env.get("FLOTILLA_API_TOKEN") };
  } catch {
    // No --allow-env: the token must come from --token.
  }
  return { stdout: output(Deno.stdout), stderr: output(Deno.stderr), env };
}

/**
 * Runs the simulator with command-line `args`.
 *
 * @returns the exit code: 0 when the run ended by its duration, its message cap or Ctrl-C;
 *   1 when something stopped it (nothing listening, a refused token); 2 for a wrong command line
 */
export async function main(args: readonly string[], io: MainIo = processIo()): Promise<number> {
  let options;
  try {
    options = parseOptions(args, io.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(
      `simulate: ${error.message}\nRun \`deno task simulate --help\` for the options.\n`,
    );
    return 2;
  }
  if (options === "help") {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }

  let signal = io.signal;
  let unlisten = () => {};
  if (signal === undefined) {
    const controller = new AbortController();
    signal = controller.signal;
    // A second, later Ctrl-C does not wait for the last acknowledgements.
    const onSignal = interruptHandler(() => controller.abort(), () => Deno.exit(130));
    const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
    for (const s of signals) Deno.addSignalListener(s, onSignal);
    unlisten = () => {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
    };
  }

  // With --json, stdout carries the summary alone; progress goes to stderr.
  const progress = options.json ? io.stderr : io.stdout;
  if (!options.json) {
    io.stdout.write(
      `simulating ${options.devices} devices via ${options.via} → ${
        showUrl(options.url)
      } at ${options.rate} msg/s for ${seconds(options.durationMs)}, seed ${options.seed} ` +
        `(Ctrl-C stops)\n`,
    );
  }
  try {
    const summary = await simulate(options, { progress, signal });
    if (options.json) io.stdout.write(`${JSON.stringify(summary)}\n`);
    else io.stdout.write(summaryText(summary));
    if (summary.error !== undefined) {
      io.stderr.write(`simulate: ${summary.error}\n`);
      return 1;
    }
    return 0;
  } catch (error) {
    if (!(error instanceof FriendlyError)) throw error;
    io.stderr.write(`simulate: ${error.message}\n`);
    return 1;
  } finally {
    unlisten();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
