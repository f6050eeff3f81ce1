/**
 * Values from JSON Schemas, for property-based tests of the API against its own document:
 * {@link valid} makes a fast-check arbitrary of the values a schema accepts, {@link invalid}
 * one of values it refuses (each a valid value broken in one place). Both cover the part of
 * JSON Schema 2020-12 that `z.toJSONSchema` writes: `type`, `enum`, `const`, `anyOf`/`oneOf`,
 * `allOf` of objects, `$ref` into `#/components/schemas`, string length, `pattern` and
 * `format`, number bounds, `multipleOf`, objects (`properties`, `required`,
 * `additionalProperties`, `propertyNames`, `minProperties`, `maxProperties`,
 * `dependentRequired`) and arrays (`items`, `minItems`, `maxItems`, `uniqueItems`).
 * A keyword it does not know fails loudly, so a schema can never be tested only in part.
 *
 * @module
 */
import fc from "fast-check";

/** A JSON Schema as the document holds it. */
export type Schema = Record<string, unknown>;

/** Resolves `$ref`s. */
export type Resolve = (ref: string) => Schema;

const KNOWN = new Set([
  "type",
  "enum",
  "const",
  "anyOf",
  "oneOf",
  "allOf",
  "$ref",
  "not",
  "minLength",
  "maxLength",
  "pattern",
  "format",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "properties",
  "required",
  "additionalProperties",
  "propertyNames",
  "minProperties",
  "maxProperties",
  "dependentRequired",
  "items",
  "minItems",
  "maxItems",
  "uniqueItems",
  // Annotations: no constraint.
  "description",
  "default",
  "examples",
  "example",
  "title",
  "deprecated",
  "readOnly",
  "writeOnly",
  "$comment",
  "$schema",
  "id",
]);

/** The formats generated; a schema with another format fails the test that uses it. */
const FORMATS: Record<string, () => fc.Arbitrary<string>> = {
  "date-time": () =>
    fc.date({
      min: new Date(Date.UTC(2000, 0, 1)),
      max: new Date(Date.UTC(2100, 0, 1)),
      noInvalidDate: true,
    }).map((d) => d.toISOString()),
  duration: () =>
    fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 1, max: 59 })).map(([h, m]) =>
      h === 0 ? `PT${m}M` : `PT${h}H${m}M`
    ),
};

function check(schema: Schema): void {
  for (const key of Object.keys(schema)) {
    if (!KNOWN.has(key)) throw new Error(`schema keyword ${key} is not supported: ${show(schema)}`);
  }
}

function show(schema: unknown): string {
  const text = JSON.stringify(schema);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function typesOf(schema: Schema): string[] | null {
  const t = schema.type;
  if (t === undefined) return null;
  return Array.isArray(t) ? t as string[] : [t as string];
}

/** A regular expression of a schema's `pattern` (JSON Schema patterns are Unicode). */
export function patternOf(schema: Schema): RegExp | null {
  return typeof schema.pattern === "string" ? new RegExp(schema.pattern, "u") : null;
}

/**
 * Strings matching `re`. fast-check cannot generate from lookarounds: a pattern that starts
 * with negative lookaheads is generated without them and filtered by the whole pattern.
 */
function matching(re: RegExp): fc.Arbitrary<string> {
  try {
    return fc.stringMatching(re);
  } catch {
    const stripped = re.source.replace(/^\^((?:\(\?![^()]*(?:\([^()]*\)[^()]*)*\))+)/, "^");
    if (stripped === re.source) throw new Error(`cannot generate strings for /${re.source}/`);
    return fc.stringMatching(new RegExp(stripped, re.flags)).filter((s) => re.test(s));
  }
}

function stringArbitrary(schema: Schema): fc.Arbitrary<string> {
  const min = (schema.minLength as number | undefined) ?? 0;
  const max = (schema.maxLength as number | undefined) ?? Math.max(min, 40);
  const fits = (s: string) => [...s].length >= min && [...s].length <= max;
  const re = patternOf(schema);
  if (typeof schema.format === "string") {
    const make = FORMATS[schema.format];
    if (make === undefined) throw new Error(`format ${schema.format} is not supported`);
    return make().filter((s) => fits(s) && (re === null || re.test(s)));
  }
  if (re !== null) return matching(re).filter(fits);
  const maxLength = Math.min(max, min + 40);
  // Printable text most of the time, any code point (control characters included) sometimes.
  return fc.oneof(
    { weight: 3, arbitrary: fc.string({ unit: "grapheme", minLength: min, maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: min, maxLength }) },
  ).filter(fits);
}

function numberArbitrary(schema: Schema, integer: boolean): fc.Arbitrary<number> {
  const lo = schema.minimum as number | undefined;
  const hi = schema.maximum as number | undefined;
  const xlo = schema.exclusiveMinimum as number | undefined;
  const xhi = schema.exclusiveMaximum as number | undefined;
  const step = schema.multipleOf as number | undefined;
  if (integer || step !== undefined) {
    const unit = step ?? 1;
    const min = Math.ceil(
      (xlo !== undefined ? xlo + (integer ? 1 : unit) : lo ?? -1_000_000_000) / unit,
    );
    const max = Math.floor(
      (xhi !== undefined ? xhi - (integer ? 1 : unit) : hi ?? 1_000_000_000) / unit,
    );
    return fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31 - 1) })
      .map((n) => n * unit);
  }
  return fc.double({
    min: xlo ?? lo ?? -Number.MAX_VALUE,
    max: xhi ?? hi ?? Number.MAX_VALUE,
    minExcluded: xlo !== undefined,
    maxExcluded: xhi !== undefined,
    noNaN: true,
    noDefaultInfinity: true,
  }).map((n) => (Object.is(n, -0) ? 0 : n));
}

