/**
 * Runs the shell commands of a Markdown document as a reader would paste them, so a document
 * whose commands stop working fails a test.
 *
 * - A block to run is a fenced `sh` block right after an HTML comment naming it:
 *   `<!-- readme-test: client -->` ({@link markedBlocks}).
 * - A block is split into commands ({@link commandsOf}): a line ending in `\` continues on the
 *   next; a comment line `# → <output>` is what the command before it prints (`…` at its end:
 *   the output starts with the rest); other comments are skipped.
 * - Everything runs in a {@link sandbox}: a temporary directory holding symbolic links to the
 *   repository's files, so relative paths work and `.data/` is the test's own.
 * - A long-running command (a server, a node) runs in a {@link Terminal}: a session of its own,
 *   stopped as Ctrl-C stops it, by a signal to its whole process group.
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { assert } from "./assert.ts";

/** The repository's root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** A command of a block, with the output the document says it prints. */
export interface DocCommand {
  readonly text: string;
  /** From a `# → …` line after it; `null` when the document shows none. */
  readonly expect: string | null;
}

/**
 * The fenced `sh` blocks marked `<!-- <prefix>: <name> -->`, by name (a name may mark several
 * blocks; their text is joined).
 */
export function markedBlocks(markdown: string, prefix: string): Map<string, string> {
  const found = new Map<string, string>();
  const marker = new RegExp(`<!-- ${prefix}: ([a-z-]+) -->\\s*\`\`\`sh\\n([\\s\\S]*?)\`\`\``, "g");
  for (const [, name, body] of markdown.matchAll(marker)) {
    found.set(name!, (found.get(name!) ?? "") + body);
  }
  return found;
}

/** The commands of a block: continuation lines joined, comments dropped or taken as output. */
export function commandsOf(block: string): DocCommand[] {
  const commands: { text: string; expect: string | null }[] = [];
  let pending = "";
  for (const line of block.split("\n")) {
    const output = /^# → (.*)$/.exec(line);
    if (output !== null) {
      const last = commands.at(-1);
      assert(last !== undefined && last.expect === null, `stray output line: ${line}`);
      last.expect = output[1]!;
      continue;
    }
    if (pending === "" && (line.trim() === "" || line.trimStart().startsWith("#"))) continue;
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1);
      continue;
    }
    commands.push({ text: pending + line, expect: null });
    pending = "";
  }
  assert(pending === "", `a block ends in a continuation: ${pending}`);
  return commands;
}

/** Whether `output` is what `expect` (a `# → ` line) says. */
export function matchesExpected(output: string, expect: string): boolean {
  const text = output.trim();
  return expect.endsWith("…") ? text.startsWith(expect.slice(0, -1)) : text === expect;
}

/** Every top-level entry the sandbox does not link: the repository's own state. */
const NOT_LINKED = new Set([".data", ".git", ".env", ".scratch", "test-artifacts"]);

/** A temporary copy of the repository's root, made of symbolic links; `.data/` is empty. */
export async function sandbox(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "flotilla-doc-" });
  for await (const entry of Deno.readDir(ROOT)) {
    if (!NOT_LINKED.has(entry.name)) {
      await Deno.symlink(join(ROOT, entry.name), join(dir, entry.name));
    }
  }
  return { dir, remove: () => Deno.remove(dir, { recursive: true }) };
}

/**
 * The environment a reader's shell would have: this process's, without the variables a node or
 * the servers read (a test runner may have set some), plus `extra`.
 */
export function readerEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env = Deno.env.toObject();
  for (const name of Object.keys(env)) {
    if (/^(FLOTILLA_|NATS_URL$|REDIS_URL$|REDIS_PORT$|PORT$|HOST$)/.test(name)) delete env[name];
  }
  return { ...env, ...extra };
}

/** What a command printed (stdout and stderr together) and its exit code. */
export interface Ran {
  readonly code: number;
  readonly output: string;
}

/**
 * `bash -c script` in `cwd` with exactly `env`, stdout and stderr merged on stdout; in a session
 * of its own (its own process group) when `session` is set.
 */
function bash(script: string, cwd: string, env: Record<string, string>, session = false) {
  const args = ["bash", "-c", `exec 2>&1\n${script}`];
  return new Deno.Command(session ? "setsid" : "bash", {
    args: session ? args : args.slice(1),
    cwd,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  });
}

/** Runs `script` with bash in `cwd`, stdout and stderr merged. */
export async function runBash(script: string, cwd: string, env: Record<string, string>) {
  const { code, stdout } = await bash(script, cwd, env).output();
  return { code, output: new TextDecoder().decode(stdout) };
}

/**
 * Runs `command` after `prelude` (the reader's earlier `export` and `.` lines), checks its exit
 * code and, when the document shows one, its output. A read (`curl` without `-X`) is tried
 * again for up to `retryMs` until its output matches: what it reads may still be on its way.
 */
