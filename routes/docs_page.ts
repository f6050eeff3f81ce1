/**
 * The API reference page (`GET /docs`): the OpenAPI document rendered as one self-contained HTML
 * page — operations grouped by tag, with their parameters, body schema, example and responses.
 * Rendered on the server; no script, no font, nothing fetched from elsewhere (nodes run offline).
 *
 * @module
 */
import type {
  JsonSchema,
  OpenApiDocument,
  OpenApiOperation,
  OpenApiParameter,
  OpenApiResponse,
} from "./openapi.ts";

/** Renders `doc` as a complete HTML page. */
export function renderDocsPage(doc: OpenApiDocument): string {
  const byTag = new Map<string, [string, string, OpenApiOperation][]>();
  for (const tag of doc.tags) byTag.set(tag.name, []);
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = op.tags[0] ?? "other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push([method, path, op]);
    }
  }
  const describe = new Map(doc.tags.map((t) => [t.name, t.description]));

  const nav = [...byTag].map(([tag, ops]) =>
    `<li><a class="tag" href="#tag-${attr(tag)}">${esc(tag)}</a><ul>${
      ops.map(([method, path, op]) =>
        `<li><a href="#${attr(op.operationId)}">${badge(method)}<span class="path">${
          esc(path)
        }</span></a></li>`
      ).join("")
    }</ul></li>`
  ).join("");

  const sections = [...byTag].map(([tag, ops]) =>
    `<section id="tag-${attr(tag)}"><h2>${esc(tag)}</h2>${
      describe.has(tag) ? `<p class="lead">${prose(describe.get(tag)!)}</p>` : ""
    }${ops.map(([method, path, op]) => operation(method, path, op)).join("")}</section>`
  ).join("");

  const problem = doc.components.schemas.Problem;
  const schemes = Object.entries(doc.components.securitySchemes).map(([name, s]) =>
    `<dt><code>${esc(name)}</code></dt><dd>${prose(s.description ?? "")}</dd>`
  ).join("");

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.info.title)} API reference</title>
<style>${CSS}</style>
</head>
<body>
<nav><div class="brand">${esc(doc.info.title)} <small>API</small></div><ul>${nav}</ul></nav>
<main>
<header>
<h1>${esc(doc.info.title)} API reference</h1>
<p class="meta">version ${esc(doc.info.version)} · OpenAPI ${
    esc(doc.openapi)
  } · <a href="/openapi.json">openapi.json</a></p>
${doc.info.description.split("\n\n").map((p) => `<p>${prose(p)}</p>`).join("")}
<div class="cards">
<div class="card" id="problem"><h3>Errors</h3><p>Every error is <code>application/problem+json</code>:</p>${
    problem === undefined ? "" : `<pre class="schema">${schemaText(problem, 0)}</pre>`
  }</div>