function objectArbitrary(schema: Schema, resolve: Resolve): fc.Arbitrary<Record<string, unknown>> {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const required = new Set((schema.required ?? []) as string[]);
  const extra = schema.additionalProperties;
  const names = schema.propertyNames as Schema | undefined;
  const minProps = (schema.minProperties as number | undefined) ?? 0;
  const maxProps = (schema.maxProperties as number | undefined) ?? Infinity;
  const dependent = (schema.dependentRequired ?? {}) as Record<string, string[]>;
  const known: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, property] of Object.entries(properties)) known[name] = valid(property, resolve);
  const fixed = fc.record(known, { requiredKeys: [...required].filter((k) => k in known) });
  const more = extra !== undefined && extra !== false && extra !== true
    ? fc.dictionary(
      names === undefined ? stringArbitrary({ minLength: 1, maxLength: 16 }) : stringArbitrary(
        names,
      ),
      valid(extra as Schema, resolve),
      { maxKeys: 4 },
    )
    : fc.constant({});
  return fc.tuple(fixed, more).map(([a, b]) => {
    const out: Record<string, unknown> = Object.create(null);
    for (const [k, v] of Object.entries(b)) if (!(k in properties)) out[k] = v;
    Object.assign(out, a);
    return { ...out };
  }).filter((o) => {
    const count = Object.keys(o).length;
    if (count < minProps || count > maxProps) return false;
    for (const [key, needs] of Object.entries(dependent)) {
      if (key in o && needs.some((n) => !(n in o))) return false;
    }
    return true;
  });
}

function arrayArbitrary(schema: Schema, resolve: Resolve): fc.Arbitrary<unknown[]> {
  const items = schema.items === undefined ? {} : schema.items as Schema;
  const minLength = (schema.minItems as number | undefined) ?? 0;
  const maxLength = Math.min((schema.maxItems as number | undefined) ?? 8, minLength + 8);
  const item = valid(items, resolve);
  return schema.uniqueItems === true
    ? fc.uniqueArray(item, { minLength, maxLength, selector: (v) => JSON.stringify(v) })
    : fc.array(item, { minLength, maxLength });
}

/** An arbitrary of JSON values `schema` accepts. */
export function valid(schema: Schema, resolve: Resolve): fc.Arbitrary<unknown> {
  check(schema);
  if (typeof schema.$ref === "string") return valid(resolve(schema.$ref), resolve);
  if ("const" in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum);
  const alternatives = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (alternatives !== undefined) {
    const { anyOf: _a, oneOf: _o, ...rest } = schema;
    return fc.oneof(...alternatives.map((s) => valid(combine(rest, s), resolve)));
  }
  if (schema.not !== undefined) {
    const { not, ...rest } = schema;
    return valid(rest, resolve).filter((v) => !matchesSimply(not as Schema, v));
  }
  if (Array.isArray(schema.allOf)) {
    const { allOf, ...rest } = schema;
    return valid(merge(rest, ...(allOf as Schema[]).map((s) => deref(s, resolve))), resolve);
  }
  const types = typesOf(schema);
  if (types === null) return fc.jsonValue({ maxDepth: 2 });
  return fc.oneof(...types.map((type): fc.Arbitrary<unknown> => {
    switch (type) {
      case "string":
        return stringArbitrary(schema);
      case "integer":
        return numberArbitrary(schema, true);
      case "number":
        return numberArbitrary(schema, false);
      case "boolean":
        return fc.boolean();
      case "null":
        return fc.constant(null);
      case "object":
        return objectArbitrary(schema, resolve);
      case "array":
        return arrayArbitrary(schema, resolve);
      default:
        throw new Error(`type ${type} is not supported`);
    }
  }));
}

