/**
 * The OpenAPI 3.1 document, built from the route registry: each operation's parameters and body
 * are the JSON Schemas (`z.toJSONSchema`, input side) of the zod schemas that validate it, and
 * every operation lists the problems the app's conventions can answer with, in
 * `application/problem+json`.
 *
 * @module
 */
import type { AuthTokens } from "./auth.ts";
import { PROBLEM_SCHEMA } from "./problem.ts";
import {
  ACCESS_TOKEN_PARAM,
  type ApiRegistry,
  inputSchema,
  type Operation,
  outputSchema,
} from "./spec.ts";

/** A JSON Schema (2020-12), as `z.toJSONSchema` writes it. */
export type JsonSchema = Record<string, unknown>;

/** An operation's parameter. */
export interface OpenApiParameter {
  readonly name: string;
  readonly in: "path" | "query" | "header";
  readonly required: boolean;
  readonly description?: string;
  readonly schema: JsonSchema;
  readonly style?: "form";
  readonly explode?: boolean;
}

/** A response or request body's content by media type. */
export type OpenApiContent = Record<string, { schema?: JsonSchema; example?: unknown }>;

/** An operation's response. */
export interface OpenApiResponse {
  readonly description: string;
  readonly content?: OpenApiContent;
  readonly headers?: Record<string, { description: string; schema: JsonSchema }>;
}

/** An operation. */
export interface OpenApiOperation {
  readonly operationId: string;
  readonly tags: string[];
  readonly summary: string;
  readonly description?: string;
  readonly parameters?: OpenApiParameter[];
  readonly requestBody?: { required: boolean; content: OpenApiContent };
  readonly responses: Record<string, OpenApiResponse>;
  /** Absent: the document's default; `[]`: open. */
  readonly security?: Record<string, string[]>[];
}

/** The document (the parts Flotilla writes). */
export interface OpenApiDocument {
  readonly openapi: "3.1.0";
  readonly info: {
    title: string;
    version: string;
    description: string;
    license: { name: string; identifier?: string; url?: string };
  };
  readonly servers: { url: string; description: string }[];
  readonly tags: { name: string; description: string }[];
  readonly paths: Record<string, Record<string, OpenApiOperation>>;
  readonly components: {
    schemas: Record<string, JsonSchema>;
    securitySchemes: Record<string, Record<string, string>>;
  };
}

/** Options of {@link openApiDocument}. */
export interface OpenApiOptions {
  /** The API's tokens: decide which operations need which; `null` when authentication is off. */
  readonly auth: AuthTokens | null;
  /** @default "0.1.0" */
  readonly version?: string;
}

const PROBLEM_REF = { $ref: "#/components/schemas/Problem" };
const WRITES = new Set(["post", "put", "patch", "delete"]);

const DESCRIPTION =
  "The HTTP API of a Flotilla node: device twins and telemetry, edge nodes, payments, customer " +
  "sessions, alerts, and live events over SSE.\n\n" +
  "Every input (path parameters, query, JSON body) is validated by the schemas shown here; " +
  "invalid input is a 400 problem listing each field in `errors`, and changes nothing. Every " +
  "error is `application/problem+json` with a stable `type` (`urn:flotilla:problem:<code>`) and " +
  "`code`. Bodies are JSON (`Content-Type: application/json`, else 415) of at most 64 KiB (413). " +
  "Array query parameters take repeated parameters or comma-separated values; an empty parameter " +
  "counts as absent; an operation with query parameters refuses those it does not know.";

/** Builds the document from every operation of `registry`. */
export function openApiDocument(registry: ApiRegistry, options: OpenApiOptions): OpenApiDocument {
  const paths: Record<string, Record<string, OpenApiOperation>> = {};
  const used = new Set<string>();
  for (const op of registry.operations) {
    const path = op.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
    const documented = operation(op, options.auth);
    for (const requirement of documented.security ?? []) {
      for (const name of Object.keys(requirement)) used.add(name);
    }
    (paths[path] ??= {})[op.method] = documented;
  }
  // Only the schemes some operation uses (a read-only token brings in the query parameter).
  const schemes = Object.fromEntries(
    Object.entries(SECURITY_SCHEMES).filter(([name]) => used.has(name)),
  );
  return {
    openapi: "3.1.0",
    info: {
      title: "Flotilla",
      version: options.version ?? "0.1.0",
      description: DESCRIPTION,
      license: LICENSE,
    },
    servers: [{ url: "/", description: "this node (every node of a cluster answers the same)" }],
    tags: [...registry.tags].map(([name, description]) => ({ name, description })),
    paths,
    components: {
      schemas: { Problem: outputSchema(PROBLEM_SCHEMA) },
      securitySchemes: schemes,
    },
  };
}

/**
 * The API's license as the document names it. No open-source license has been chosen: the
 * code is proprietary until one is (an SPDX `LicenseRef-` identifier says so).
 */
const LICENSE = { name: "Proprietary", identifier: "LicenseRef-Flotilla-Proprietary" };

