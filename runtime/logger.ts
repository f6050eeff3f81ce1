/**
 * Structured logging: one JSON object per line for machines (the default), or a compact
 * `HH:MM:SS.mmm LEVEL msg key=value` line for people at a terminal.
 *
 * Fields whose key looks like a credential (`token`, `secret`, `password`, `authorization`,
 * `apiKey`, …) are written as `"[redacted]"` at any depth, so passing a whole request or config
 * object to a log call cannot leak it. A call below the logger's level costs one comparison.
 *
 * @example
 * ```ts
 * const log = createLogger({ level: parseLogLevel(Deno.env.get("LOG_LEVEL"), "info") });
 * const actorLog = log.child({ actor: "user/42" });
 * actorLog.info("restarted", { attempt: 2, error: new Error("boom") });
 * // {"ts":"2025-01-01T00:00:00.000Z","level":"info","msg":"restarted","actor":"user/42",...}
 * ```
 *
 * @module
 */

import { ConfigError, describeError } from "./errors.ts";

/** Severity of a log record, from least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Extra data attached to a record. */
export type LogFields = Record<string, unknown>;

/** Writes structured records at or above its {@link Logger.level}. */
export interface Logger {
  /** The least severe level this logger writes. */
  readonly level: LogLevel;
  /** Detail for debugging; off by default. */
  debug(msg: string, fields?: LogFields): void;
  /** Normal operation worth a line: startup, shutdown, configuration. */
  info(msg: string, fields?: LogFields): void;
  /** Something went wrong but was handled (a retry, a dead letter, a slow store). */
  warn(msg: string, fields?: LogFields): void;
  /** Something failed and needs a person; Error fields include their stack at this level. */
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** The least severe level written. @default "info" */
  level?: LogLevel;
  /** `"json"`: one JSON object per line; `"pretty"`: for terminals. @default "json" */
  format?: "json" | "pretty";
  /** Receives each line (without a newline). @default console.log below warn, else console.error */
  write?: (line: string) => void;
  /** Epoch milliseconds of a record. @default Date.now */
  now?: () => number;
}

const RANK: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };
const SECRET_KEY = /token|secret|password|authorization|api[-_]?key/i;
const RESERVED = new Set(["ts", "level", "msg"]);
// Deep enough for any sane record; stops a huge object graph from turning into a huge line.
const MAX_DEPTH = 10;

/**
 * Reads a level from configuration (e.g. `LOG_LEVEL`), ignoring case and surrounding space;
 * `undefined` or an empty value gives `fallback`.
 *
 * @throws {ConfigError} on any other value, naming the allowed ones.
 */
export function parseLogLevel(value: string | undefined, fallback: LogLevel): LogLevel {
  const level = value?.trim().toLowerCase();
  if (level === undefined || level === "") return fallback;
  if (Object.hasOwn(RANK, level)) return level as LogLevel;
  throw new ConfigError(
    `unknown log level ${JSON.stringify(value)}; use one of ${Object.keys(RANK).join(", ")}`,
  );
}

