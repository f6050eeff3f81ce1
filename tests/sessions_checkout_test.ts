/**
 * Smart-store checkout: the approval rule at its boundaries, the inventory check,
 * and the inventory actor applying a basket all-or-nothing and idempotently.
 */
import { decideCheckout, parseCheckout, totalOf } from "../actors/sessions/checkout.ts";
import { resolveSessionsConfig } from "../actors/sessions/config.ts";
import * as sessions from "../actors/sessions/mod.ts";
import { ValidationError } from "../runtime/mod.ts";
import { assertEquals, assertThrows } from "./helpers/assert.ts";
import { prng } from "./helpers/random.ts";
import { setup } from "./helpers/system.ts";

const checkout = resolveSessionsConfig().checkout;
/** For typed references (the registered definition has the same name). */
const INVENTORY = sessions.inventoryActor(resolveSessionsConfig());
const plenty = () => 1_000_000;
const basket = (total: number) => [{ sku: "tv", price: total, quantity: 1 }];

Deno.test("checkout total above 100,000 with a credit score below 0.3 needs approval", () => {
  const status = (total: number, credit: number) =>
    decideCheckout(basket(total), plenty, credit, checkout).status;
  assertEquals(status(100_000, 0.1), "approved", "exactly 100,000 is not above");
  assertEquals(status(100_001, 0.1), "approval_required");
  assertEquals(status(100_000.01, 0.29), "approval_required");
  assertEquals(status(100_001, 0.3), "approved", "a credit score of exactly 0.3 is not below");
  assertEquals(status(100_001, 0.29), "approval_required");
  assertEquals(status(1_000_000, 0.9), "approved");
});

Deno.test("checkout total is the sum of price times quantity, rounded to cents", () => {
  assertEquals(
    totalOf([{ sku: "a", price: 1500, quantity: 3 }, { sku: "b", price: 250, quantity: 2 }]),
    5000,
  );
  assertEquals(totalOf([{ sku: "a", price: 0.1, quantity: 3 }]), 0.3);
  const rnd = prng(3);
  for (let i = 0; i < 500; i++) {
    const items = Array.from({ length: rnd.int(1, 6) }, () => ({
      sku: "x",
      price: rnd.int(0, 100_000),
      quantity: rnd.int(1, 10),
    }));
    assertEquals(totalOf(items), items.reduce((s, x) => s + x.price * x.quantity, 0));
  }
});

Deno.test("checkout lists every unavailable item, counting a sku's lines together", () => {
  const stock: Record<string, number> = { milk: 3, bread: 1 };
  const d = decideCheckout(
    [
      { sku: "milk", price: 2, quantity: 2 },
      { sku: "milk", price: 2, quantity: 2 },
      { sku: "bread", price: 3, quantity: 1 },
      { sku: "caviar", price: 500, quantity: 1 },
    ],
    (sku) => stock[sku] ?? 0,
    0.9,
    checkout,
  );
  assertEquals(d, {
    status: "inventory_error",
    total: 511,
    unavailable: [
      { sku: "milk", requested: 4, available: 3 },
      { sku: "caviar", requested: 1, available: 0 },
    ],
  });
});

Deno.test("checkout bodies are validated", () => {
  assertThrows(() => parseCheckout({ items: [] }), ValidationError);
  assertThrows(
    () => parseCheckout({ items: [{ sku: "a", price: -1, quantity: 1 }] }),
    ValidationError,
  );
  assertThrows(
    () => parseCheckout({ items: [{ sku: "a", price: 1, quantity: 1.5 }] }),
    ValidationError,
  );
  assertThrows(
    () => parseCheckout({ items: [{ sku: "a b", price: 1, quantity: 1 }] }),
    ValidationError,
  );
  const e = assertThrows(
    () => parseCheckout({ items: [{ sku: "a", price: "1", quantity: 0 }], extra: 1 }),
    ValidationError,
  );
  assertEquals(e.issues.map((i) => i.path).sort(), ["", "items.0.price", "items.0.quantity"]);
});

