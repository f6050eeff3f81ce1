/**
 * Checks of configured numbers, run once when an area's configuration is resolved: a setting
 * out of range stops the node at start with a {@link ConfigError} that names it, instead of
 * misbehaving later.
 *
 * @module
 */
import { ConfigError } from "../../runtime/mod.ts";

/**
 * Checks that a configured number is finite and lies in `[min, max]`; returns it.
 * @param what the setting's dotted name, e.g. `sessions.severities.high`
 * @throws {ConfigError} naming the setting and the value found
 */
export function checkRange(value: number, min: number, max: number, what: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(`${what} must be a number in [${min}, ${max}], got ${value}`);
  }
  return value;
}

/**
 * Checks that a configured count is a whole number of at least `min`; returns it.
 * @param what the setting's dotted name, e.g. `alerts.rollup.keepWindows`
 * @throws {ConfigError} naming the setting and the value found
 */
export function checkCount(value: number, min: number, what: string): number {
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(`${what} must be a whole number ≥ ${min}, got ${value}`);
  }
  return value;
}
