/**
 * Code examples of the documentation, taken out of the Markdown so that tests run them exactly
 * as written: an example is the fenced code block after a `<!-- example: <name> -->` comment.
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The code of example `name` in `doc` (a path from the root). @throws when there is none */
export function docExample(doc: string, name: string): string {
  const text = Deno.readTextFileSync(join(ROOT, doc));
  const marker = `<!-- example: ${name} -->`;
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`${doc} has no example "${name}"`);
  const block = /```[a-z]*\n([\s\S]*?)\n```/.exec(text.slice(at + marker.length));
  if (block === null) throw new Error(`${doc}: no code block after example "${name}"`);
  return block[1]!;
}
