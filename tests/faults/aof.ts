/**
 * Losing the tail of Redis's append-only file, as a machine crash does with
 * `appendfsync everysec` (a killed process loses nothing: its writes are in the page cache).
 *
 * Redis 7 keeps a multi-part AOF in `appendonlydir/`: a manifest, a base file, and the `incr`
 * file new writes are appended to, as RESP commands (a script's effects wrapped in
 * `MULTI … EXEC`). The tail is cut at a command boundary outside any transaction, so Redis
 * loads the rest as a consistent, older state.
 *
 * @module
 */

/** The path of the `incr` file new writes go to, from the manifest in `aofDir`. */
export async function incrFile(aofDir: string): Promise<string> {
  const manifest = await Deno.readTextFile(`${aofDir}/appendonly.aof.manifest`);
  const names = manifest.split("\n").map((line) => /^file (\S+) seq \d+ type i$/.exec(line.trim()))
    .filter((m) => m !== null).map((m) => m![1]!);
  const name = names.at(-1);
  if (name === undefined) throw new Error(`no incr file in ${aofDir}:\n${manifest}`);
  return `${aofDir}/${name}`;
}

/** One RESP command of an AOF: its arguments and where it ends. */
export interface AofCommand {
  readonly args: string[];
  /** Byte offset just past it. */
  readonly end: number;
  /** Outside any `MULTI … EXEC`, once it has run. */
  readonly atBoundary: boolean;
}

const decoder = new TextDecoder();

/** Parses the complete RESP commands of `bytes` (a trailing partial one is left out). */
export function parseAof(bytes: Uint8Array): AofCommand[] {
  const out: AofCommand[] = [];
  let pos = 0;
  let depth = 0;
  const line = (): string | null => {
    const cr = bytes.indexOf(13, pos);
    if (cr < 0 || bytes[cr + 1] !== 10) return null;
    const text = decoder.decode(bytes.subarray(pos, cr));
    pos = cr + 2;
    return text;
  };
  for (;;) {
    const start = pos;
    const head = line();
    if (head === null || !head.startsWith("*")) break;
    const args: string[] = [];
    const count = Number(head.slice(1));
    let complete = true;
    for (let i = 0; i < count; i++) {
      const size = line();
      if (size === null || !size.startsWith("$")) {
        complete = false;
        break;
      }
      const length = Number(size.slice(1));
      if (pos + length + 2 > bytes.length) {
        complete = false;
        break;
      }
      args.push(decoder.decode(bytes.subarray(pos, pos + length)));
      pos += length + 2;
    }
    if (!complete) {
      pos = start;
      break;
    }
    const name = args[0]?.toUpperCase();
    if (name === "MULTI") depth++;
    if (name === "EXEC" && depth > 0) depth--;
    out.push({ args, end: pos, atBoundary: depth === 0 });
  }
  return out;
}

/** What {@link truncateAof} cut. */
export interface AofCut {
  /** Bytes kept. */
  readonly kept: number;
  /** Bytes removed. */
  readonly removed: number;
  /** The commands removed. */
  readonly lost: string[][];
}

/**
 * Cuts `path` back to its last command boundary at or before `size` bytes; the commands after
 * it are lost, as if never written.
 */
export async function truncateAof(path: string, size: number): Promise<AofCut> {
  const bytes = await Deno.readFile(path);
  const commands = parseAof(bytes);
  let keep = 0;
  for (const command of commands) {
    if (command.end > size) break;
    if (command.atBoundary) keep = command.end;
  }
  const lost = commands.filter((c) => c.end > keep).map((c) => c.args);
  await Deno.truncate(path, keep);
  return { kept: keep, removed: bytes.length - keep, lost };
}

/** Samples the size of the `incr` file over time, to find how big it was a moment ago. */
export class AofSizes {
  readonly #samples: { at: number; size: number }[] = [];
  readonly #path: string;
  #timer: ReturnType<typeof setInterval>;

  private constructor(path: string, everyMs: number) {
    this.#path = path;
    this.#timer = setInterval(() => this.#sample(), everyMs);
  }

  /** Starts sampling the incr file of `aofDir` every `everyMs`. */
  static async start(aofDir: string, everyMs = 20): Promise<AofSizes> {
    return new AofSizes(await incrFile(aofDir), everyMs);
  }

  get path(): string {
    return this.#path;
  }

  /** The size sampled last at or before `at` (epoch ms); 0 before the first sample. */
  sizeAt(at: number): number {
    return this.sampleAt(at).size;
  }

  /** The sample taken last at or before `at`: when, and the size then. */
  sampleAt(at: number): { at: number; size: number } {
    let sample = { at: 0, size: 0 };
    for (const s of this.#samples) {
      if (s.at > at) break;
      sample = s;
    }
    return sample;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #sample(): void {
    try {
      this.#samples.push({ at: Date.now(), size: Deno.statSync(this.#path).size });
    } catch { /* not there yet */ }
  }
}
