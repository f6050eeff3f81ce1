/**
 * The request body limit: a body over the limit is refused before any route reads it, whether
 * it says its length (Content-Length) or streams (chunked).
 *
 * Hono's `bodyLimit` does the same, but after reading a streamed body it replaces the request
 * with `new Request(c.req.raw, { body })`, and copying a request reads its `signal`. Deno.serve
 * then prints, once per process, a notice that `request.signal` aborts on successful responses
 * (its legacy behaviour) — which looks like a failure and concerns nothing here: no route uses
 * the signal. This one builds the new request from the URL, method and headers, so the signal
 * is never read.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";

/**
 * Refuses a request whose body is over `maxBytes` with `tooLarge(c)`. A streamed body is read
 * here (at most `maxBytes` of it) and handed on to the routes as a fixed body.
 */
export function bodyLimit(
  maxBytes: number,
  tooLarge: (c: Context) => Response | Promise<Response>,
): MiddlewareHandler {
  return async function limitBody(c, next) {
    const raw = c.req.raw;
    if (raw.body === null) return await next();
    const length = raw.headers.get("content-length");
    if (length !== null && !raw.headers.has("transfer-encoding")) {
      return Number.parseInt(length, 10) > maxBytes ? await tooLarge(c) : await next();
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = raw.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxBytes) {
        await reader.cancel();
        return await tooLarge(c);
      }
      chunks.push(value);
    }
    const body = new Uint8Array(size);
    let at = 0;
    for (const chunk of chunks) {
      body.set(chunk, at);
      at += chunk.length;
    }
    c.req.raw = new Request(raw.url, { method: raw.method, headers: raw.headers, body });
    return await next();
  };
}