export async function runChecked(
  command: DocCommand,
  prelude: readonly string[],
  cwd: string,
  env: Record<string, string>,
  retryMs = 15_000,
): Promise<Ran> {
  const isRead = /^curl /.test(command.text) && !/ -X /.test(command.text);
  const deadline = Date.now() + retryMs;
  for (;;) {
    const ran = await runBash([...prelude, command.text].join("\n"), cwd, env);
    const ok = ran.code === 0 &&
      (command.expect === null || matchesExpected(ran.output, command.expect));
    if (ok || !isRead || Date.now() > deadline) {
      assert(ran.code === 0, `\`${command.text}\` exited ${ran.code}:\n${ran.output}`);
      assert(
        command.expect === null || matchesExpected(ran.output, command.expect),
        `\`${command.text}\` printed\n${ran.output}\nbut the document shows\n${command.expect}`,
      );
      return ran;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Whether a command sets up the reader's shell for the next ones (`export`, `.`). */
export function isShellSetup(text: string): boolean {
  return /^(export |\. )/.test(text);
}

/**
 * Runs a block's commands one after the other as a reader pastes them into one terminal: each
 * after the earlier `export` and `.` lines, rewritten by `rewrite` (ports), checked by
 * {@link runChecked}; `check` looks at each one's output too.
 * @returns how many commands ran
 */
export async function runBlock(
  block: string,
  cwd: string,
  env: Record<string, string>,
  rewrite: (text: string) => string,
  check: (text: string, ran: Ran) => void = () => {},
): Promise<number> {
  const prelude: string[] = [];
  let ran = 0;
  for (const command of commandsOf(block)) {
    const text = rewrite(command.text);
    check(text, await runChecked({ ...command, text }, prelude, cwd, env));
    if (isShellSetup(text)) prelude.push(text);
    ran++;
  }
  return ran;
}

const running = new Set<Terminal>();
globalThis.addEventListener("unload", () => {
  for (const terminal of running) terminal.kill();
});

/** A long-running command in a terminal of its own (a new session and process group). */
export class Terminal {
  readonly #child: Deno.ChildProcess;
  #output = "";
  readonly #done: Promise<number>;
  #waiters: { test: (output: string) => boolean; resolve: () => void }[] = [];

  constructor(readonly command: string, cwd: string, env: Record<string, string>) {
    const child = bash(command, cwd, env, true).spawn();
    this.#child = child;
    running.add(this);
    const read = (async () => {
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        this.#output += chunk;
        this.#waiters = this.#waiters.filter((w) => !(w.test(this.#output) && (w.resolve(), true)));
      }
    })();
    this.#done = (async () => {
      const { code } = await child.status;
      await read;
      running.delete(this);
      for (const w of this.#waiters) w.resolve();
      return code;
    })();
  }

  /** Everything printed so far. */
  get output(): string {
    return this.#output;
  }

  /** Resolves once the output passes `test`; fails when the command exits or after `ms`. */
  async waitFor(what: string, test: (output: string) => boolean, ms = 60_000): Promise<void> {
    if (!test(this.#output)) {
      const { promise, resolve } = Promise.withResolvers<void>();
      this.#waiters.push({ test, resolve });
      const timer = setTimeout(resolve, ms);
      await Promise.race([promise, this.#done]);
      clearTimeout(timer);
    }
    assert(test(this.#output), `\`${this.command}\`: no ${what}; it printed:\n${this.#output}`);
  }

  /** Sends `signal` to the terminal's process group, as Ctrl-C does; resolves with the code. */
  async stop(signal: Deno.Signal = "SIGINT", ms = 30_000): Promise<number> {
    try {
      Deno.kill(-this.#child.pid, signal);
    } catch { /* already gone */ }
    const timer = setTimeout(() => this.kill(), ms);
    const code = await this.#done;
    clearTimeout(timer);
    return code;
  }

  /** Kills the whole process group at once. */
  kill(): void {
    try {
      Deno.kill(-this.#child.pid, "SIGKILL");
    } catch { /* already gone */ }
  }
}

/** The JSON log lines of a node's output. */
export function logLines(output: string): Record<string, unknown>[] {
  return output.split("\n").filter((l) => l.startsWith("{")).map((l) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      return {};
    }
  });
}

/** Resolves a path of the repository. */
export function repoPath(path: string): string {
  return join(ROOT, path);
}

/**
 * Stops a node's terminal as Ctrl-C does and checks it stopped once and flushed its state. The
 * node then exits 0; `npx`, which gets the Ctrl-C too, may report it as its own end (130).
 */
export async function assertStoppedCleanly(terminal: Terminal): Promise<void> {
  const code = await terminal.stop("SIGINT");
  assert(code === 0 || code === 130, `\`${terminal.command}\` exited ${code}`);
  for (const msg of ["signal received", "stopped; all state flushed"]) {
    const n = logLines(terminal.output).filter((l) => l.msg === msg).length;
    assert(n === 1, `"${msg}" ${n} times:\n${terminal.output}`);
  }
}
