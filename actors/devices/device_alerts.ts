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
 * Raises and clears alerts for what the analytics signalled (`signals` in reading order), and
 * keeps the device's record of its open threshold alert.
 */
export function alertFor(ctx: ActorContext<DeviceState>, signals: Signal[]): void {
  const s = ctx.state;
  const src = deviceSource(ctx.id);
  let backInRange: number | null = null;
  for (const sig of signals) {
    switch (sig.kind) {
      case "threshold":
        s.alerts.threshold = true;
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
      case "threshold_ok":
        backInRange = sig.ts;
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
  if (backInRange !== null && s.alerts.threshold) {
    for (const sensor in s.analytics) if (s.analytics[sensor]!.out) return;
    s.alerts.threshold = false;
    clearAlert(ctx, src, "threshold_violation", backInRange);
  }
}

/**
 * A reading for a message to people: the integer digits and two more, at least 4 significant
 * digits and at most 21 (what `toPrecision` and plain notation reach); the data keeps it all.
 */
function shown(value: number): string {
  const digits = Math.ceil(Math.log10(Math.abs(value) + 1)) + 2;
  return String(Number(value.toPrecision(Math.min(21, Math.max(4, digits)))));
}
