/**
 * Configuration of the counters area: every limit with its default, overridable field by field.
 *
 * @module
 */
import { ConfigError } from "../../../runtime/mod.ts";

/** The settings of the area. */
export interface CountersConfig {
  /** The largest count a counter may reach. @default 1000 */
  readonly max: number;
}

/** The defaults. */
export const DEFAULT_COUNTERS: CountersConfig = { max: 1000 };

/**
 * The configuration with every default filled in.
 * @throws {ConfigError} naming the setting that is wrong
 */
export function resolveCountersConfig(config: Partial<CountersConfig> = {}): CountersConfig {
  const max = config.max ?? DEFAULT_COUNTERS.max;
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new ConfigError(`counters.max=${max}: use a whole number of at least 1`);
  }
  return { max };
}