/**
 * Creates a logger. A field named `ts`, `level` or `msg` is written as `_ts`, `_level` or
 * `_msg`, so it can never overwrite the record's own keys.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write;
  return new StructuredLogger(options.level ?? "info", {
    format: options.format ?? "json",
    now: options.now ?? Date.now,
    // Look `console` up per line, so a replaced console (tests, Deno's test runner) is honoured.
    write: write
      ? (_level, line) => write(line)
      : (level, line) => RANK[level] >= RANK.warn ? console.error(line) : console.log(line),
  }, {});
}

interface Sink {
  readonly format: "json" | "pretty";
  readonly now: () => number;
  readonly write: (level: LogLevel, line: string) => void;
}

class StructuredLogger implements Logger {
  readonly #rank: number;
  constructor(
    readonly level: LogLevel,
    private readonly sink: Sink,
    private readonly fields: LogFields,
  ) {
    this.#rank = RANK[level];
  }

  // Each method checks the level before touching `fields`: a filtered call does no work.
  debug(msg: string, fields?: LogFields): void {
    if (this.#rank <= 0) this.#emit("debug", msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    if (this.#rank <= 1) this.#emit("info", msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    if (this.#rank <= 2) this.#emit("warn", msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.#emit("error", msg, fields);
  }

  child(fields: LogFields): Logger {
    return new StructuredLogger(this.level, this.sink, { ...this.fields, ...fields });
  }

  #emit(level: LogLevel, msg: string, fields: LogFields | undefined): void {
    const { format, now, write } = this.sink;
    const time = now();
    let line: string;
    try {
      const all = fields === undefined ? this.fields : { ...this.fields, ...fields };
      line = format === "json"
        ? jsonLine(time, level, msg, all)
        : prettyLine(time, level, msg, all);
    } catch (e) {
      // A field that cannot be rendered (a throwing getter or toJSON, a bad clock) must not
      // turn a log call into a crash, nor lose the message.
      line = JSON.stringify({ ts: time, level, msg, logError: describeError(e) });
    }
    write(level, line);
  }
}

function jsonLine(time: number, level: LogLevel, msg: string, fields: LogFields): string {
  const record: Record<string, unknown> = { ts: new Date(time).toISOString(), level, msg };
  const clean = toPlain(fields, level === "error", 0, new Set()) as Record<string, unknown>;
  for (const [key, value] of Object.entries(clean)) {
    record[RESERVED.has(key) ? `_${key}` : key] = value;
  }
  return JSON.stringify(record);
}

function prettyLine(time: number, level: LogLevel, msg: string, fields: LogFields): string {
  const d = new Date(time);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  let line = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.` +
    `${pad(d.getMilliseconds(), 3)} ${level.toUpperCase().padEnd(5)} ${msg}`;
  let stacks = "";
  for (const [key, value] of Object.entries(fields)) {
    if (SECRET_KEY.test(key)) {
      line += ` ${key}=[redacted]`;
    } else if (value instanceof Error) {
      line += ` ${key}=${prettyValue(`${value.name}: ${value.message}`)}`;
      if (level === "error" && value.stack) stacks += `\n${value.stack}`;
    } else {
      line += ` ${key}=${prettyValue(toPlain(value, false, 0, new Set()))}`;
    }
  }
  return line + stacks;
}

/** Bare when unambiguous (`a=b`), JSON-quoted when a string has spaces, quotes or `=`. */
function prettyValue(value: unknown): string {
  if (typeof value === "string") return /^[^\s"=\\]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === "object" && value !== null) return JSON.stringify(value);
  return String(value);
}

/**
 * Turns a field value into data that `JSON.stringify` renders faithfully and safely: secrets
 * redacted, Errors as `{name, message, stack?}`, cycles and very deep nesting cut off,
 * bigints as strings, Maps as objects and Sets as arrays.
 */
function toPlain(value: unknown, withStack: boolean, depth: number, seen: Set<object>): unknown {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "function") return undefined; // JSON drops it; never print source code
  if (typeof value !== "object" || value === null) return value;
  if (seen.has(value)) return "[Circular]";
  if (depth >= MAX_DEPTH) return "[Truncated]";
  if (value instanceof Error) {
    const { name, message, stack } = value;
    return withStack && stack ? { name, message, stack } : { name, message };
  }
  if (ArrayBuffer.isView(value)) return `[${value.constructor.name} ${value.byteLength} bytes]`;
  seen.add(value); // ancestors only: the same object twice side by side is not a cycle
  try {
    const next = (v: unknown) => toPlain(v, withStack, depth + 1, seen);
    if (Array.isArray(value)) return value.map(next);
    if (value instanceof Set) return [...value].map(next);
    if (typeof (value as { toJSON?: unknown }).toJSON === "function") {
      return next((value as { toJSON(): unknown }).toJSON()); // Date, URL, Temporal, …
    }
    const entries = value instanceof Map ? [...value].map(([k, v]) => [String(k), v]) : null;
    const out: Record<string, unknown> = {};
    for (const [key, v] of entries ?? Object.entries(value)) {
      out[key] = SECRET_KEY.test(key) ? "[redacted]" : next(v);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}
