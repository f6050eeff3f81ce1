/**
 * Pieces of the response schemas: what the API document says a successful answer holds. They
 * document; the conformance test (`tests/openapi_conformance_test.ts`) checks every answer
 * against them, so they stay true.
 *
 * @module
 */
import { z } from "zod";

/** A time, epoch milliseconds. */
export const epochMs = z.number().describe("epoch milliseconds");

/** A time that may not have happened yet. */
export const maybeEpochMs = epochMs.nullable();

/** A count. */
export const count = z.number().int().min(0);

/** A JSON value of any kind (an actor's free-form data). */
export const anyJson = z.unknown().meta({
  description: "any JSON value",
});
