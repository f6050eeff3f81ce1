/**
 * The API document against the server, property-based (as Schemathesis does it): for every
 * operation of `/openapi.json`, requests generated from its own schemas —
 * - **valid** ones (path parameters, query and body each passing their documented schema) must
 *   be answered with a documented status, never `invalid_input` (a schema looser than the
 *   server's validation), never a 500, with a body of the documented media type that passes
 *   the documented schema of that status;
 * - **invalid** ones (a valid request broken in one place, which the document's schema refuses)
 *   must be a 4xx problem (a schema stricter than the server's validation shows up as a 2xx).
 *
 * Every run uses fixed seeds: a failure names the operation, the request and the seed, and
 * reproduces.
 */
import fc from "fast-check";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { assert } from "./helpers/assert.ts";
import { testApp } from "./helpers/app.ts";
import { type App, documentOf } from "./helpers/api.ts";
import { breakages, type Resolve, type Schema, valid } from "./helpers/schema_arbitrary.ts";
import type { OpenApiDocument, OpenApiOperation, OpenApiParameter } from "../routes/openapi.ts";

const TOKEN = "conformance-token-0123456789";
const AUTH = { Authorization: `Bearer ${TOKEN}` };
/** Valid requests per operation; invalid ones are derived from them. */
const RUNS = 60;
/** Operations that are not request/response (a stream). */
const STREAMING = new Set(["getEvents"]);
/** zod's own messages ("Invalid input: expected string", "Too big: …"), never shown to clients. */
const ZOD_DEFAULTS =
  /^(Invalid (input|key|element|option|string|number)|Too (big|small)|Unrecognized key|expected )/i;
/** Statuses the `default` response stands for (it names them); anything else must be listed. */
const DEFAULT_STATUSES = new Set([503, 504]);

/** Existing entities, so that generated requests also reach the paths past "not found". */
const SEEDED: Record<string, string[]> = {
  "/api/devices/{id}": ["d1"],
  "/api/edge-nodes/{id}": ["e1"],
  "/api/terminals/{id}": ["t1"],
  "/api/sessions/{id}": ["c1"],
  "/api/inventory/{sku}": ["sku-1"],
  "/api/customers/{id}": ["c1"],
};