Deno.test("checkout the inventory applies a basket all or nothing, and a retry changes nothing", async () => {
  const { system } = setup(sessions.actors(), { logs: "discard" });
  await system.start();
  const inv = system.ref(INVENTORY, sessions.INVENTORY_ID);
  await inv.ask("set", { sku: "milk", available: 5 });
  await inv.ask("set", { sku: "bread", available: 1 });
  const buy = (
    checkoutId: string,
    items: { sku: string; price: number; quantity: number }[],
    creditScore: number | null = 0.9,
  ) => inv.ask("checkout", { checkoutId, customer: "c1", items, creditScore });
  const stock = async () => [
    (await inv.ask("get", "milk"))?.available,
    (await inv.ask("get", "bread"))?.available,
  ];

  const short = await buy("k1", [{ sku: "milk", price: 2, quantity: 2 }, {
    sku: "bread",
    price: 3,
    quantity: 2,
  }]);
  assertEquals([short.status, short.applied], ["inventory_error", false]);
  assertEquals(await stock(), [5, 1], "nothing taken when one item is short");

  const big = await buy("k2", [{ sku: "milk", price: 60_000, quantity: 2 }], 0.1);
  assertEquals([big.status, big.total, big.applied], ["approval_required", 120_000, false]);
  assertEquals(await stock(), [5, 1], "nothing taken while approval is required");

  const ok = await buy("k3", [{ sku: "milk", price: 2, quantity: 2 }, {
    sku: "bread",
    price: 3,
    quantity: 1,
  }]);
  assertEquals([ok.status, ok.total, ok.applied, ok.replayed], ["approved", 7, true, false]);
  assertEquals(await stock(), [3, 0]);

  const again = await buy("k3", [{ sku: "milk", price: 2, quantity: 2 }, {
    sku: "bread",
    price: 3,
    quantity: 1,
  }]);
  assertEquals([again.status, again.replayed, again.at], ["approved", true, ok.at]);
  assertEquals(await stock(), [3, 0], "a retried checkout takes nothing twice");

  const noProfile = await buy("k4", [{ sku: "milk", price: 100_001, quantity: 1 }], null);
  assertEquals(
    [noProfile.status, noProfile.creditScore],
    ["approved", 0.5],
    "the default credit score is 0.5",
  );
  await system.shutdown();
});

Deno.test("checkout concurrent baskets never take more than the stock, nor half a basket (property)", async () => {
  const { system } = setup(sessions.actors(), { logs: "discard" });
  await system.start();
  const inv = system.ref(INVENTORY, sessions.INVENTORY_ID);
  const rnd = prng(11);
  const skus = ["a", "b", "c"];
  for (const sku of skus) await inv.ask("set", { sku, available: 20 });
  const baskets = Array.from(
    { length: 60 },
    () =>
      ["a", ...skus.filter(() => rnd.next() < 0.6)].map((sku) => ({
        sku,
        price: 1,
        quantity: rnd.int(1, 4),
      })),
  );
  const results = await Promise.all(
    baskets.map((items, i) =>
      inv.ask("checkout", { checkoutId: `k${i}`, customer: `c${i % 7}`, items, creditScore: 0.9 })
    ),
  );
  for (const sku of skus) {
    const taken = results.reduce(
      (n, r, i) =>
        n +
        (r.applied
          ? baskets[i]!.filter((x) => x.sku === sku).reduce((q, x) => q + x.quantity, 0)
          : 0),
      0,
    );
    const left = (await inv.ask("get", sku))!.available;
    assertEquals(left, 20 - taken, `${sku}: the stock is what approved baskets left`);
    assertEquals(left >= 0, true, `${sku} never goes below zero`);
  }
  assertEquals(results.some((r) => r.status === "inventory_error"), true, "the stock ran out");
  await system.shutdown();
});