<div class="card"><h3>Authentication</h3><dl>${schemes}</dl></div>
</div>
</header>
${sections}
</main>
</body>
</html>
`;
}

function operation(method: string, path: string, op: OpenApiOperation): string {
  const parts: string[] = [];
  parts.push(
    `<h3>${badge(method)}<code class="path">${esc(path)}</code></h3>`,
    `<p class="summary">${prose(op.summary)}</p>`,
  );
  if (op.description !== undefined) parts.push(`<p>${prose(op.description)}</p>`);
  parts.push(`<p class="auth">${authText(op.security)}</p>`);
  if (op.parameters !== undefined && op.parameters.length > 0) {
    parts.push(
      `<h4>Parameters</h4><table><thead><tr><th>name</th><th>in</th><th>schema</th><th>description</th></tr></thead><tbody>${
        op.parameters.map(parameter).join("")
      }</tbody></table>`,
    );
  }
  if (op.requestBody !== undefined) {
    for (const [type, content] of Object.entries(op.requestBody.content)) {
      parts.push(`<h4>Body <span class="type">${esc(type)}</span></h4>`);
      if (content.schema !== undefined) {
        parts.push(`<pre class="schema">${schemaText(content.schema, 0)}</pre>`);
      }
      if (content.example !== undefined) {
        parts.push(
          `<details><summary>Example</summary><pre class="example">${
            esc(JSON.stringify(content.example, null, 2))
          }</pre></details>`,
        );
      }
    }
  }
  parts.push(
    `<h4>Responses</h4><table class="responses"><tbody>${
      Object.entries(op.responses).map(([status, r]) => response(status, r)).join("")
    }</tbody></table>`,
  );
  return `<article class="op" id="${attr(op.operationId)}">${parts.join("\n")}</article>`;
}

function parameter(p: OpenApiParameter): string {
  const list = p.style === "form" && p.explode === true
    ? ' <span class="note">repeat or comma-separate</span>'
    : "";
  const rules = notes(p.schema, false);
  return `<tr><td><code>${esc(p.name)}</code>${
    p.required ? "" : ' <span class="note">optional</span>'
  }</td><td>${esc(p.in)}</td><td><pre class="schema inline">${schemaText(p.schema, 0)}</pre>${
    rules === "" ? "" : `<div class="note">${rules}</div>`
  }</td><td>${prose(p.description ?? "")}${list}</td></tr>`;
}

function response(status: string, r: OpenApiResponse): string {
  const contents = Object.entries(r.content ?? {}).map(([type, content]) => {
    const schema = content.schema === undefined
      ? ""
      : typeof content.schema.$ref === "string"
      ? ` <a href="#problem">${schemaText(content.schema, 0)}</a>`
      : `<details><summary>schema</summary><pre class="schema">${
        schemaText(content.schema, 0)
      }</pre></details>`;
    return `<span class="type">${esc(type)}</span>${schema}`;
  }).join("");
  const tone = status === "default" || Number(status) >= 400 ? "err" : "ok";
  return `<tr><td><span class="status ${tone}">${esc(status)}</span></td><td>${
    prose(r.description)
  }</td><td>${contents}</td></tr>`;
}

function authText(security: OpenApiOperation["security"]): string {
  if (security === undefined || security.length === 0) return "No token needed.";
  const names = security.flatMap((s) => Object.keys(s));
  if (names.includes("accessToken")) {
    return "Needs the API token or the read-only token (<code>Authorization: Bearer</code>, or " +
      "<code>?access_token=</code>).";
  }
  return "Needs the API token (<code>Authorization: Bearer</code>).";
}

function badge(method: string): string {
  return `<span class="method ${attr(method)}">${esc(method.toUpperCase())}</span>`;
}

/**
 * A JSON Schema as a compact, TypeScript-like text with its constraints as comments, in HTML.
 * Handles what `z.toJSONSchema` writes for Flotilla's schemas; anything else shows as `any`.
 */
export function schemaText(schema: JsonSchema, depth: number): string {
  const pad = "  ".repeat(depth);
  if (typeof schema.$ref === "string") {
    return `<span class="ref">${esc(schema.$ref.split("/").at(-1) ?? schema.$ref)}</span>`;
  }
  const union = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(union)) {
    return union.map((s) => schemaText(s, depth)).join(' <span class="bar">|</span> ');
  }
  if (Array.isArray(schema.enum)) {
    return schema.enum.map((v) => `<span class="lit">${esc(JSON.stringify(v))}</span>`).join(
      ' <span class="bar">|</span> ',
    );
  }
  if (schema.const !== undefined) {
    return `<span class="lit">${esc(JSON.stringify(schema.const))}</span>`;
  }
  const type = schema.type;
  if (Array.isArray(type)) {
    return type.map((t) => schemaText({ ...schema, type: t }, depth)).join(
      ' <span class="bar">|</span> ',
    );
  }
  if (type === "object") {
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((schema.required ?? []) as string[]);
    const lines: string[] = [];
    for (const [name, property] of Object.entries(properties)) {
      const note = notes(property);
      lines.push(
        `${pad}  <span class="key">${esc(name)}</span>${required.has(name) ? "" : "?"}: ${
          schemaText(property, depth + 1)
        }${note === "" ? "" : `  <span class="comment">// ${note}</span>`}`,
      );
    }
    const extra = schema.additionalProperties;
    if (typeof extra === "object" && extra !== null) {
      const keys = (schema.propertyNames ?? {}) as JsonSchema;
      const keyNote = notes(keys);
      const valueNote = notes(extra as JsonSchema);
      const note = [keyNote === "" ? "" : `keys: ${keyNote}`, valueNote].filter(Boolean).join("; ");
      lines.push(
        `${pad}  [<span class="key">key</span>: string]: ${
          schemaText(extra as JsonSchema, depth + 1)
        }${note === "" ? "" : `  <span class="comment">// ${note}</span>`}`,
      );
    } else if (extra !== false && Object.keys(properties).length === 0) {
      return '<span class="type">object</span>';
    }
    if (lines.length === 0) return "{}";
    return `{\n${lines.join("\n")}\n${pad}}`;
  }
  if (type === "array") {
    const items = (schema.items ?? {}) as JsonSchema;
    const inner = schemaText(items, depth);
    const simple = !inner.includes("\n") && !inner.includes('class="bar"');
    return simple ? `${inner}[]` : `Array&lt;${inner}&gt;`;
  }
  if (typeof type === "string") return `<span class="type">${esc(type)}</span>`;
  return '<span class="type">any</span>';
}

/** Constraints (and the description) of a schema, in words. */
function notes(schema: JsonSchema, described = true): string {
  const out: string[] = [];
  const range = (lo: unknown, hi: unknown, unit: string) => {
    if (typeof lo === "number" && typeof hi === "number") out.push(`${lo}–${hi}${unit}`);
    else if (typeof lo === "number") out.push(`≥ ${lo}${unit}`);
    else if (typeof hi === "number") out.push(`≤ ${hi}${unit}`);
  };
  range(bound(schema.minimum), bound(schema.maximum), "");
  range(schema.minLength, schema.maxLength, " characters");
  range(schema.minItems, schema.maxItems, " items");
  range(schema.minProperties, schema.maxProperties, " entries");
  if (typeof schema.exclusiveMinimum === "number") out.push(`> ${schema.exclusiveMinimum}`);
  if (typeof schema.exclusiveMaximum === "number") out.push(`< ${schema.exclusiveMaximum}`);
  if (typeof schema.pattern === "string") out.push(`/${schema.pattern}/`);
  if (typeof schema.format === "string") out.push(schema.format);
  if (schema.default !== undefined) out.push(`default ${JSON.stringify(schema.default)}`);
  if (described && typeof schema.description === "string") out.push(schema.description);
  if (schema.type === "array" && typeof schema.items === "object") {
    const inner = notes(schema.items as JsonSchema);
    if (inner !== "") out.push(`each: ${inner}`);
  }
  return esc(out.join("; "));
}

/** `±Number.MAX_SAFE_INTEGER` (zod's bounds of an integer) says nothing a reader needs. */
function bound(value: unknown): unknown {
  return value === Number.MAX_SAFE_INTEGER || value === -Number.MAX_SAFE_INTEGER
    ? undefined
    : value;
}

/** Escaped text with `code` spans. */
function prose(text: string): string {
  return esc(text).replace(/`([^`]+)`/g, "<code>$1</code>");
}

