/**
 * Reading JSON request bodies with errors a client can act on: a wrong content type is a
 * 415, unparsable JSON a 400 saying where it broke, a `__proto__` key a 400 `invalid_input`.
 *
 * @module
 */
import type { Context } from "hono";
import { FlotillaError, ValidationError } from "../runtime/mod.ts";

/** The body was not JSON, or not labelled as JSON. */
export class BodyError extends FlotillaError {
  constructor(
    code: "malformed_json" | "unsupported_media_type",
    status: 400 | 415,
    message: string,
  ) {
    super(code, status, message);
    this.name = "BodyError";
  }
}

/** Reads and parses a JSON body. @throws {BodyError} @throws {ValidationError} for `__proto__` */
export async function readJson(c: Context): Promise<unknown> {
  const type = c.req.header("Content-Type") ?? "";
  if (!/^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i.test(type)) {
    throw new BodyError(
      "unsupported_media_type",
      415,
      `send a JSON body with Content-Type: application/json (got ${
        JSON.stringify(type || "none")
      })`,
    );
  }
  const text = await c.req.text();
  let prototypeKey = false;
  let body: unknown;
  try {
    body = JSON.parse(text, (key, value) => {
      if (key === "__proto__") prototypeKey = true;
      return value;
    });
  } catch (error) {
    const reason = text.trim() === "" ? "the body is empty" : (error as Error).message;
    throw new BodyError("malformed_json", 400, `the body is not valid JSON: ${reason}`);
  }
  if (prototypeKey) {
    // Zod drops such a key silently, and code that copies objects may act on it: refuse it.
    throw new ValidationError('a key "__proto__" is not accepted anywhere in a body', [{
      path: "",
      message: 'holds a key "__proto__"',
    }]);
  }
  return body;
}
