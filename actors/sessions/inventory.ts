/**
 * The store's inventory: one actor (`inventory/main`) holding the stock of every sku, so that a
 * checkout touching several skus is decided and applied in one command — all its decrements
 * or none, never half a basket. (An actor per sku would need reserve/commit across actors with
 * expiring reservations and a coordinator that survives crashes; one actor is simpler and,
 * with group commit, fast enough for a store's few thousand skus. `maxSkus` bounds it.)
 *
 * Checkouts are idempotent by `checkoutId`: the last {@link REMEMBERED_CHECKOUTS} results are
 * kept, and a retry gets the first result without touching the stock.
 *
 * @module
 */
import { type ActorContext, defineActor, ValidationError } from "../../runtime/mod.ts";
import {
  type CheckoutDecision,
  type CheckoutItem,
  decideCheckout,
  requestedBySku,
} from "./checkout.ts";
import { type ResolvedSessionsConfig, resolveSessionsConfig } from "./config.ts";
import { InventoryFullError } from "./errors.ts";

/** The inventory actor type's name. */
export const INVENTORY = "inventory";
/** The id of the one inventory actor. */
export const INVENTORY_ID = "main";
/** Checkout results remembered for idempotent retries. */
export const REMEMBERED_CHECKOUTS = 1000;

/** The inventory's state. */
export interface InventoryState {
  /** Available units by sku. */
  stock: Record<string, number>;
  /** Results of recent checkouts by `customer/checkoutId`. */
  results: Record<string, CheckoutResult>;
  /** Their ids, oldest first. */
  order: string[];
}

/** What the inventory is asked to check out. */
export interface CheckoutCommand {
  readonly checkoutId: string;
  readonly customer: string;
  readonly items: readonly CheckoutItem[];
  /** The customer's credit score, or `null` without a profile (the configured default applies). */
  readonly creditScore: number | null;
}

/** The result of a checkout. */
export interface CheckoutResult extends CheckoutDecision {
  readonly checkoutId: string;
  readonly customer: string;
  /** The credit score the approval rule used. */
  readonly creditScore: number;
  /** When it was decided (epoch ms). */
  readonly at: number;
  /** The stock was decremented (approved checkouts only). */
  readonly applied: boolean;
}

type Ctx = ActorContext<InventoryState>;

/** The inventory actor type, for a configuration. */
export function inventoryActor(config: ResolvedSessionsConfig) {
  const c = config.checkout;
  return defineActor({
    name: INVENTORY,
    initialState: (): InventoryState => ({ stock: {}, results: {}, order: [] }),
    handlers: {
      /** Sets a sku's available units. */
      set(ctx: Ctx, msg: { sku: string; available: number }) {
        const s = ctx.state;
        if (!Object.hasOwn(s.stock, msg.sku) && Object.keys(s.stock).length >= c.maxSkus) {
          throw new InventoryFullError(c.maxSkus);
        }
        s.stock[msg.sku] = msg.available;
        return { sku: msg.sku, available: msg.available };
      },
      /** Decides a checkout and, when approved, takes its items from the stock — all or none. */
      checkout(ctx: Ctx, cmd: CheckoutCommand): CheckoutResult & { replayed: boolean } {
        const s = ctx.state;
        const key = `${cmd.customer}/${cmd.checkoutId}`;
        const known = s.results[key];
        if (known !== undefined) return { ...known, replayed: true };
        if (cmd.items.length > c.maxItems) {
          throw new ValidationError("too many items", [{
            path: "items",
            message: `at most ${c.maxItems} items (sessions.checkout.maxItems)`,
          }]);
        }
        const creditScore = cmd.creditScore ?? c.defaultCreditScore;
        const decision = decideCheckout(cmd.items, (sku) => s.stock[sku] ?? 0, creditScore, c);
        const applied = decision.status === "approved";
        if (applied) {
          for (const [sku, n] of requestedBySku(cmd.items)) s.stock[sku] = (s.stock[sku] ?? 0) - n;
        }
        const result: CheckoutResult = {
          ...decision,
          checkoutId: cmd.checkoutId,
          customer: cmd.customer,
          creditScore,
          at: ctx.now(),
          applied,
        };
        s.results[key] = result;
        s.order.push(key);
        while (s.order.length > REMEMBERED_CHECKOUTS) delete s.results[s.order.shift()!];
        return { ...result, replayed: false };
      },
    },
    queries: {
      /** A sku's available units, or `null` for a sku never set. */
      get(ctx: Ctx, sku: string): { sku: string; available: number } | null {
        const n = ctx.state.stock[sku];
        return n === undefined ? null : { sku, available: n };
      },
    },
    options: { persistence: "snapshot", passivateAfter: "PT1H" },
  });
}

/** The inventory actor type with the default configuration, for typing refs. */
export const inventory = inventoryActor(resolveSessionsConfig());
