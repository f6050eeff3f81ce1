/**
 * Redis `MONITOR` on a connection of its own: every command the server runs, with its time,
 * the client's address, and — for a script call — the commands the script ran (Redis lists
 * them as client `lua` right after the call). Kept compact (command, keys, no values), so a
 * busy server can be watched for a few seconds.
 *
 * @module
 */

/** A write command a script ran. */
export interface ScriptWrite {
  /** Upper case, as Redis shows it: `SET`, `APPEND`, `RPUSH`, `DEL`, … */
  readonly command: string;
  readonly key: string;
  /** A `SET … GET` (swap in, read the old value: the first half of a checked put). */
  readonly get: boolean;
}

/** A command a client sent. */
export interface MonitoredCall {
  /** Server time, epoch ms (with microseconds). */
  readonly ts: number;
  /** The client's `ip:port`. */
  readonly addr: string;
  /** Lower case: `evalsha`, `mget`, `set`, … */
  readonly command: string;
  /** The keys: of a script call its `KEYS`, of another command its first argument. */
  readonly keys: string[];
  /** What a script call wrote, in order. */
  readonly writes: ScriptWrite[];
}

const SCRIPT_CALLS = new Set(["eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"]);

/** Commands that change a key (the first argument), as scripts or clients may send them. */
export const WRITE_COMMANDS = new Set([
  "set",
  "setex",
  "psetex",
  "setnx",
  "setrange",
  "getset",
  "getdel",
  "append",
  "incr",
  "incrby",
  "decr",
  "decrby",
  "del",
  "unlink",
  "rpush",
  "lpush",
  "lset",
  "ltrim",
  "lpop",
  "rpop",
  "zadd",
  "zrem",
  "hset",
  "hdel",
  "expire",
  "pexpire",
  "rename",
]);

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const decoder = new TextDecoder();

/** Reads the quoted token at `pos` (Redis's escaping); `keep: false` only skips it. */
function token(line: Uint8Array, pos: number, keep: boolean): { value: string; end: number } {
  if (line[pos] !== QUOTE) return { value: "", end: line.length };
  const bytes: number[] = [];
  let i = pos + 1;
  while (i < line.length && line[i] !== QUOTE) {
    let b = line[i]!;
    if (b === BACKSLASH) {
      const next = line[i + 1]!;
      i += 2;
      if (next === 0x78 /* x */) {
        b = parseInt(String.fromCharCode(line[i]!, line[i + 1]!), 16);
        i += 2;
      } else {
        b = ({ 0x6e: 10, 0x72: 13, 0x74: 9, 0x61: 7, 0x62: 8 } as Record<number, number>)[next] ??
          next;
      }
    } else {
      i++;
    }
    if (keep) bytes.push(b);
  }
  return { value: keep ? decoder.decode(new Uint8Array(bytes)) : "", end: i + 2 };
}

/** Parses one MONITOR line (without its line end) into its parts, or null. */
export function parseMonitorLine(
  line: Uint8Array,
): { ts: number; addr: string; tokens: (n: number) => string[]; lastIsGet: boolean } | null {
  if (line[0] !== 0x2b /* + */) return null;
  const close = line.indexOf(0x5d /* ] */);
  if (close < 0) return null;
  const header = decoder.decode(line.subarray(1, close));
  const match = /^(\d+)\.(\d+) \[\d+ (.*)$/.exec(header);
  if (match === null) return null;
  const ts = Number(match[1]) * 1000 + Number(match[2]) / 1000;
  const tail = ` "GET"`;
  let lastIsGet = line.length > close + tail.length;
  for (let k = 0; lastIsGet && k < tail.length; k++) {
    if (line[line.length - tail.length + k] !== tail.charCodeAt(k)) lastIsGet = false;
  }
  return {
    ts,
    addr: match[3]!,
    lastIsGet,
    tokens(n) {
      const out: string[] = [];
      let pos = close + 2;
      for (let k = 0; k < n && pos < line.length; k++) {
        const t = token(line, pos, true);
        out.push(t.value);
        pos = t.end;
      }
      return out;
    },
  };
}

/** A client's script call or write command with its keys; null for any other command. */
function callOf(parsed: NonNullable<ReturnType<typeof parseMonitorLine>>): MonitoredCall | null {
  const [command = ""] = parsed.tokens(1).map((c) => c.toLowerCase());
  let keys: string[];
  if (SCRIPT_CALLS.has(command)) {
    const count = Number(parsed.tokens(3)[2]);
    keys = Number.isInteger(count) && count > 0 ? parsed.tokens(3 + count).slice(3) : [];
  } else if (WRITE_COMMANDS.has(command)) {
    keys = parsed.tokens(2).slice(1);
  } else {
    return null;
  }
  return { ts: parsed.ts, addr: parsed.addr, command, keys, writes: [] };
}

/** A MONITOR session; see the module documentation. */
export class RedisMonitor {
  /** Script calls and write commands of clients from `from` on, in server order. */
  readonly calls: MonitoredCall[] = [];
  #conn: Deno.TcpConn;
  #reading: Promise<void>;
  #from = 0;
  #latest = 0;
  #closed = false;

  private constructor(conn: Deno.TcpConn, from: number) {
    this.#conn = conn;
    this.#from = from;
    this.#reading = this.#read();
  }

  /** Connects to the Redis on `port` of 127.0.0.1 and starts monitoring; keeps commands from `from` (epoch ms) on. */
  static async start(port: number, from = 0): Promise<RedisMonitor> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode("MONITOR\r\n"));
    return new RedisMonitor(conn, from);
  }

  /** Server time of the newest line read, epoch ms. */
  get latest(): number {
    return this.#latest;
  }

  /**
   * Resolves once a line stamped `ts` or later has been read (everything up to then is in
   * {@link calls}); fails after `timeoutMs`.
   */
  async reach(ts: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#latest < ts) {
      if (this.#closed) throw new Error("the MONITOR connection closed");
      if (Date.now() > deadline) {
        throw new Error(`MONITOR did not reach ${ts} within ${timeoutMs} ms (at ${this.#latest})`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#conn.close();
      } catch { /* closed already */ }
    }
    await this.#reading.catch(() => {});
  }

  async #read(): Promise<void> {
    let pending: Uint8Array = new Uint8Array(0);
    let current: MonitoredCall | null = null;
    try {
      for await (const chunk of this.#conn.readable) {
        const data: Uint8Array = pending.length === 0 ? chunk : concat(pending, chunk);
        let start = 0;
        for (let nl = data.indexOf(10, start); nl >= 0; nl = data.indexOf(10, start)) {
          const end = nl > start && data[nl - 1] === 13 ? nl - 1 : nl;
          current = this.#line(data.subarray(start, end), current);
          start = nl + 1;
        }
        pending = data.slice(start);
      }
    } catch {
      // Closed.
    } finally {
      this.#closed = true;
    }
  }

  #line(line: Uint8Array, current: MonitoredCall | null): MonitoredCall | null {
    const parsed = parseMonitorLine(line);
    if (parsed === null) return current;
    this.#latest = parsed.ts;
    if (parsed.addr === "lua") {
      if (current !== null) {
        const [command = "", key = ""] = parsed.tokens(2);
        if (WRITE_COMMANDS.has(command.toLowerCase())) {
          current.writes.push({ command: command.toUpperCase(), key, get: parsed.lastIsGet });
        }
      }
      return current;
    }
    if (parsed.ts < this.#from) return null;
    const call = callOf(parsed);
    if (call !== null) this.calls.push(call);
    return call;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
