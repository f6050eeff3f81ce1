/**
 * The route registry: every route of the API is declared once, as data — method, path, summary,
 * and the zod schemas of its path parameters, query, headers and JSON body — together with its
 * handler. The registry validates each request with those schemas before the handler runs, and
 * `openapi.ts` builds the OpenAPI document from the very same declarations, so a schema that is
 * documented is the schema that validates.
 *
 * ```ts
 * const routes = new ApiRoutes("devices", "Device twins and telemetry.");
 * routes.add({
 *   method: "get",
 *   path: "/:id",
 *   summary: "A device's twin",
 *   params: z.strictObject({ id: deviceId }),
 *   responses: { 200: { description: "the twin" }, 404: { description: "no such device" } },
 * }, async (c, { params }) => c.json(await twinOf(params.id)));
 * registry.mount(app, "/api/devices", routes);
 * ```
 *
 * Conventions every route gets: path parameters, query and body are checked in that order, and
 * the first part that fails is a 400 `invalid_input` problem listing each field (nothing reaches
 * an actor, so nothing is written); a body is read only where one is declared (JSON, 415
 * otherwise, 400 `malformed_json` when it does not parse); an empty query parameter counts as
 * absent; array query parameters take repeated parameters or comma-separated values; a route
 * that declares a query refuses parameters it does not know (`access_token` belongs to
 * authentication and is never passed on), and one that declares none does not read the query.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { fieldIssue, parseOrThrow } from "../actors/shared/mod.ts";
import { type FieldIssue, ValidationError } from "../runtime/mod.ts";
import { readJson } from "./body.ts";

/** HTTP methods of the API, as OpenAPI spells them. */
export type Method = "get" | "put" | "post" | "patch" | "delete";

/** A response a route documents. Response bodies are documented, not validated. */
export interface ResponseSpec {
  readonly description: string;
  /** The body's schema, for the document. */
  readonly schema?: z.ZodType;
  /** @default "application/json" (`application/problem+json` for 4xx and 5xx) */
  readonly contentType?: string;
  /** Response headers the route sets, by name (e.g. `ETag`). */
  readonly headers?: Readonly<Record<string, { readonly description: string }>>;
}

/** A route as its file declares it. */
export interface RouteSpec<
  P extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  H extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
> {
  readonly method: Method;
  /** Hono path relative to where the routes are mounted, `:name` for a parameter. */
  readonly path: string;
  /** One line: what the operation does. */
  readonly summary: string;
  /** More: rules, edge cases, what the status codes mean. */
  readonly description?: string;
  /** A strict object of the path parameters, each a string schema. */
  readonly params?: P;
  /** A strict object of the query parameters (absent: the query string is not read). */
  readonly query?: Q;
  /** An object of the request headers read (names as sent, e.g. `Last-Event-ID`). */
  readonly headers?: H;
  /** The JSON body's schema (absent: the body is not read). */
  readonly body?: B;
  /** A body that passes {@link RouteSpec.body}, shown in the document. */
  readonly example?: unknown;
  /** Responses by status; the registry adds the problems every route can answer. */
  readonly responses: Readonly<Record<number, ResponseSpec>>;
}

/** A declared route with its place in the app. */
export interface Operation extends RouteSpec<z.ZodType, z.ZodType, z.ZodType, z.ZodType> {
  /** Full Hono path, e.g. `/api/devices/:id`. */
  readonly path: string;
  /** The group it is listed under. */
  readonly tag: string;
  /** `false` for a route another module serves and validates; the registry only describes it. */
  readonly served: boolean;
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

/** What a handler receives: the validated (and transformed) input. */
export interface Input<P, Q, H, B> {
  readonly params: Out<P>;
  readonly query: Out<Q>;
  readonly headers: Out<H>;
  readonly body: Out<B>;
}

/** A route's handler, called with valid input only. */
export type Handler<P, Q, H, B> = (
  c: Context,
  input: Input<P, Q, H, B>,
) => Response | Promise<Response>;

/** The query parameter authentication reads; never part of a route's own input. */
export const ACCESS_TOKEN_PARAM = "access_token";

/** A group of routes (one tag of the document) and the Hono app serving them. */
export class ApiRoutes {
  /** Serves the routes; mount it with {@link ApiRegistry.mount}. */
  readonly app: Hono = new Hono();
  readonly #routes: RouteSpec<z.ZodType, z.ZodType, z.ZodType, z.ZodType>[] = [];

