/**
 * The live dashboard at `/`, served by the app itself: no build step, no bundler, nothing from
 * a CDN. The page (`dashboard/index.html`) loads `dashboard/main.js` as an ES module, which
 * imports the dashboard's other modules (`dashboard/README.md` maps them). Every `.js`, `.css`
 * and `.svg` file of `dashboard/` is served at `/dashboard/<name>`; any other name there is a
 * 404. The files are read once at startup and served with an `ETag` (revalidated on every
 * load, so a new version shows at once).
 *
 * The page is open, like `/healthz`: it holds no data. Its modules call the API with the token
 * the node printed at start (`/#token=…`, kept in `sessionStorage`) and follow
 * `GET /api/events` (SSE). A strict Content-Security-Policy allows only this origin's scripts
 * (modules and their imports included), styles and connections.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import type { AppDeps } from "./deps.ts";
import { problem } from "./problem.ts";

/** One static file of the dashboard. */
interface Asset {
  readonly body: string;
  readonly type: string;
  readonly etag: string;
}

/** The folder of the dashboard's files. */
const DIR = new URL("./dashboard/", import.meta.url);

/** The page, served at `/`. */
const PAGE = { file: "index.html", type: "text/html; charset=utf-8" } as const;

/** What is served at `/dashboard/<name>`, by the name's extension, with its Content-Type. */
const TYPES: Readonly<Record<string, string>> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
};

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

let loading: Promise<Map<string, Asset> | Error> | null = null;

/**
 * Reads the files once (the first app built starts it), keyed by the path they are served at;
 * a failure is kept, not thrown.
 */
function loadAssets(): Promise<Map<string, Asset> | Error> {
  loading ??= (async () => {
    try {
      const assets = new Map<string, Asset>();
      assets.set("/", await readAsset(PAGE.file, PAGE.type));
      for await (const entry of Deno.readDir(DIR)) {
        const type = TYPES[/\.([a-z]+)$/.exec(entry.name)?.[1] ?? ""];
        if (!entry.isFile || type === undefined) continue;
        assets.set(`/dashboard/${entry.name}`, await readAsset(entry.name, type));
      }
      return assets;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  })();
  return loading;
}

async function readAsset(file: string, type: string): Promise<Asset> {
  const body = await Deno.readTextFile(new URL(file, DIR));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body));
  const hex = Array.from(new Uint8Array(digest).subarray(0, 12))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  return { body, type, etag: `"${hex}"` };
}

async function serve(c: Context, path: string): Promise<Response> {
  const assets = await loadAssets();
  if (assets instanceof Error) {
    return problem(c, 500, "internal", "the dashboard's files could not be read");
  }
  const asset = assets.get(path);
  if (asset === undefined) return c.notFound();
  const headers: Record<string, string> = {
    "Content-Type": asset.type,
    "Cache-Control": "no-cache",
    "ETag": asset.etag,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
  };
  if (path === "/") {
    headers["Content-Security-Policy"] = CSP;
    headers["X-Frame-Options"] = "DENY";
  }
  if (c.req.header("If-None-Match") === asset.etag) return c.body(null, 304, headers);
  return c.body(asset.body, 200, headers);
}

/** Routes of the dashboard: the page and its files. */
export function dashboardRoutes(_deps: AppDeps): Hono {
  const routes = new Hono();
  void loadAssets();
  routes.get("/", (c) => serve(c, "/"));
  routes.get("/dashboard/:file", (c) => serve(c, `/dashboard/${c.req.param("file")}`));
  // Browsers ask for it whatever the page links; answer without an error in the console.
  routes.get("/favicon.ico", (c) => c.redirect("/dashboard/favicon.svg", 301));
  return routes;
}
