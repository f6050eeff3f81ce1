// @ts-check
/**
 * The map of robots: the devices that report coordX and coordY. The view fits where they are
 * and where they were (their recent trails), at one scale on both axes, y growing upwards;
 * the view and the markers ease towards where they should be.
 *
 * @module
 */
import { colors, disc, line, Surface, trace } from "./canvas.js";
import { $, byId, setText } from "./dom.js";
import { fmtNumber, fmtTick } from "./format.js";
import { approach, fitExtent, niceStep, transformFor, withAlpha } from "./plot.js";

/** @typedef {import("./store.js").Fleet} Fleet */
/** @typedef {import("./store.js").Robot} Robot */
/** @typedef {import("./plot.js").Transform} Transform */

/**
 * Where the map draws a robot (CSS pixels within the canvas) and where it is (map units);
 * `settled`: the marker and the view have stopped moving.
 * @typedef {{ id: string, x: number, y: number, left: number, top: number, settled: boolean }} Marker
 */

/** Up to this many robots, each has its name beside it (otherwise only when hovered). */
const LABELS_AT_MOST = 30;
/** Up to this many robots, trails fade and markers are large. */
const DETAIL_AT_MOST = 60;
/** How near (px) the pointer must come to a marker to show its tooltip. */
const HOVER_PX = 14;

/**
 * Every position on the map: the robots' and their trails'.
 * @param {Fleet} fleet
 * @returns {Generator<readonly [number, number]>}
 */
function* positions(fleet) {
  for (const r of fleet.robots.values()) {
    yield [r.x, r.y];
    yield* r.trail;
  }
}