/**
 * A schema and one of its `anyOf` alternatives as one schema: what both require. Object
 * properties combine property by property; a `const` wins over what it must also satisfy.
 */
export function combine(base: Schema, alt: Schema): Schema {
  const out: Schema = { ...base };
  for (const [key, value] of Object.entries(alt)) {
    if (key === "properties" && typeof base.properties === "object") {
      const merged: Record<string, Schema> = { ...(base.properties as Record<string, Schema>) };
      for (const [name, s] of Object.entries(value as Record<string, Schema>)) {
        merged[name] = name in merged ? combine(merged[name]!, s) : s;
      }
      out.properties = merged;
    } else if (key === "required") {
      out.required = [...new Set([...((base.required ?? []) as string[]), ...(value as string[])])];
    } else {
      out[key] = value;
    }
  }
  if ("const" in out) {
    for (const k of ["type", "pattern", "minLength", "maxLength", "format", "enum"]) delete out[k];
  }
  return out;
}

/** Whether `value` passes a `const` or `enum` schema (the `not` this module supports). */
function matchesSimply(schema: Schema, value: unknown): boolean {
  if ("const" in schema) return JSON.stringify(schema.const) === JSON.stringify(value);
  if (Array.isArray(schema.enum)) {
    return schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value));
  }
  throw new Error(`not: only const and enum are supported: ${show(schema)}`);
}

function deref(schema: Schema, resolve: Resolve): Schema {
  return typeof schema.$ref === "string" ? resolve(schema.$ref) : schema;
}

/** `allOf` of object schemas as one object schema. */
function merge(...schemas: Schema[]): Schema {
  const out: Schema = { type: "object", properties: {}, required: [] };
  for (const s of schemas) {
    Object.assign(out.properties as Schema, s.properties ?? {});
    (out.required as string[]).push(...((s.required ?? []) as string[]));
    if (s.additionalProperties === false) out.additionalProperties = false;
  }
  return out;
}

/** One way a value breaks its schema, and the broken value. */
export interface Breakage {
  readonly how: string;
  readonly value: unknown;
}

/** A value of another JSON type than every type `schema` allows. */
function otherType(schema: Schema): Breakage | null {
  const types = typesOf(schema);
  if (types === null) return null;
  const candidates: [string, unknown][] = [
    ["string", "x"],
    ["number", 1.5],
    ["integer", 1],
    ["boolean", true],
    ["null", null],
    ["object", {}],
    ["array", []],
  ];
  for (const [type, value] of candidates) {
    if (types.includes(type)) continue;
    if (type === "integer" && types.includes("number")) continue;
    if (type === "number" && types.includes("integer")) continue; // 1.5: no integer
    return { how: `a ${type} where ${types.join(" or ")} is expected`, value };
  }
  return null;
}

/**
 * The ways `value` (valid for `schema`) can be broken in one place, each with the broken
 * value: a wrong type, a value out of bounds, a string off its pattern, a missing required
 * property, an unknown property, a broken dependency — at the top or inside.
 */