  /**
   * @param tag the group's name in the document
   * @param description what the group is about
   */
  constructor(readonly tag: string, readonly description: string) {}

  /** The routes declared so far, paths relative to the mount point. */
  get routes(): readonly RouteSpec<z.ZodType, z.ZodType, z.ZodType, z.ZodType>[] {
    return this.#routes;
  }

  /** Declares a route and serves it: `handler` runs once the input passed every schema. */
  add<
    P extends z.ZodType | undefined = undefined,
    Q extends z.ZodType | undefined = undefined,
    H extends z.ZodType | undefined = undefined,
    B extends z.ZodType | undefined = undefined,
  >(spec: RouteSpec<P, Q, H, B>, handler: Handler<P, Q, H, B>): this {
    const declared = spec as RouteSpec<z.ZodType, z.ZodType, z.ZodType, z.ZodType>;
    const read = inputReader(declared);
    this.app.on(spec.method.toUpperCase(), spec.path, async (c) => {
      return await handler(c, await read(c) as unknown as Input<P, Q, H, B>);
    });
    this.#routes.push(declared);
    return this;
  }
}

/** Every route of the app, in the order mounted: what the OpenAPI document is built from. */
export class ApiRegistry {
  readonly #operations: Operation[] = [];
  readonly #tags = new Map<string, string>();
  #matchers: { pattern: RegExp; method: string }[] | null = null;

  /** The operations, in the order declared. */
  get operations(): readonly Operation[] {
    return this.#operations;
  }

  /** Tags with their descriptions, in the order first used. */
  get tags(): ReadonlyMap<string, string> {
    return this.#tags;
  }

  /** Serves `routes` under `prefix` (like `app.route(prefix, …)`) and records them. */
  mount(app: Hono, prefix: string, routes: ApiRoutes): void {
    app.route(prefix, routes.app);
    if (!this.#tags.has(routes.tag)) this.#tags.set(routes.tag, routes.description);
    for (const route of routes.routes) {
      this.#add({ ...route, path: joinPath(prefix, route.path), tag: routes.tag, served: true });
    }
  }

  /**
   * Describes a route that another module serves and validates itself (the SSE stream): it is
   * documented like the others, but the registry does not check its input.
   */
  describe(
    tag: string,
    description: string,
    route: RouteSpec<z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>,
  ): void {
    if (!this.#tags.has(tag)) this.#tags.set(tag, description);
    this.#add({ ...route, tag, served: false } as Operation);
  }

  /** Methods declared for a concrete request path, e.g. `["GET", "PUT"]`; `[]` for none. */
  allowedMethods(path: string): string[] {
    this.#matchers ??= this.#operations.map((op) => ({
      pattern: new RegExp(
        `^${
          op.path.split("/").map((part) =>
            part.startsWith(":") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
          ).join("/")
        }$`,
      ),
      method: op.method.toUpperCase(),
    }));
    const methods = new Set<string>();
    for (const { pattern, method } of this.#matchers) {
      if (pattern.test(path)) methods.add(method);
    }
    if (methods.has("GET")) methods.add("HEAD");
    return [...methods];
  }

  #add(op: Operation): void {
    const key = `${op.method} ${op.path}`;
    if (this.#operations.some((o) => `${o.method} ${o.path}` === key)) {
      throw new Error(`route ${key} is declared twice`);
    }
    this.#operations.push(op);
    this.#matchers = null;
  }
}

/** `prefix` + `path` as Hono joins them (`/api/devices` + `/` is `/api/devices`). */
export function joinPath(prefix: string, path: string): string {
  const head = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  if (path === "/" || path === "") return head === "" ? "/" : head;
  return `${head}${path.startsWith("/") ? path : `/${path}`}`;
}

/**
 * Parses `input` with `schema`, or throws a {@link ValidationError} naming `what` was wrong and
 * quoting its first three issues.
 */
export function validate<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
): z.output<S> {
  return parseOrThrow(schema, input, (issues) => invalidMessage(what, issues));
}

/** `invalid <what>: <path>: <message>; …` — the first three issues, and how many more. */
function invalidMessage(what: string, issues: readonly FieldIssue[]): string {
  const listed = issues.slice(0, 3).map((i) =>
    i.path === "" ? i.message : `${i.path}: ${i.message}`
  );
  const more = issues.length > 3 ? `; and ${issues.length - 3} more` : "";
  return `invalid ${what}: ${listed.join("; ")}${more}`;
}

