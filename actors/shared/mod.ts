/**
 * What the areas of the domain share and the HTTP routes use too: entity ids, event times, and
 * how a zod schema's problems become a `ValidationError`. (The other files of this folder —
 * watermarks, windows, distinct counts, geo, time zones, JSON — are imported by the areas
 * directly.)
 *
 * @module
 */
export { checkId, ENTITY_ID } from "./ids.ts";
export { eventTime, INSTANT, instantMillis, TimeOutOfRangeError } from "./event_time.ts";
export { characters, durationMs, text } from "./schemas.ts";
export { TIME_ZONES, timeZoneName } from "./time_zone.ts";
export { fieldIssue, fieldIssues, parseOrThrow } from "./validation.ts";
