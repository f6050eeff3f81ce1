/**
 * The documentation, checked as text: the README stays short and shows the dashboard (picture
 * and address) on its first screen; its configuration table names every variable the node
 * reads; the pages fit in 100 columns; every relative link leads to a file the repository
 * ships; and nothing cites the sections of a specification that does not ship.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { repoPath, ROOT } from "./helpers/doc_commands.ts";

/** The pages this check holds to its rules (another page's owner may hold it to its own). */
const PAGES = [
  "README.md",
  "CONTRIBUTING.md",
  "docs/http-api.md",
  "docs/cluster.md",
  "docs/simulator.md",
];

const read = (path: string) => Deno.readTextFile(repoPath(path));

Deno.test("docs: the README is short and shows the dashboard and its address first", async () => {
  const readme = await read("README.md");
  const bytes = new TextEncoder().encode(readme).length;
  // A third of the 38 KB it once was: the walkthroughs of a cluster and an edge site stay in it.
  assert(bytes <= 12.5 * 1024, `README.md is ${bytes} bytes; move the long parts to docs/`);
  const firstScreen = readme.split("\n").slice(0, 20).join("\n");
  assert(firstScreen.includes("](docs/dashboard.png)"), "the screenshot on the first screen");
  assert(firstScreen.includes("http://127.0.0.1:8080/"), "the dashboard's URL on the first screen");
  const png = await Deno.readFile(repoPath("docs/dashboard.png"));
  assertEquals([...png.subarray(1, 4)].map((b) => String.fromCharCode(b)).join(""), "PNG");
  assert(png.length < 300 * 1024, `docs/dashboard.png is ${png.length} bytes`);
});

Deno.test("docs: the README's configuration tables name every variable node/config.ts reads", async () => {
  const config = await read("node/config.ts");
  const names = new Set<string>();
  for (const m of config.matchAll(/env\.([A-Z][A-Z0-9_]+)|env, "([A-Z][A-Z0-9_]+)"/g)) {
    names.add(m[1] ?? m[2]!);
  }
  // Read through a constant of the payments area.
  if (config.includes("CARD_KEY_ENV")) names.add("FLOTILLA_CARD_KEY");
  assert(names.size >= 15, `found the variables of node/config.ts (${[...names].join(", ")})`);
  const readme = await read("README.md");
  const section = readme.slice(
    readme.indexOf("## Configuration"),
    readme.indexOf("\n## ", readme.indexOf("## Configuration") + 1),
  );
  const documented = new Set([...section.matchAll(/^\| `([A-Z][A-Z0-9_]+)`/gm)].map((m) => m[1]!));
  assertEquals(
    [...names].filter((n) => !documented.has(n)),
    [],
    "variables missing from the table",
  );
});

Deno.test("docs: pages fit in 100 columns, tables and code included", async () => {
  for (const page of PAGES) {
    const long = (await read(page)).split("\n").map((line, i) => [i + 1, [...line].length, line])
      .filter(([, n]) => (n as number) > 100);
    assertEquals(long, [], `${page}: lines over 100 characters`);
  }
});

Deno.test("docs: every relative link leads to a file the repository ships", async () => {
  const pages = [...PAGES, "ARCHITECTURE.md"];
  for await (const entry of Deno.readDir(repoPath("docs"))) {
    if (entry.name.endsWith(".md") && !pages.includes(`docs/${entry.name}`)) {
      pages.push(`docs/${entry.name}`);
    }
  }
  let links = 0;
  for (const page of pages) {
    const dir = page.includes("/") ? page.slice(0, page.lastIndexOf("/") + 1) : "";
    for (const [, target] of (await read(page)).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      const path = new URL(target!, `file:///${dir}`).pathname.slice(1);
      links++;
      const exists = await Deno.stat(repoPath(path)).then(() => true, () => false);
      assert(exists, `${page} links to ${target}, which does not exist`);
    }
  }
  assert(links >= 10, `links were checked (${links})`);
});

Deno.test("docs: nothing cites a document the repository does not ship", async () => {
  const cites: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (
        entry.isDirectory &&
        ![".git", ".data", "node_modules", "test-artifacts"].includes(entry.name)
      ) {
        await walk(path);
      } else if (entry.isFile && /\.(ts|js|md|yml|conf)$/.test(entry.name)) {
        const text = await Deno.readTextFile(path);
        if (/\bSPEC\s*§/.test(text)) cites.push(path.slice(ROOT.length + 1));
      }
    }
  };
  await walk(ROOT);
  assertEquals(cites, [], "files citing a specification's sections: write the rule instead");
});
