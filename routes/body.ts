/**
 * Reading JSON request bodies with errors a client can act on: a wrong content type is a
 * 415, unparsable JSON a 400 saying where it broke.
 *
 * @module
 */
import type { Context } from "hono";
import { FlotillaError } from "../runtime/mod.ts";

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

/** Reads and parses a JSON body. @throws {BodyError} */
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
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = text.trim() === "" ? "the body is empty" : (error as Error).message;
    throw new BodyError("malformed_json", 400, `the body is not valid JSON: ${reason}`);
  }
}
