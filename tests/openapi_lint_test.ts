/**
 * The API document passes Redocly's linter (its `recommended` rules, as `redocly lint` runs
 * them by default) with no error, whichever tokens are configured. The only warnings allowed
 * are `operation-4xx-response` on operations that take no input at all (health, metrics, the
 * document itself), which have no client error to describe.
 */
import { createConfig, lintFromString } from "@redocly/openapi-core";
import { assertEquals } from "./helpers/assert.ts";
import { testApp } from "./helpers/app.ts";
import type { AuthTokens } from "../routes/auth.ts";

const AUTHS: [string, AuthTokens | null][] = [
  ["authentication off", null],
  ["an API token", { apiToken: "lint-api-token-0123456789" }],
  ["an API token and a read-only token", {
    apiToken: "lint-api-token-0123456789",
    readToken: "lint-read-token-0123456789",
  }],
];

for (const [name, auth] of AUTHS) {
  Deno.test(`the OpenAPI document lints clean with ${name}`, async () => {
    const t = await testApp({ auth });
    try {
      const text = await (await t.app.request("/openapi.json")).text();
      const doc = JSON.parse(text);
      const config = await createConfig({ extends: ["recommended"] });
      const problems = await lintFromString({
        source: text,
        absoluteRef: "/openapi.json",
        config,
      });
      const shown = problems.map((p) =>
        `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`
      );
      assertEquals(shown.filter((p) => p.startsWith("error")), [], "no errors");
      const inputless = new Set<string>();
      for (const [path, methods] of Object.entries(doc.paths) as [string, object][]) {
        for (const [method, op] of Object.entries(methods)) {
          if ((op.parameters ?? []).length === 0 && op.requestBody === undefined) {
            inputless.add(`#/paths/${path.replaceAll("/", "~1")}/${method}/responses`);
          }
        }
      }
      const unexpected = problems.filter((p) =>
        !(p.ruleId === "operation-4xx-response" && inputless.has(p.location[0]?.pointer ?? ""))
      ).map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`);
      assertEquals(unexpected, [], "no warnings but 4xx on operations without input");
    } finally {
      await t.close();
    }
  });
}