export function breakages(schema: Schema, value: unknown, resolve: Resolve): Breakage[] {
  check(schema);
  if (typeof schema.$ref === "string") return breakages(resolve(schema.$ref), value, resolve);
  const out: Breakage[] = [];
  const alternatives = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (alternatives !== undefined || "const" in schema || Array.isArray(schema.enum)) {
    // Anything else of another type, or a string no option allows; and each alternative's own
    // breakages (the caller keeps those the whole schema refuses).
    const wrong = [null, true, 12345.5, "\u0000not-an-option", {}, []];
    for (const w of wrong) {
      out.push({ how: `${JSON.stringify(w)} (no option allows it)`, value: w });
    }
    if (alternatives !== undefined) {
      const { anyOf: _a, oneOf: _o, ...rest } = schema;
      for (const alt of alternatives) out.push(...breakages(combine(rest, alt), value, resolve));
    }
    return out;
  }
  if (schema.not !== undefined) {
    const { not: _not, ...rest } = schema;
    return breakages(rest, value, resolve);
  }
  const other = otherType(schema);
  if (other !== null) out.push(other);
  if (typeof value === "string") {
    const length = [...value].length;
    if (typeof schema.maxLength === "number") {
      out.push({ how: `longer than ${schema.maxLength}`, value: "a".repeat(schema.maxLength + 1) });
    }
    if (typeof schema.minLength === "number" && schema.minLength > 0) {
      out.push({ how: `shorter than ${schema.minLength}`, value: "" });
    }
    const re = patternOf(schema);
    if (re !== null || typeof schema.format === "string") {
      for (const s of ["", " ", "not valid!", `${value}\u0000`, `\n${value}`, "-1", "2026-13-45"]) {
        if ((re === null || !re.test(s)) && s !== value) {
          out.push({ how: `${JSON.stringify(s)} off the pattern or format`, value: s });
        }
      }
    }
    void length;
  }
  if (typeof value === "number") {
    if (typeof schema.maximum === "number") {
      out.push({ how: "above maximum", value: schema.maximum + 1 });
    }
    if (typeof schema.minimum === "number") {
      out.push({ how: "below minimum", value: schema.minimum - 1 });
    }
    if (typeof schema.exclusiveMaximum === "number") {
      out.push({ how: "at the exclusive maximum", value: schema.exclusiveMaximum });
    }
    if (typeof schema.exclusiveMinimum === "number") {
      out.push({ how: "at the exclusive minimum", value: schema.exclusiveMinimum });
    }
    if (typeIs(schema, "integer") && !typeIs(schema, "number")) {
      out.push({ how: "not a whole number", value: value + 0.5 });
    }
  }
  if (Array.isArray(value)) {
    if (typeof schema.maxItems === "number") {
      out.push({
        how: `more than ${schema.maxItems} items`,
        value: Array.from(
          { length: schema.maxItems + 1 },
          (_, i) => value[i % Math.max(1, value.length)] ?? value[0],
        ),
      });
    }
    if (typeof schema.minItems === "number" && schema.minItems > 0) {
      out.push({ how: "too few items", value: [] });
    }
    const items = schema.items as Schema | undefined;
    if (items !== undefined) {
      value.forEach((item, i) => {
        for (const b of breakages(items, item, resolve)) {
          const copy = [...value];
          copy[i] = b.value;
          out.push({ how: `[${i}]: ${b.how}`, value: copy });
        }
      });
    }
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const name of (schema.required ?? []) as string[]) {
      const { [name]: _, ...rest } = obj;
      out.push({ how: `without ${name}`, value: rest });
    }
    if (schema.additionalProperties === false) {
      out.push({ how: "an unknown property", value: { ...obj, unknownProperty: 1 } });
    }
    const names = schema.propertyNames as Schema | undefined;
    const extra = schema.additionalProperties;
    if (names !== undefined && extra !== undefined && typeof extra === "object") {
      const sample = Object.values(obj)[0];
      if (sample !== undefined) {
        for (const bad of ["", "has space", "a".repeat(300), "__proto__", "constructor"]) {
          const re = patternOf(names);
          const maxLength = names.maxLength as number | undefined;
          const offPattern = re !== null && !re.test(bad);
          const tooLong = maxLength !== undefined && [...bad].length > maxLength;
          if (offPattern || tooLong || (names.minLength !== undefined && bad === "")) {
            const broken = JSON.parse(`{${JSON.stringify(bad)}:${JSON.stringify(sample)}}`);
            out.push({ how: `key ${JSON.stringify(bad)}`, value: { ...obj, ...broken } });
          }
        }
      }
    }
    if (typeof schema.minProperties === "number" && schema.minProperties > 0) {
      out.push({ how: "no properties", value: {} });
    }
    for (
      const [key, needs] of Object.entries(
        (schema.dependentRequired ?? {}) as Record<string, string[]>,
      )
    ) {
      if (key in obj) {
        for (const need of needs) {
          const { [need]: _, ...rest } = obj;
          out.push({ how: `${key} without ${need}`, value: rest });
        }
      }
    }
    for (const [name, v] of Object.entries(obj)) {
      const property = properties[name] ??
        (typeof extra === "object" ? extra as Schema : undefined);
      if (property === undefined) continue;
      for (const b of breakages(property, v, resolve)) {
        out.push({ how: `${name}: ${b.how}`, value: { ...obj, [name]: b.value } });
      }
    }
  }
  return out;
}

function typeIs(schema: Schema, type: string): boolean {
  return typesOf(schema)?.includes(type) ?? false;
}
