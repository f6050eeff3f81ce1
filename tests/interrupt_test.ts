import { interruptHandler, SAME_SIGNAL_MS } from "../runtime/mod.ts";
import { assertEquals } from "./helpers/assert.ts";

Deno.test("interruptHandler: signals within 500 ms are one Ctrl-C; a later one quits", () => {
  let now = 1000;
  const calls: string[] = [];
  const onSignal = interruptHandler(
    (signal: string) => calls.push(`stop ${signal}`),
    (signal: string) => calls.push(`quit ${signal}`),
    () => now,
  );
  onSignal("SIGINT"); // the terminal's SIGINT to the process group
  now += 3;
  onSignal("SIGINT"); // the same Ctrl-C, forwarded by deno task
  now += SAME_SIGNAL_MS - 4;
  onSignal("SIGTERM");
  assertEquals(calls, ["stop SIGINT"]);
  now += 1; // SAME_SIGNAL_MS after the first: a second Ctrl-C
  onSignal("SIGTERM");
  assertEquals(calls, ["stop SIGINT", "quit SIGTERM"]);
  now += 10_000;
  onSignal("SIGINT");
  assertEquals(calls, ["stop SIGINT", "quit SIGTERM", "quit SIGINT"], "every later one quits");
});
