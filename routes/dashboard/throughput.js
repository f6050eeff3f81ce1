// @ts-check
/**
 * The throughput chart: telemetry events per second seen on the stream, over the last minutes
 * (the window grows a minute at a time, up to five), and the rate in the key figures.
 *
 * @module
 */
import { colors, disc, line, Surface, trace } from "./canvas.js";
import { $, byId, setText } from "./dom.js";
import { fmtCount, fmtNumber } from "./format.js";
import { niceStep } from "./plot.js";
import { PerSecond } from "./rate.js";

/** Seconds counted: the widest window. */
const SECONDS = 300;
/** The plot's margin, for the axes' labels. */
const MARGIN = Object.freeze({ left: 40, right: 10, top: 12, bottom: 22 });

export function createThroughput() {
  const canvas = byId("throughput", HTMLCanvasElement);
  const surface = new Surface(canvas, draw);
  const counts = new PerSecond(SECONDS);
  const started = Date.now();

  function draw() {
    const { ctx, width, height } = surface.begin();
    const now = Date.now();
    const minutes = Math.min(5, Math.max(1, Math.ceil((now - started + 1) / 60_000)));
    const n = minutes * 60;
    // Complete seconds only: the current one is still counting.
    const values = counts.last(now, n);
    const last5 = values.slice(-5);
    const rate = last5.reduce((a, b) => a + b, 0) / last5.length;
    const peak = Math.max(...values);
    const total = values.reduce((a, b) => a + b, 0);
    setText($("kpi-rate"), fmtNumber(rate));
    setText($("tp-summary"), `${fmtNumber(rate)}/s now · peak ${fmtNumber(peak)}/s`);
    canvas.title = `${fmtCount(total)} telemetry events in the last ${minutes} min`;

    const c = colors();
    const m = MARGIN;
    const w = width - m.left - m.right;
    const h = height - m.top - m.bottom;
    ctx.clearRect(0, 0, width, height);
    const yMax = Math.max(5, peak * 1.15);
    const step = niceStep(yMax, 4);
    ctx.font = "11px system-ui, sans-serif";
    ctx.lineWidth = 1;
    ctx.fillStyle = c.muted;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (let v = 0; v <= yMax; v += step) {
      const y = Math.round(m.top + h - (v / yMax) * h) + 0.5;
      line(ctx, v === 0 ? c.axis : c.grid, m.left, y, width - m.right, y);
      ctx.fillText(fmtNumber(v), m.left - 6, y);
    }
    ctx.textBaseline = "top";
    for (let k = 0; k <= minutes; k++) {
      const x = m.left + (k / minutes) * w;
      ctx.textAlign = k === 0 ? "left" : k === minutes ? "right" : "center";
      ctx.fillText(k === minutes ? "now" : `−${minutes - k} min`, x, m.top + h + 7);
    }
    /** @param {number} i */
    const xOf = (i) => m.left + ((i + 1) / n) * w;
    /** @param {number} v */
    const yOf = (v) => m.top + h - (v / yMax) * h;
    const curve = values.map((v, i) => /** @type {const} */ ([xOf(i), yOf(v)]));
    const gradient = ctx.createLinearGradient(0, m.top, 0, m.top + h);
    gradient.addColorStop(0, c.fill);
    gradient.addColorStop(1, "rgba(0,0,0,0)");
    trace(ctx, [[xOf(-1), yOf(0)], ...curve, [xOf(n - 1), yOf(0)]]);
    ctx.closePath();
    ctx.fillStyle = gradient;
    ctx.fill();
    trace(ctx, curve);
    ctx.strokeStyle = c.line;
    ctx.lineWidth = 1.75;
    ctx.stroke();
    ctx.fillStyle = c.line;
    disc(ctx, xOf(n - 1), yOf(values[values.length - 1] ?? 0), 3);
  }

  return {
    /**
     * Counts one telemetry message, at `at` (epoch ms).
     * @param {number} at
     */
    count(at) {
      counts.add(at);
    },
    draw,
  };
}
