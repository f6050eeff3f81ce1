import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "./helpers/assert.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

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

async function* tsFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* tsFiles(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
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

Deno.test("runtime/ imports nothing from actors/ or routes/, nor the HTTP framework", async () => {
  const offenders: string[] = [];
  let files = 0;
  for await (const file of tsFiles(join(ROOT, "runtime"))) {
    files++;
    for (const spec of importsOf(await Deno.readTextFile(file))) {
      const where = spec.startsWith(".") ? relative(ROOT, resolve(dirname(file), spec)) : spec;
      if (/^(actors|routes)\//.test(where) || spec === "hono" || spec.startsWith("hono/")) {
        offenders.push(`${relative(ROOT, file)} imports ${spec}`);
      }
    }
  }
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
  const offenders: string[] = [];
  for await (const file of tsFiles(join(ROOT, "actors"))) {
    for (const spec of importsOf(await Deno.readTextFile(file))) {
      const where = spec.startsWith(".") ? relative(ROOT, resolve(dirname(file), spec)) : spec;
      if (where.startsWith("routes/")) offenders.push(`${relative(ROOT, file)} imports ${spec}`);
    }
  }
  assertEquals(offenders, []);
});