function esc(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

function attr(text: string): string {
  return esc(text.replace(/[^A-Za-z0-9_-]/g, "-"));
}

const CSS = `
:root {
  --bg: #f7f8fa; --panel: #fff; --text: #1d2330; --muted: #5d6779; --line: #e3e6ec;
  --code: #f1f3f7; --accent: #2f6fde; --get: #1f8a5b; --post: #2f6fde; --put: #b26b00;
  --patch: #7a4fd1; --delete: #c23b3b; --ok: #1f8a5b; --err: #b54343;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #12151b; --panel: #1a1f27; --text: #e4e7ed; --muted: #9aa3b2; --line: #2b313c;
    --code: #232a35; --accent: #6ea0ff; --get: #48c08a; --post: #6ea0ff; --put: #e0a243;
    --patch: #b394ff; --delete: #ff7b7b; --ok: #48c08a; --err: #ff8a8a;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0; display: grid; grid-template-columns: 300px 1fr; min-height: 100vh;
  background: var(--bg); color: var(--text);
  font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
}
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre { font-family: ui-monospace, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace; font-size: 13px; }
code { background: var(--code); padding: 1px 5px; border-radius: 4px; }
nav {
  position: sticky; top: 0; height: 100vh; overflow-y: auto; padding: 20px 14px;
  border-right: 1px solid var(--line); background: var(--panel);
}
nav .brand { font-weight: 700; font-size: 18px; margin: 0 6px 14px; }
nav .brand small { color: var(--muted); font-weight: 500; }
nav ul { list-style: none; margin: 0; padding: 0; }
nav a.tag { display: block; margin: 14px 6px 4px; color: var(--muted); font-size: 12px;
  text-transform: uppercase; letter-spacing: .06em; font-weight: 600; }
nav li li a { display: flex; gap: 8px; align-items: baseline; padding: 3px 6px; border-radius: 6px;
  color: var(--text); font-size: 13px; }
nav li li a:hover { background: var(--code); text-decoration: none; }
nav .path { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; overflow-wrap: anywhere; }
main { padding: 28px 40px 80px; max-width: 1100px; }
header h1 { margin: 0 0 4px; font-size: 28px; }
.meta { color: var(--muted); margin-top: 0; }
.cards { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; margin: 20px 0 8px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 4px 18px 14px; }
.card h3 { margin: 14px 0 6px; font-size: 16px; }
dl dt { margin-top: 8px; } dl dd { margin: 2px 0 0 0; color: var(--muted); }
section h2 { margin: 40px 0 4px; font-size: 22px; text-transform: capitalize; }
.lead { color: var(--muted); margin-top: 0; }
.op { background: var(--panel); border: 1px solid var(--line); border-radius: 10px;
  padding: 4px 20px 12px; margin: 16px 0; scroll-margin-top: 16px; }
.op h3 { display: flex; gap: 10px; align-items: center; margin: 14px 0 2px; font-size: 16px; }
.op h3 code.path { background: none; padding: 0; font-size: 15px; overflow-wrap: anywhere; }
.op h4 { margin: 16px 0 6px; font-size: 13px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
.summary { font-weight: 600; margin: 6px 0 2px; }
.auth { color: var(--muted); font-size: 13px; }
.method { display: inline-block; min-width: 52px; text-align: center; padding: 1px 6px; border-radius: 5px;
  color: #fff; font: 700 11px/1.8 ui-monospace, Menlo, Consolas, monospace; }
.method.get { background: var(--get); } .method.post { background: var(--post); }
.method.put { background: var(--put); } .method.patch { background: var(--patch); }
.method.delete { background: var(--delete); }
table { width: 100%; border-collapse: collapse; font-size: 14px; }
th { text-align: left; color: var(--muted); font-weight: 600; font-size: 12px; }
th, td { padding: 6px 8px; border-top: 1px solid var(--line); vertical-align: top; }
pre.schema, pre.example { background: var(--code); padding: 10px 12px; border-radius: 8px; overflow-x: auto; margin: 4px 0; }
pre.inline { background: none; padding: 0; margin: 0; white-space: pre-wrap; }
.key { color: var(--text); font-weight: 600; } .type { color: var(--accent); }
.lit { color: var(--put); } .ref { color: var(--patch); font-weight: 600; }
.comment { color: var(--muted); } .bar { color: var(--muted); }
.note { color: var(--muted); font-size: 12px; }
.status { font: 700 13px ui-monospace, Menlo, Consolas, monospace; }
.status.ok { color: var(--ok); } .status.err { color: var(--err); }
td .type { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
details summary { cursor: pointer; color: var(--muted); font-size: 13px; }
@media (max-width: 900px) {
  body { grid-template-columns: 1fr; } nav { position: static; height: auto; }
  main { padding: 20px; } .cards { grid-template-columns: 1fr; }
}
`;
