/**
 * The layering of the code base, checked over the import statements of its files:
 *
 * - `runtime/` imports nothing from `actors/`, `routes/` or `node/`, nor the HTTP framework;
 * - `actors/` does not import `routes/`;
 * - inside `actors/`, an area (`devices/`, `payments/`, `sessions/`, `alerts/`) imports only its
 *   own files, `actors/shared/` and the cross-area messages of `actors/contracts.ts`; `shared/`
 *   imports only itself (it knows no area);
 * - no file of the project takes part in an import cycle (type-only imports count: a cycle of
 *   types is still two files that cannot be understood one without the other);
 * - no source file of `actors/` or `routes/` is over {@link MAX_LINES} lines.
 */
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "./helpers/assert.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The project's code, where present: every `.ts` file below these, and these files. */
const CODE = ["main.ts", "runtime", "actors", "routes", "node", "tools", "bench"];

/** The areas of the domain: folders of `actors/` that must not import one another. */
const AREAS = ["devices", "payments", "sessions", "alerts", "sites"];

/** Longest source file allowed in `actors/` and `routes/`. */
const MAX_LINES = 600;

/** Every import specifier of a TypeScript file (static, type-only, re-exports and dynamic). */
export function importsOf(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\s+from\s+)?["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of source.matchAll(pattern)) found.push(match[1]!);
  }
  return found;
}

/** A module graph: each file (path from the root, `/`-separated) to the files it imports. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

/**
 * Every import cycle of a graph, one per strongly connected component: the component's first
 * file (by name), then the shortest way back to it, e.g. `["a.ts", "b.ts", "a.ts"]`. A file
 * importing itself is a cycle of one edge.
 */
export function findCycles(graph: ImportGraph): string[][] {
  // Tarjan's algorithm, iterative (a deep chain of imports must not overflow the stack).
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;
  const edges = (n: string) => (graph.get(n) ?? []).filter((m) => graph.has(m));
  for (const start of [...graph.keys()].sort()) {
    if (index.has(start)) continue;
    const work: { node: string; i: number }[] = [{ node: start, i: 0 }];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const out = edges(frame.node);
      if (frame.i < out.length) {
        const m = out[frame.i++]!;
        if (!index.has(m)) {
          index.set(m, next);
          low.set(m, next++);
          stack.push(m);
          onStack.add(m);
          work.push({ node: m, i: 0 });
        } else if (onStack.has(m)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(m)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) {
        low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let m: string;
        do {
          m = stack.pop()!;
          onStack.delete(m);
          component.push(m);
        } while (m !== frame.node);
        const cyclic = component.length > 1 || edges(frame.node).includes(frame.node);
        if (cyclic) components.push(component.sort());
      }
    }
  }
  return components.map((component) => shortestCycle(component[0]!, new Set(component), edges))
    .sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
}

/** The shortest path from `start` back to itself within `members` (breadth first). */
function shortestCycle(
  start: string,
  members: ReadonlySet<string>,
  edges: (n: string) => string[],
): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const n = queue[head]!;
    for (const m of edges(n)) {
      if (!members.has(m)) continue;
      if (m === start) {
        const path = [start];
        for (let at = n; at !== start; at = previous.get(at)!) path.push(at);
        return [start, ...path.slice(1).reverse(), start];
      }
      if (!previous.has(m)) {
        previous.set(m, n);
        queue.push(m);
      }
    }
  }
  return [start]; // not reached: every member of a cyclic component lies on a cycle
}

async function* tsFiles(path: string): AsyncGenerator<string> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  if (info.isFile) {
    if (path.endsWith(".ts")) yield path;
    return;
  }
  for await (const entry of Deno.readDir(path)) yield* tsFiles(join(path, entry.name));
}

/** A path relative to the root, `/`-separated. */
function fromRoot(path: string): string {
  return relative(ROOT, path).split(sep).join("/");
}

/** The project's files and, for each, its relative imports resolved to paths from the root. */
async function projectGraph(roots: readonly string[]): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  for (const root of roots) {
    for await (const file of tsFiles(join(ROOT, root))) {
      const specs = importsOf(await Deno.readTextFile(file)).filter((s) => s.startsWith("."));
      graph.set(fromRoot(file), specs.map((s) => fromRoot(resolve(dirname(file), s))));
    }
  }
  return graph;
}

/** `file imports spec` for each import of the files below `dir` for which `bad` holds. */
async function offendingImports(
  dir: string,
  bad: (file: string, target: string, spec: string) => boolean,
): Promise<{ files: number; offenders: string[] }> {
  const offenders: string[] = [];
  let files = 0;
  for await (const path of tsFiles(join(ROOT, dir))) {
    files++;
    const file = fromRoot(path);
    for (const spec of importsOf(await Deno.readTextFile(path))) {
      const target = spec.startsWith(".") ? fromRoot(resolve(dirname(path), spec)) : spec;
      if (bad(file, target, spec)) offenders.push(`${file} imports ${spec}`);
    }
  }
  return { files, offenders };
}