function invalid(what: string, issues: FieldIssue[]): ValidationError {
  return new ValidationError(invalidMessage(what, issues), issues);
}

/** The JSON Schema (2020-12) of a schema's input side: what a client sends. */
export function inputSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    io: "input",
    unrepresentable: "any",
    target: "draft-2020-12",
  }) as Record<string, unknown>;
  return rest;
}

/** The JSON Schema (2020-12) of a schema's output side: what a client receives. */
export function outputSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    io: "output",
    unrepresentable: "any",
    target: "draft-2020-12",
  }) as Record<string, unknown>;
  return rest;
}

interface RawInput {
  readonly params: unknown;
  readonly query: unknown;
  readonly headers: unknown;
  readonly body: unknown;
}

/** Validates a request's parts in order: path parameters, query, headers, body. */
function inputReader(spec: RouteSpec<z.ZodType, z.ZodType, z.ZodType, z.ZodType>) {
  const readQuery = spec.query === undefined ? null : queryReader(spec.query);
  const headerNames = spec.headers === undefined
    ? []
    : Object.keys((inputSchema(spec.headers).properties ?? {}) as Record<string, unknown>);
  return async (c: Context): Promise<RawInput> => {
    const params = spec.params === undefined
      ? undefined
      : validate(spec.params, c.req.param(), "path parameter");
    const query = readQuery === null ? undefined : readQuery(c.req.queries());
    let headers: unknown = undefined;
    if (spec.headers !== undefined) {
      const given: Record<string, string> = {};
      for (const name of headerNames) {
        const value = c.req.header(name);
        if (value !== undefined && value !== "") given[name] = value;
      }
      headers = validate(spec.headers, given, "headers");
    }
    const body = spec.body === undefined
      ? undefined
      : validate(spec.body, await readJson(c), "body");
    return { params, query, headers, body };
  };
}

/** Checks a query by `schema`, after the module's conventions. */
function queryReader(schema: z.ZodType): (all: Record<string, string[]>) => unknown {
  const properties = (inputSchema(schema).properties ?? {}) as Record<string, { type?: string }>;
  const known = new Set(Object.keys(properties));
  const lists = new Set(
    Object.entries(properties).filter(([, s]) => s.type === "array").map(([name]) => name),
  );
  return (all) => {
    const { input, issues } = queryInput(all, known, lists);
    if (issues.length > 0) throw invalid("query", issues);
    const parsed = schema.safeParse(input);
    if (!parsed.success) throw invalid("query", queryIssues(parsed.error, known));
    return parsed.data;
  };
}

/** A query's issues, an unknown parameter named as such. */
function queryIssues(error: z.ZodError, known: ReadonlySet<string>): FieldIssue[] {
  const use = known.size === 0 ? "this operation takes none" : `use ${[...known].join(", ")}`;
  return error.issues.flatMap((i) =>
    i.code === "unrecognized_keys"
      ? i.keys.map((key) => ({ path: key, message: `unknown parameter; ${use}` }))
      : [fieldIssue(i)]
  );
}

/** The query as a route's schema reads it: see the module's conventions. */
function queryInput(
  all: Record<string, string[]>,
  known: ReadonlySet<string>,
  lists: ReadonlySet<string>,
): { input: Record<string, string | string[]>; issues: FieldIssue[] } {
  // No prototype: `?__proto__=` is a parameter like any other (and unknown).
  const input: Record<string, string | string[]> = Object.create(null);
  const issues: FieldIssue[] = [];
  for (const [name, values] of Object.entries(all)) {
    if (name === ACCESS_TOKEN_PARAM) continue;
    if (!known.has(name)) {
      // Passed on as given, so the strict schema names it as unknown.
      input[name] = values[0] ?? "";
    } else if (lists.has(name)) {
      // Taken as given: " a" or an empty item between commas fails the item's schema.
      const list = values.filter((v) => v !== "").flatMap((v) => v.split(","));
      if (list.length > 0) input[name] = list;
    } else {
      const given = values.filter((v) => v !== "");
      if (given.length > 1) issues.push({ path: name, message: "give this parameter once" });
      else if (given.length === 1) input[name] = given[0]!;
    }
  }
  return { input, issues };
}