const SECURITY_SCHEMES: Record<string, Record<string, string>> = {
  bearerAuth: {
    type: "http",
    scheme: "bearer",
    description: "`Authorization: Bearer <token>`: the API token for changes (POST, PUT, " +
      "PATCH, DELETE under /api); the API token or the read-only token for reads, when a " +
      "read-only token is configured (reads are open otherwise).",
  },
  accessToken: {
    type: "apiKey",
    in: "query",
    name: ACCESS_TOKEN_PARAM,
    description: "The same token as a query parameter, for reads only: for clients that " +
      "cannot set headers, such as a browser's EventSource.",
  },
};

function operation(op: Operation, auth: AuthTokens | null): OpenApiOperation {
  const parameters = [
    ...parametersOf(op.params, "path"),
    ...parametersOf(op.query, "query"),
    ...parametersOf(op.headers, "header"),
  ];
  const security = securityOf(op, auth);
  return {
    operationId: operationId(op),
    tags: [op.tag],
    summary: op.summary,
    ...(op.description === undefined ? {} : { description: op.description }),
    ...(parameters.length === 0 ? {} : { parameters }),
    ...(op.body === undefined ? {} : {
      requestBody: {
        required: true,
        content: {
          "application/json": {
            schema: inputSchema(op.body),
            ...(op.example === undefined ? {} : { example: op.example }),
          },
        },
      },
    }),
    responses: responsesOf(op, security.length > 0 ? security : null, auth),
    security,
  };
}

/** `getDevicesById`-style ids, stable as long as the method and path are. */
function operationId(op: Operation): string {
  const words = op.path.split("/").filter((p) => p !== "" && p !== "api").map((part) =>
    part.startsWith(":") ? `by-${part.slice(1)}` : part
  ).flatMap((part) => part.split(/[^A-Za-z0-9]+/)).filter((w) => w !== "");
  return op.method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");
}

function parametersOf(
  schema: Operation["params"],
  where: OpenApiParameter["in"],
): OpenApiParameter[] {
  if (schema === undefined) return [];
  const json = inputSchema(schema);
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  // The input side leaves defaults out; the output side has them.
  const outputs = (outputSchema(schema).properties ?? {}) as Record<string, JsonSchema>;
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    const fallback = outputs[name]?.default;
    if (fallback !== undefined) rest.default = fallback;
    const list = rest.type === "array";
    return {
      name,
      in: where,
      required: where === "path" || required.has(name),
      ...(typeof description === "string" ? { description } : {}),
      schema: rest,
      ...(list ? { style: "form" as const, explode: true } : {}),
    };
  });
}

function securityOf(op: Operation, auth: AuthTokens | null): Record<string, string[]>[] {
  if (auth === null || !op.path.startsWith("/api/")) return [];
  if (WRITES.has(op.method)) return [{ bearerAuth: [] }];
  if (auth.readToken === undefined) return [];
  return [{ bearerAuth: [] }, { accessToken: [] }];
}

function problem(description: string): OpenApiResponse {
  return { description, content: { "application/problem+json": { schema: PROBLEM_REF } } };
}

function responsesOf(
  op: Operation,
  security: Record<string, string[]>[] | null,
  auth: AuthTokens | null,
): Record<string, OpenApiResponse> {
  const out: Record<string, OpenApiResponse> = {};
  for (const [status, spec] of Object.entries(op.responses)) {
    if (spec.schema === undefined && Number(status) >= 400) {
      out[status] = problem(spec.description);
      continue;
    }
    const type = spec.contentType ?? "application/json";
    out[status] = {
      description: spec.description,
      content: { [type]: spec.schema === undefined ? {} : { schema: outputSchema(spec.schema) } },
      ...(spec.headers === undefined ? {} : {
        headers: Object.fromEntries(
          Object.entries(spec.headers).map(([name, h]) => [
            name,
            { description: h.description, schema: { type: "string" } },
          ]),
        ),
      }),
    };
  }
  const add = (status: number, description: string) => {
    out[String(status)] ??= problem(description);
  };
  if (op.params !== undefined || op.query !== undefined || op.body !== undefined) {
    add(
      400,
      "`invalid_input`: a parameter or the body failed its schema (`errors` lists each field)" +
        (op.body === undefined ? "" : "; `malformed_json`: the body is not JSON"),
    );
  }
  if (security !== null) {
    add(401, "`unauthorized`: no token, or a wrong one");
    if (WRITES.has(op.method) && auth?.readToken !== undefined) {
      add(403, "`forbidden`: the read-only token cannot change anything");
    }
  }
  if (op.path.startsWith("/api/") && WRITES.has(op.method)) {
    add(413, "`payload_too_large`: the body is over the limit (64 KiB by default)");
  }
  if (op.body !== undefined) {
    add(415, "`unsupported_media_type`: the body is not labelled application/json");
  }
  out.default ??= problem(
    "any other problem: `timeout` (504), `mailbox_full`, `shutting_down`, `store_unavailable` " +
      "(503, with Retry-After), `internal` (500, logged; never shows internals)",
  );
  return out;
}
