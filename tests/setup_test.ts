/**
 * tools/setup.ts, the first step of `deno task test`: what it looks for, and what it decides
 * on a machine with everything, as root with apt, as another user, and without apt. (The
 * install itself was checked once by hand on a fresh Debian root: it needs root and the
 * network, which a test must not.)
 *
 * @module
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { type Machine, missingPackages, plan, requirements } from "../tools/setup.ts";

const ENV = { PATH: "/home/me/bin:/usr/bin" };

function machine(present: readonly string[], root: boolean, apt: boolean): Machine {
  return { isExecutable: (p) => present.includes(p), root, apt };
}

const ALL = [
  "/usr/sbin/nats-server",
  "/usr/bin/redis-server",
  "/usr/bin/mosquitto_pub",
  "/usr/bin/chromium",
];

Deno.test("setup: looks where the tests look", () => {
  const needs = requirements(ENV);
  assertEquals(needs.map((r) => r.package), [
    "nats-server",
    "redis-server",
    "mosquitto-clients",
    "chromium",
  ]);
  const nats = needs[0]!.paths;
  assertEquals(nats.slice(0, 3), [
    "/home/me/bin/nats-server",
    "/usr/bin/nats-server",
    "/usr/sbin/nats-server",
  ]);
  assertEquals(new Set(nats).size, nats.length, "each directory once");
  assertEquals(needs[2]!.paths, ["/usr/bin/mosquitto_pub"]);
  assertEquals(needs[3]!.paths, ["/usr/bin/chromium"]);
  // The test helpers' override variable replaces the search.
  assertEquals(requirements({ ...ENV, FLOTILLA_REDIS_SERVER: "/opt/redis/bin/redis-server" })[1], {
    package: "redis-server",
    paths: ["/opt/redis/bin/redis-server"],
  });
});

Deno.test("setup: nothing to do when every program is there, whoever runs it", () => {
  for (const root of [true, false]) {
    for (const apt of [true, false]) {
      assertEquals(plan(requirements(ENV), machine(ALL, root, apt)), { action: "none" });
    }
  }
  // Found anywhere on PATH counts too.
  const elsewhere = ["/home/me/bin/nats-server", ...ALL.slice(1)];
  assertEquals(missingPackages(requirements(ENV), machine(elsewhere, false, true)), []);
});

Deno.test("setup: as root with apt it installs exactly what is missing", () => {
  const present = ALL.filter((p) => !p.includes("chromium") && !p.includes("nats"));
  assertEquals(plan(requirements(ENV), machine(present, true, true)), {
    action: "install",
    packages: ["nats-server", "chromium"],
  });
  assertEquals(plan(requirements(ENV), machine([], true, true)), {
    action: "install",
    packages: ["nats-server", "redis-server", "mosquitto-clients", "chromium"],
  });
});

Deno.test("setup: otherwise one line with the command to run", () => {
  const present = ALL.filter((p) => !p.includes("mosquitto"));
  const user = plan(requirements(ENV), machine(present, false, true));
  assertEquals(user, {
    action: "tell",
    message: "setup: the tests need mosquitto-clients, not installed here: run " +
      "`sudo apt-get install -y mosquitto-clients`, then the tests again",
  });
  const noApt = plan(requirements(ENV), machine([], true, false));
  assert(noApt.action === "tell");
  assert(!noApt.message.includes("\n"), "one line");
  assert(
    noApt.message.includes(
      "(on Debian or Ubuntu: `sudo apt-get install -y nats-server redis-server " +
        "mosquitto-clients chromium`)",
    ),
    noApt.message,
  );
});