/** @param {Fleet} fleet */
export function createMap(fleet) {
  const canvas = byId("map", HTMLCanvasElement);
  const tip = $("map-tip");
  const surface = new Surface(canvas, requestFrame);
  const view = { minX: -1, maxX: 1, minY: -1, maxY: 1, ready: false };
  let frame = 0;
  /** @type {string | null} the robot under the pointer */
  let hovered = null;

  function requestFrame() {
    if (frame === 0) frame = requestAnimationFrame(draw);
  }

  /** @param {Robot} r */
  function colorOf(r) {
    return r.status === "online" ? colors().accent : colors().muted;
  }

  function draw() {
    frame = 0;
    const { ctx, width, height } = surface.begin();
    const target = fitExtent(positions(fleet));
    let moving = false;
    /**
     * @param {number} from
     * @param {number} to
     */
    const ease = (from, to) => {
      const next = approach(from, to);
      if (next !== to) moving = true;
      return next;
    };
    if (!view.ready) {
      Object.assign(view, target, { ready: fleet.robots.size > 0 });
    } else {
      view.minX = ease(view.minX, target.minX);
      view.maxX = ease(view.maxX, target.maxX);
      view.minY = ease(view.minY, target.minY);
      view.maxY = ease(view.maxY, target.maxY);
    }
    for (const r of fleet.robots.values()) {
      r.drawX = ease(r.drawX, r.x);
      r.drawY = ease(r.drawY, r.y);
    }
    const t = transformFor(view, width, height);
    ctx.clearRect(0, 0, width, height);
    if (fleet.robots.size === 0) return;

    const step = drawGrid(ctx, t, width, height);
    drawTrails(ctx, t);
    drawMarkers(ctx, t, width);
    const n = fleet.robots.size;
    setText($("map-extent"), `${n} robot${n === 1 ? "" : "s"} · grid ${fmtTick(step, step)} units`);
    if (hovered !== null) placeTip(t);
    if (moving) requestFrame();
  }

  /**
   * The grid every round step, with the axes stronger and labelled ticks.
   * @param {CanvasRenderingContext2D} ctx
   * @param {Transform} t
   * @param {number} width
   * @param {number} height
   * @returns {number} the step
   */
  function drawGrid(ctx, t, width, height) {
    const c = colors();
    const { margin } = t;
    const left = t.fromX(margin.left);
    const right = t.fromX(width - margin.right);
    const bottom = t.fromY(height - margin.bottom);
    const top = t.fromY(margin.top);
    const step = niceStep(Math.max(right - left, top - bottom), 8);
    /** @param {number} v */
    const colorAt = (v) => Math.abs(v) < step / 1e6 ? c.axis : c.grid;
    ctx.lineWidth = 1;
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = c.muted;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (let x = Math.ceil(left / step) * step; x <= right; x += step) {
      const px = Math.round(t.toX(x)) + 0.5;
      line(ctx, colorAt(x), px, margin.top, px, height - margin.bottom);
      ctx.fillText(fmtTick(x, step), px, height - margin.bottom + 8);
    }
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (let y = Math.ceil(bottom / step) * step; y <= top; y += step) {
      const py = Math.round(t.toY(y)) + 0.5;
      line(ctx, colorAt(y), margin.left, py, width - margin.right, py);
      ctx.fillText(fmtTick(y, step), margin.left - 8, py);
    }
    return step;
  }

  /**
   * Trails fading behind each robot (one plain line each in a large fleet).
   * @param {CanvasRenderingContext2D} ctx
   * @param {Transform} t
   */
  function drawTrails(ctx, t) {
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    const fade = fleet.robots.size <= DETAIL_AT_MOST;
    for (const r of fleet.robots.values()) {
      /** @type {[number, number]} */
      const here = [r.drawX, r.drawY];
      const points = [...r.trail, here].map((
        [x, y],
      ) => /** @type {const} */ ([t.toX(x), t.toY(y)]));
      if (!fade) {
        ctx.strokeStyle = withAlpha(colorOf(r), 0.25);
        ctx.lineWidth = 1.5;
        trace(ctx, points);
        ctx.stroke();
        continue;
      }
      ctx.lineWidth = 2;
      for (let i = 1; i < points.length; i++) {
        const [x0, y0] = /** @type {readonly [number, number]} */ (points[i - 1]);
        const [x1, y1] = /** @type {readonly [number, number]} */ (points[i]);
        line(ctx, withAlpha(colorOf(r), (i / points.length) * 0.45), x0, y0, x1, y1);
      }
    }
  }

  /**
   * A marker per robot, with a halo (larger when hovered) and its name.
   * @param {CanvasRenderingContext2D} ctx
   * @param {Transform} t
   * @param {number} width
   */
  function drawMarkers(ctx, t, width) {
    const c = colors();
    const labels = fleet.robots.size <= LABELS_AT_MOST;
    const small = fleet.robots.size > DETAIL_AT_MOST;
    const radius = small ? 4 : 6;
    const halo = small ? 7 : 11;
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    ctx.font = "600 11.5px system-ui, sans-serif";
    for (const r of fleet.robots.values()) {
      const px = t.toX(r.drawX);
      const py = t.toY(r.drawY);
      const color = colorOf(r);
      ctx.fillStyle = withAlpha(color, 0.16);
      disc(ctx, px, py, hovered === r.id ? halo + 3 : halo);
      ctx.fillStyle = color;
      ctx.strokeStyle = c.card;
      ctx.lineWidth = 2;
      disc(ctx, px, py, radius);
      ctx.stroke();
      if (labels || hovered === r.id) {
        // Right of the marker, or left of it near the right edge.
        const right = px + 12 + ctx.measureText(r.id).width < width - 4;
        ctx.textAlign = right ? "left" : "right";
        ctx.fillStyle = c.text;
        ctx.fillText(r.id, right ? px + 12 : px - 12, py - 1);
      }
    }
  }

  /** @param {Transform} t */
  function placeTip(t) {
    const r = hovered === null ? undefined : fleet.robots.get(hovered);
    if (r === undefined) {
      tip.hidden = true;
      return;
    }
    setText(tip, `${r.id} · x ${fmtNumber(r.x)}, y ${fmtNumber(r.y)}`);
    tip.style.left = `${t.toX(r.drawX)}px`;
    tip.style.top = `${t.toY(r.drawY)}px`;
    tip.hidden = false;
  }

  canvas.addEventListener("pointermove", (e) => {
    const rect = canvas.getBoundingClientRect();
    const size = surface.size();
    const t = transformFor(view, size.width, size.height);
    const px = e.clientX - rect.left;
    const py = e.clientY - rect.top;
    /** @type {string | null} */
    let best = null;
    let bestDist = HOVER_PX * HOVER_PX;
    for (const r of fleet.robots.values()) {
      const dx = t.toX(r.drawX) - px;
      const dy = t.toY(r.drawY) - py;
      const dist = dx * dx + dy * dy;
      if (dist < bestDist) {
        best = r.id;
        bestDist = dist;
      }
    }
    if (best !== hovered) {
      hovered = best;
      if (best === null) tip.hidden = true;
      requestFrame();
    }
  });
  canvas.addEventListener("pointerleave", () => {
    hovered = null;
    tip.hidden = true;
    requestFrame();
  });

  return {
    /** Robots moved, came or changed presence: redraw. */
    changed() {
      if (fleet.robots.size > 0) $("map-empty").hidden = true;
      requestFrame();
    },
    /** Redraws (the theme changed). */
    redraw: requestFrame,
    /**
     * Where each robot is drawn now and where it is.
     * @returns {Marker[]}
     */
    markers() {
      const rect = canvas.getBoundingClientRect();
      const t = transformFor(view, rect.width, rect.height);
      return [...fleet.robots.values()].map((r) => ({
        id: r.id,
        x: r.x,
        y: r.y,
        left: t.toX(r.drawX),
        top: t.toY(r.drawY),
        settled: r.drawX === r.x && r.drawY === r.y && frame === 0,
      }));
    },
  };
}
