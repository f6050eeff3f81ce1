/**
 * routes/body_limit.ts: a streamed (chunked) body reaches the route whole, or is refused with a
 * 413 over the limit, and the request's `signal` is never read — reading it is what made
 * Deno.serve print its `request.signal` notice at the first chunked request.
 *
 * @module
 */
import { assertEquals } from "./helpers/assert.ts";
import { testApp } from "./helpers/app.ts";

/**
 * Serves the app with Deno.serve on a free loopback port, POSTs telemetry whose body streams in
 * `parts` (chunked: no Content-Length), and returns the response with what Deno.serve warned
 * on the console until the server was shut down (it warns when a request ends).
 */
async function postStreamed(
  app: { fetch: (request: Request) => Response | Promise<Response> },
  id: string,
  parts: string[],
): Promise<{ status: number; body: Record<string, unknown>; warnings: string[] }> {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => void warnings.push(args.map(String).join(" "));
  try {
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
    try {
      const encoder = new TextEncoder();
      const res = await fetch(`http://127.0.0.1:${server.addr.port}/api/devices/${id}/telemetry`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: new ReadableStream<Uint8Array>({
          start(controller) {
            for (const part of parts) controller.enqueue(encoder.encode(part));
            controller.close();
          },
        }),
      });
      return { status: res.status, body: await res.json(), warnings };
    } finally {
      await server.shutdown();
    }
  } finally {
    console.warn = warn;
  }
}

Deno.test("body limit: a streamed body under the limit reaches the route, with no notice", async () => {
  const t = await testApp();
  try {
    const res = await postStreamed(t.app, "s1", ['{"readings":', '{"temperature":', "21.5}}"]);
    assertEquals(res.status, 202, JSON.stringify(res.body));
    assertEquals(res.body.messageCount, 1);
    assertEquals(res.warnings, [], "Deno.serve warned");
  } finally {
    await t.close();
  }
});

Deno.test("body limit: a streamed body over the limit is a 413 problem, and nothing is written", async () => {
  const t = await testApp({ bodyLimit: 100 });
  try {
    const pad = "x".repeat(60);
    const res = await postStreamed(t.app, "s2", [`{"pad":"${pad}",`, `"more":"${pad}"}`]);
    assertEquals(res.status, 413);
    assertEquals(res.body.code, "payload_too_large");
    assertEquals(res.warnings, [], "Deno.serve warned");
    assertEquals((await t.app.request("/api/devices/s2")).status, 404, "no twin written");
  } finally {
    await t.close();
  }
});
