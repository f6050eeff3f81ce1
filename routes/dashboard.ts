/**
 * The live dashboard at `/`, served by the app itself: no build step, no bundler, nothing from
 * a CDN. The page (`dashboard/index.html`), its style sheet and its script are plain files next
 * to this module, read once at startup and served with an `ETag` (revalidated on every load, so
 * a new version shows at once).
 *
 * The page is open, like `/healthz`: it holds no data. Its script calls the API with the token
 * the node printed at start (`/#token=…`, kept in `sessionStorage`) and follows
 * `GET /api/events` (SSE) — see `dashboard/app.js`. A strict Content-Security-Policy allows
 * only this origin's script, styles and connections.
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

/** The files, by the path they are served at, and the file they are read from. */
const FILES: readonly { path: string; file: string; type: string }[] = [
  { path: "/", file: "index.html", type: "text/html; charset=utf-8" },
  { path: "/dashboard/app.js", file: "app.js", type: "text/javascript; charset=utf-8" },
  { path: "/dashboard/style.css", file: "style.css", type: "text/css; charset=utf-8" },
  { path: "/dashboard/favicon.svg", file: "favicon.svg", type: "image/svg+xml" },
];

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

/** Reads the files once (the first app built starts it); a failure is kept, not thrown. */
function loadAssets(): Promise<Map<string, Asset> | Error> {
  loading ??= (async () => {
    try {
      const assets = new Map<string, Asset>();
      for (const { path, file, type } of FILES) {
        const body = await Deno.readTextFile(new URL(`./dashboard/${file}`, import.meta.url));
        const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body));
        const hex = Array.from(new Uint8Array(digest).subarray(0, 12))
          .map((b) => b.toString(16).padStart(2, "0")).join("");
        assets.set(path, { body, type, etag: `"${hex}"` });
      }
      return assets;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  })();
  return loading;
}

async function serve(c: Context, path: string): Promise<Response> {
  const assets = await loadAssets();
  if (assets instanceof Error) {
    return problem(c, 500, "internal", "the dashboard's files could not be read");
  }
  const asset = assets.get(path)!;
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
  for (const { path } of FILES) routes.get(path, (c) => serve(c, path));
  // Browsers ask for it whatever the page links; answer without an error in the console.
  routes.get("/favicon.ico", (c) => c.redirect("/dashboard/favicon.svg", 301));
  return routes;
}
