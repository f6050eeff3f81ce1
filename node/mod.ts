/**
 * The composition root: a node's configuration and its assembly. It may import `runtime/`,
 * `actors/` and `routes/`; none of them imports it.
 *
 * @module
 */
export { assemble, type AssembleOverrides, type FlotillaNode } from "./assemble.ts";
export {
  ACTOR_HEAP_BUDGET,
  defaultMaxActiveActors,
  loadConfig,
  type NodeConfig,
  STORES,
} from "./config.ts";
