import { splitCredentials } from "../runtime/nats/connection.ts";
import { ConfigError } from "../runtime/mod.ts";
import { assertEquals, assertThrows } from "./helpers/assert.ts";

Deno.test("splitCredentials takes user and password out of NATS URLs", () => {
  assertEquals(splitCredentials(["nats://127.0.0.1:4222"]), { urls: ["nats://127.0.0.1:4222"] });
  assertEquals(splitCredentials(["nats://node:s%40cret@a:4222", "nats://node:s%40cret@b:4222"]), {
    urls: ["nats://a:4222", "nats://b:4222"],
    user: "node",
    pass: "s@cret",
  });
  assertEquals(splitCredentials(["tls://token@host:4222"]), {
    urls: ["tls://host:4222"],
    user: "token",
    pass: "",
  });
  assertThrows(() => splitCredentials(["nats://a:x@h1:1", "nats://b:y@h2:2"]), ConfigError);
});
