/**
 * Input checked by a zod schema, its problems reported the one way every part of Flotilla
 * reports them: a {@link ValidationError} (HTTP 400 `invalid_input`) listing each problem with
 * the dotted path of the field it is about (`""` for the input as a whole).
 *
 * @module
 */
import type { z } from "zod";
import { type FieldIssue, ValidationError } from "../../runtime/mod.ts";
import { installMessages } from "./messages.ts";

// Every schema that reaches a client reports through this module: its failures speak the
// project's words (see messages.ts), whichever area declared the schema.
installMessages();

/** One zod issue as a field issue: its path dotted (`items.3.sku`), its message as given. */
export function fieldIssue(issue: z.core.$ZodIssue): FieldIssue {
  return { path: issue.path.map(String).join("."), message: issue.message };
}

/** Every issue of a zod error, in zod's order. */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map(fieldIssue);
}

/**
 * Parses `input` with `schema` and returns its output, or throws a {@link ValidationError}
 * listing every issue. `message` says what the input must look like; a function builds it from
 * the issues (to quote the first few, say).
 *
 * @throws {ValidationError} when the input does not pass the schema
 * @example
 * ```ts
 * parseOrThrow(z.strictObject({ n: z.number() }), { n: "1" }, 'the body must look like {"n": number}');
 * // ValidationError: the body must look like {"n": number}  (errors: [{path: "n", …}])
 * ```
 */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  input: unknown,
  message: string | ((issues: readonly FieldIssue[]) => string),
): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = fieldIssues(parsed.error);
  throw new ValidationError(typeof message === "string" ? message : message(issues), issues);
}