async function seed(t: App): Promise<void> {
  const put = async (path: string, body: unknown, method = "PUT") => {
    const res = await t.app.request(path, {
      method,
      headers: { ...AUTH, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    assert(res.status < 300, `seed ${method} ${path}: ${res.status} ${await res.text()}`);
  };
  await put("/api/devices/d1", { type: "robot", sensors: ["temperature"] });
  await put("/api/devices/d1/telemetry", { readings: { temperature: 20 } }, "POST");
  await put("/api/edge-nodes/e1", {
    tier: "edge",
    location: { lat: 37.5, lon: 127 },
    capabilities: ["inference"],
  });
  await put("/api/terminals/t1", { timezone: "Asia/Seoul", online: true });
  await put("/api/customers/c1", { creditLimit: 1000, riskScore: 0.1, creditScore: 0.9 });
  await put("/api/inventory/sku-1", { available: 5 });
  await t.system.idle();
}

/** Inlines `$ref`s into the document's components, for ajv and the generators. */
function resolver(doc: OpenApiDocument): Resolve {
  return (ref) => {
    const name = /^#\/components\/schemas\/(.+)$/.exec(ref)?.[1];
    const schema = name === undefined ? undefined : doc.components.schemas[name];
    if (schema === undefined) throw new Error(`unresolvable $ref ${ref}`);
    return schema as Schema;
  };
}

interface Request {
  readonly path: Record<string, string>;
  readonly query: Record<string, unknown>;
  readonly body?: unknown;
}

function stringOf(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function urlOf(template: string, req: Request): string {
  const path = template.replace(/\{([^}]+)\}/g, (_, name) => encodeURIComponent(req.path[name]!));
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(req.query)) {
    if (value === undefined) continue;
    params.append(name, Array.isArray(value) ? value.map(stringOf).join(",") : stringOf(value));
  }
  const q = params.toString();
  return q === "" ? path : `${path}?${q}`;
}

function requestArbitrary(
  template: string,
  op: OpenApiOperation,
  resolve: Resolve,
): fc.Arbitrary<Request> {
  const params = (op.parameters ?? []) as OpenApiParameter[];
  const path: Record<string, fc.Arbitrary<unknown>> = {};
  const query: Record<string, fc.Arbitrary<unknown>> = {};
  const required: string[] = [];
  for (const p of params) {
    if (p.in === "path") {
      const generated = valid(p.schema as Schema, resolve);
      const known = Object.entries(SEEDED).find(([prefix]) => template.startsWith(prefix))?.[1];
      path[p.name] = known === undefined
        ? generated
        : fc.oneof(fc.constantFrom(...known), generated);
    } else if (p.in === "query") {
      query[p.name] = valid(p.schema as Schema, resolve);
      if (p.required) required.push(p.name);
    }
  }
  const body = op.requestBody?.content["application/json"]?.schema;
  return fc.record({
    path: fc.record(path) as fc.Arbitrary<Record<string, string>>,
    query: fc.record(query, { requiredKeys: required }),
    ...(body === undefined ? {} : { body: valid(body as Schema, resolve) }),
  }) as fc.Arbitrary<Request>;
}

async function send(t: App, method: string, url: string, body: unknown): Promise<Response> {
  return await t.app.request(url, {
    method: method.toUpperCase(),
    headers: body === undefined ? AUTH : { ...AUTH, "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** The seed of an operation's run: fixed, different per operation. */
function seedOf(id: string): number {
  let h = 7;
  for (const c of id) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  return h;
}

const t = await testApp({ auth: { apiToken: TOKEN } });
const doc = await documentOf(t);
const resolve = resolver(doc);
const ajv = new Ajv2020({ strict: false, allErrors: true });
// ajv-formats is typed for the draft-07 class; the 2020-12 class has the same format API.
addFormats.default(ajv as unknown as Parameters<typeof addFormats.default>[0]);
for (const [name, schema] of Object.entries(doc.components.schemas)) {
  ajv.addSchema(schema, `#/components/schemas/${name}`);
}
const validators = new Map<object, ReturnType<typeof ajv.compile>>();
function validator(schema: Schema) {
  let v = validators.get(schema);
  if (v === undefined) {
    v = ajv.compile(schema);
    validators.set(schema, v);
  }
  return v;
}
await seed(t);

/** Checks a response against the operation's documented responses. */
async function conforms(
  op: OpenApiOperation,
  what: string,
  res: Response,
  expectValid: boolean,
): Promise<void> {
  const text = await res.text();
  const show = `${what} → ${res.status} ${text.slice(0, 300)}`;
  assert(res.status !== 500, `no 500: ${show}`);
  const documented = op.responses[String(res.status)];
  const spec = documented ?? (DEFAULT_STATUSES.has(res.status) ? op.responses.default : undefined);
  assert(spec !== undefined, `the status is documented: ${show}`);
  const type = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
  const content = spec.content ?? {};
  if (Object.keys(content).length === 0) {
    assert(text === "", `a response documented without content has none: ${show}`);
    return;
  }
  const media = content[type];
  assert(
    media !== undefined,
    `the content type ${type} is documented (${Object.keys(content)}): ${show}`,
  );
  if (type === "application/json" || type === "application/problem+json") {
    const body = JSON.parse(text);
    if (expectValid) {
      assert(
        !(res.status === 400 && body.code === "invalid_input"),
        `a request valid by the document is not refused as invalid: ${show}`,
      );
    }
    assert(media.schema !== undefined, `the ${res.status} body has a documented schema: ${show}`);
    const check = validator(media.schema as Schema);
    assert(
      check(body),
      `the body matches the documented schema: ${show}\n${ajv.errorsText(check.errors)}`,
    );
  }
}

for (const [template, methods] of Object.entries(doc.paths)) {
  for (const [method, op] of Object.entries(methods)) {
    if (STREAMING.has(op.operationId)) continue;
    Deno.test(`${op.operationId}: generated requests get documented answers`, async () => {
      const requests = requestArbitrary(template, op, resolve);
      const bodySchema = op.requestBody?.content["application/json"]?.schema as Schema | undefined;
      const params = (op.parameters ?? []) as OpenApiParameter[];
      await fc.assert(
        fc.asyncProperty(requests, fc.nat(), async (req, pick) => {
          const url = urlOf(template, req);
          const res = await send(t, method, url, req.body);
          await conforms(
            op,
            `${method.toUpperCase()} ${url} ${JSON.stringify(req.body) ?? ""}`,
            res,
            true,
          );

          // The same request broken in one place, where the document says it is invalid.
          const broken: { how: string; req: Request }[] = [];
          if (bodySchema !== undefined) {
            for (const b of breakages(bodySchema, req.body, resolve)) {
              if (!validator(bodySchema)(b.value)) {
                broken.push({ how: `body ${b.how}`, req: { ...req, body: b.value } });
              }
            }
          }
          for (const p of params) {
            if (p.in !== "query" || !(p.name in req.query)) continue;
            for (const b of breakages(p.schema as Schema, req.query[p.name], resolve)) {
              // A query carries strings: a break must still be one as a string.
              const asText = Array.isArray(b.value)
                ? b.value.map(stringOf).join(",")
                : stringOf(b.value);
              if (
                asText === "" || validator(p.schema as Schema)(coerce(p.schema as Schema, asText))
              ) continue;
              broken.push({
                how: `query ${p.name} ${b.how}`,
                req: { ...req, query: { ...req.query, [p.name]: b.value } },
              });
            }
          }
          if (broken.length === 0) return;
          const chosen = broken[pick % broken.length]!;
          const badUrl = urlOf(template, chosen.req);
          const bad = await send(t, method, badUrl, chosen.req.body);
          const what = `${method.toUpperCase()} ${badUrl} (${chosen.how}) ${
            JSON.stringify(chosen.req.body) ?? ""
          }`;
          assert(
            bad.status >= 400 && bad.status < 500,
            `an invalid request is refused: ${what} → ${bad.status} ${await bad.clone().text()}`,
          );
          const problem = await bad.clone().json();
          for (const issue of problem.errors ?? []) {
            assert(
              !ZOD_DEFAULTS.test(issue.message),
              `in the project's words, not zod's: ${what} → ${issue.path}: ${issue.message}`,
            );
          }
          await conforms(op, what, bad, false);
        }),
        { numRuns: RUNS, seed: seedOf(op.operationId), endOnFailure: true },
      );
    });
  }
}

/** A query string's value as the document's schema reads it. */
function coerce(schema: Schema, text: string): unknown {
  const type = schema.type;
  if (type === "integer" || type === "number") return text.trim() === "" ? text : Number(text);
  if (type === "boolean") return text === "true" ? true : text === "false" ? false : text;
  if (type === "array") return text.split(",");
  return text;
}

Deno.test({
  name: "close the app",
  fn: async () => await t.close(),
});
