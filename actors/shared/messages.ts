/**
 * What zod says when a schema rule fails and the schema gave no message of its own, in the
 * project's words: every rule of every request schema is explained the same way
 * (`must be a number`, `is required`, `must be at most 100`, `unknown field "x"`), never as
 * zod's defaults ("Invalid input: expected number, received string"). Installed once for the
 * process by {@link installMessages}; a message given in a schema still wins.
 *
 * @module
 */
import { z } from "zod";

const TYPES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  bigint: "a whole number",
  boolean: "true or false",
  object: "an object",
  record: "an object",
  array: "an array",
  tuple: "an array",
  null: "null",
  date: "a date",
};

function typeOf(input: unknown): string {
  if (input === null) return "null";
  if (Array.isArray(input)) return "an array";
  switch (typeof input) {
    case "string":
      return "a string";
    case "number":
      return "a number";
    case "boolean":
      return "a boolean";
    case "object":
      return "an object";
    default:
      return typeof input;
  }
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 48 ? `${text.slice(0, 48)}…` : text;
}

function bound(
  issue: { origin: string; inclusive?: boolean; exact?: boolean },
  value: number | bigint,
  small: boolean,
): string {
  const n = Number(value);
  switch (issue.origin) {
    case "string":
      return issue.exact
        ? `must be exactly ${n} characters long`
        : `must be ${small ? "at least" : "at most"} ${n} characters long`;
    case "array":
    case "set":
      return `must hold ${small ? "at least" : "at most"} ${n} item${n === 1 ? "" : "s"}`;
    case "object":
    case "record":
      return `must hold ${small ? "at least" : "at most"} ${n} key${n === 1 ? "" : "s"}`;
    default:
      if (issue.inclusive === false) return `must be ${small ? "above" : "below"} ${n}`;
      return `must be ${small ? "at least" : "at most"} ${n}`;
  }
}

/** The message of a zod issue that came without one. */
export function messageOf(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "is required";
      return `must be ${TYPES[issue.expected] ?? issue.expected}, not ${typeOf(issue.input)}`;
    case "too_small":
      return bound(issue, issue.minimum, true);
    case "too_big":
      return bound(issue, issue.maximum, false);
    case "invalid_format":
      return issue.pattern === undefined
        ? `must be a valid ${issue.format}`
        : `must match the pattern ${issue.pattern}`;
    case "not_multiple_of":
      return `must be a multiple of ${issue.divisor}`;
    case "unrecognized_keys":
      return `unknown field${issue.keys.length === 1 ? "" : "s"} ` +
        `${issue.keys.map((k) => shown(k)).join(", ")}: remove ${
          issue.keys.length === 1 ? "it" : "them"
        }`;
    case "invalid_key": {
      const why = issue.issues.map((i) => i.message).filter(Boolean).join("; ");
      return `the key ${shown(issue.input)} is not allowed${why === "" ? "" : `: ${why}`}`;
    }
    case "invalid_value":
      return issue.values.length === 1
        ? `must be ${shown(issue.values[0])}`
        : `must be one of ${issue.values.map((v) => shown(v)).join(", ")}`;
    case "invalid_union":
      return "matches none of the accepted forms (the API document at /openapi.json lists them)";
    case "invalid_element":
      return "holds an invalid element";
    default:
      return undefined;
  }
}

let installed = false;

/** Makes {@link messageOf} zod's default messages for this process (once). */
export function installMessages(): void {
  if (installed) return;
  installed = true;
  z.config({ customError: messageOf });
}
