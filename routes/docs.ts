/**
 * `GET /openapi.json` (the OpenAPI 3.1 document built from the route registry) and `GET /docs`
 * (the same document as a readable page). Both are built once, on first use, when every route is
 * registered; neither needs a token.
 *
 * @module
 */
import { z } from "zod";
import type { AppDeps } from "./deps.ts";
import { renderDocsPage } from "./docs_page.ts";
import { type OpenApiDocument, openApiDocument } from "./openapi.ts";
import { type ApiRegistry, ApiRoutes } from "./spec.ts";

/** The API's version in the document. */
export const API_VERSION = "0.1.0";

/** The document and page of `registry`'s routes. */
export function docsRoutes(deps: AppDeps, registry: ApiRegistry): ApiRoutes {
  const routes = new ApiRoutes(
    "docs",
    "This API's description: the OpenAPI document and its page.",
  );
  let doc: OpenApiDocument | null = null;
  let page: string | null = null;
  const document = () =>
    doc ??= openApiDocument(registry, { auth: deps.auth, version: API_VERSION });

  routes.add({
    method: "get",
    path: "/openapi.json",
    summary: "The OpenAPI 3.1 document",
    description: "Generated from the same zod schemas that validate each route.",
    responses: {
      200: {
        description: "the document",
        schema: z.looseObject({
          openapi: z.string(),
          info: z.looseObject({ title: z.string(), version: z.string() }),
          paths: z.record(z.string(), z.looseObject({})),
        }),
      },
    },
  }, (c) => c.json(document()));

  routes.add({
    method: "get",
    path: "/docs",
    summary: "The API reference page",
    description: "This document as one self-contained HTML page.",
    responses: { 200: { description: "the page", contentType: "text/html" } },
  }, (c) => c.html(page ??= renderDocsPage(document())));

  return routes;
}
