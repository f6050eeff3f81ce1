/**
 * What a device raises and clears, from what its analytics signalled about a reading: a
 * threshold violation (cleared once every sensor is back in range), a rapid change, a pattern
 * anomaly. Alerts go through the cross-area contracts, so the devices area does not depend on
 * the alerts area.
 *
 * @module
 */
import type { ActorContext } from "../../runtime/mod.ts";
import { clearAlert, raiseAlert } from "../contracts.ts";
import type { Signal } from "./analytics.ts";
import type { DeviceState } from "./device_state.ts";
import type { ThresholdRange } from "./thresholds.ts";

/** The alert source of a device: `device/<id>`. */
export function deviceSource(id: string): string {
  return `device/${id}`;
}

function rangeText(r: ThresholdRange): string {
  return `[${r.min ?? "-∞"}, ${r.max ?? "∞"}]`;
}

/**
 * Keeps the device's record of its open threshold alert for what the analytics signalled
 * (`signals` in reading order): open on a violation, closed once every sensor is back in range.
 * Part of folding a reading into the state (`device_events.ts`).
 * @returns when the alert closed (the reading back in range), or `null` if it did not
 */
export function trackAlerts(s: DeviceState, signals: readonly Signal[]): number | null {
  let backInRange: number | null = null;
  for (const sig of signals) {
    if (sig.kind === "threshold") s.alerts.threshold = true;
    else if (sig.kind === "threshold_ok") backInRange = sig.ts;
  }
  if (backInRange === null || !s.alerts.threshold) return null;
  for (const sensor in s.analytics) if (s.analytics[sensor]!.out) return null;
  s.alerts.threshold = false;
  return backInRange;
}

/**
 * Raises the alerts the analytics signalled (`signals` in reading order) and clears the
 * threshold alert if {@link trackAlerts} closed it (`cleared`: when). Changes no state.
 */
export function alertFor(
  ctx: ActorContext<DeviceState>,
  signals: readonly Signal[],
  cleared: number | null,
): void {
  const src = deviceSource(ctx.id);
  for (const sig of signals) {
    switch (sig.kind) {
      case "threshold":
        raiseAlert(ctx, {
          source: src,
          type: "threshold_violation",
          severity: "high",
          message: `${sig.sensor} ${shown(sig.value)} is outside ${rangeText(sig.range)}`,
          data: {
            sensor: sig.sensor,
            value: sig.value,
            min: sig.range.min ?? null,
            max: sig.range.max ?? null,
            ts: sig.ts,
            late: sig.late,
          },
          at: sig.ts,
        });
        break;
      case "rapid":
        raiseAlert(ctx, {
          source: src,
          type: "rapid_change",
          severity: "medium",
          message: `${sig.sensor} is ${sig.trend.replace("_", " ")} (now ${shown(sig.value)})`,
          data: { sensor: sig.sensor, trend: sig.trend, value: sig.value, ts: sig.ts },
          at: sig.ts,
        });
        break;
      case "anomaly":
        raiseAlert(ctx, {
          source: src,
          type: "pattern_anomaly",
          severity: sig.level === 2 ? "critical" : "high",
          message: `${sig.sensor} ${shown(sig.value)} is unusual for its last 60 s ` +
            `(anomaly score ${Math.round(sig.score * 100) / 100})`,
          data: { sensor: sig.sensor, value: sig.value, score: sig.score, z: sig.z, ts: sig.ts },
          at: sig.ts,
        });
    }
  }
  if (cleared !== null) clearAlert(ctx, src, "threshold_violation", cleared);
}

/**
 * A reading for a message to people: the integer digits and two more, at least 4 significant
 * digits and at most 21 (what `toPrecision` and plain notation reach); the data keeps it all.
 */
function shown(value: number): string {
  const digits = Math.ceil(Math.log10(Math.abs(value) + 1)) + 2;
  return String(Number(value.toPrecision(Math.min(21, Math.max(4, digits)))));
}