Deno.test("importsOf finds static, type-only, re-export and dynamic imports", () => {
  const source = [
    'import { a } from "../actors/x.ts";',
    'import type { B } from "./b.ts";',
    'export { c } from "../routes/c.ts";',
    'export * from "./d.ts";',
    'const e = await import("./e.ts");',
    "import {\n  f,\n  g,\n} from 'hono';",
  ].join("\n");
  assertEquals(importsOf(source).sort(), [
    "../actors/x.ts",
    "../routes/c.ts",
    "./b.ts",
    "./d.ts",
    "./e.ts",
    "hono",
  ]);
});

Deno.test("findCycles reports each cycle as a path, and nothing for a graph without one", () => {
  const graph = new Map([
    ["a.ts", ["b.ts", "x.ts"]],
    ["b.ts", ["c.ts"]],
    ["c.ts", ["a.ts", "d.ts"]],
    ["d.ts", []],
    ["e.ts", ["e.ts"]],
    ["f.ts", ["g.ts", "npm:zod"]],
    ["g.ts", ["f.ts"]],
    ["h.ts", ["a.ts", "d.ts"]],
  ]);
  assertEquals(findCycles(graph), [
    ["a.ts", "b.ts", "c.ts", "a.ts"],
    ["e.ts", "e.ts"],
    ["f.ts", "g.ts", "f.ts"],
  ]);
  // The shortest way round: a.ts → c.ts → a.ts, not the long loop through b.ts.
  assertEquals(
    findCycles(new Map([["a.ts", ["b.ts", "c.ts"]], ["b.ts", ["c.ts"]], ["c.ts", ["a.ts"]]])),
    [["a.ts", "c.ts", "a.ts"]],
  );
  assertEquals(findCycles(new Map([["a.ts", ["b.ts"]], ["b.ts", ["c.ts"]], ["c.ts", []]])), []);
});

Deno.test("no import cycles in the project's code", async () => {
  const graph = await projectGraph(CODE);
  assert(graph.size > 100, `found the project's files (${graph.size})`);
  assert(graph.has("actors/mod.ts") && graph.has("runtime/mod.ts"), "actors/ and runtime/ read");
  assertEquals(findCycles(graph).map((cycle) => cycle.join(" → ")), []);
});

Deno.test("runtime/ imports nothing from actors/, routes/ or node/, nor the HTTP framework", async () => {
  const { files, offenders } = await offendingImports(
    "runtime",
    (_file, target, spec) =>
      /^(actors|routes|node)\//.test(target) || spec === "hono" || spec.startsWith("hono/"),
  );
  assert(files > 10, `found the runtime's files (${files})`);
  assertEquals(offenders, []);
});

Deno.test("runtime/ has no import cycle (type-only imports included)", async () => {
  const graph = new Map<string, string[]>();
  for await (const file of tsFiles(join(ROOT, "runtime"))) {
    const local = importsOf(await Deno.readTextFile(file)).filter((s) => s.startsWith("."));
    graph.set(file, local.map((spec) => resolve(dirname(file), spec)));
  }
  // Depth-first search; a file met again while still on the path closes a cycle.
  const done = new Set<string>();
  const path: string[] = [];
  const cycles: string[] = [];
  const visit = (file: string) => {
    if (done.has(file) || !graph.has(file)) return;
    const at = path.indexOf(file);
    if (at >= 0) {
      cycles.push([...path.slice(at), file].map((f) => relative(ROOT, f)).join(" → "));
      return;
    }
    path.push(file);
    for (const next of graph.get(file)!) visit(next);
    path.pop();
    done.add(file);
  };
  for (const file of graph.keys()) visit(file);
  assert(graph.size > 30, `found the runtime's files (${graph.size})`);
  assertEquals(cycles, []);
});

Deno.test("actors/ does not import routes/", async () => {
  const { files, offenders } = await offendingImports(
    "actors",
    (_file, target) => target.startsWith("routes/"),
  );
  assert(files > 50, `found the actors' files (${files})`);
  assertEquals(offenders, []);
});

Deno.test("an area of actors/ imports only itself, actors/shared/ and actors/contracts.ts", async () => {
  const areaOf = (path: string): string | null => {
    const m = /^actors\/([^/]+)\//.exec(path);
    return m === null ? null : m[1]!;
  };
  const { offenders } = await offendingImports("actors", (file, target) => {
    const from = areaOf(file);
    if (from === null || !target.startsWith("actors/")) return false; // actors/mod.ts, npm, runtime
    const to = areaOf(target);
    if (from === "shared") return to !== "shared";
    return to !== from && to !== "shared" && target !== "actors/contracts.ts";
  });
  assertEquals(offenders, []);
  for (const area of [...AREAS, "shared"]) {
    const stat = await Deno.stat(join(ROOT, "actors", area, "mod.ts"));
    assert(stat.isFile, `actors/${area}/mod.ts exists`);
  }
});

Deno.test(`no source file of actors/ or routes/ is over ${MAX_LINES} lines`, async () => {
  const long: string[] = [];
  for (const dir of ["actors", "routes"]) {
    for await (const path of tsFiles(join(ROOT, dir))) {
      const file = fromRoot(path);
      if (file.startsWith("routes/dashboard/")) continue; // the dashboard's own files
      const lines = (await Deno.readTextFile(path)).split("\n").length;
      if (lines > MAX_LINES) long.push(`${file}: ${lines} lines`);
    }
  }
  assertEquals(long, []);
});
