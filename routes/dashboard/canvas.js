// @ts-check
/**
 * Drawing on a canvas: sharp at the screen's pixel density, sized by a ResizeObserver (no
 * layout read per frame) and redrawn when its size changes, in the colours of the current
 * theme (the style sheet's variables).
 *
 * @module
 */

/**
 * The theme's colours, from the style sheet's variables.
 * @typedef {object} Palette
 * @property {string} text
 * @property {string} muted
 * @property {string} card
 * @property {string} grid
 * @property {string} axis
 * @property {string} accent
 * @property {string} line
 * @property {string} fill
 */

/** @type {Palette | null} */
let palette = null;

/** The colours of the theme in use. */
export function colors() {
  palette ??= readPalette();
  return palette;
}

/**
 * Calls `redraw` when the system's colour scheme changes, with {@link colors} read again.
 * @param {() => void} redraw
 */
export function onThemeChange(redraw) {
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
    palette = null;
    redraw();
  });
}

/** @returns {Palette} */
function readPalette() {
  const s = getComputedStyle(document.documentElement);
  /** @param {string} name */
  const v = (name) => s.getPropertyValue(name).trim();
  return {
    text: v("--text"),
    muted: v("--muted"),
    card: v("--card"),
    grid: v("--map-grid"),
    axis: v("--map-axis"),
    accent: v("--accent"),
    line: v("--chart-line"),
    fill: v("--chart-fill"),
  };
}

/** @typedef {{ width: number, height: number }} Size */

/** A canvas drawn at the device's pixel ratio, in CSS pixels. */
export class Surface {
  /** @type {Size | null} */
  #size = null;
  #observer;

  /**
   * @param {HTMLCanvasElement} canvas
   * @param {() => void} redraw called when the canvas's size changes
   */
  constructor(canvas, redraw) {
    this.canvas = canvas;
    this.#observer = new ResizeObserver((entries) => {
      for (const e of entries) {
        this.#size = { width: e.contentRect.width, height: e.contentRect.height };
      }
      redraw();
    });
  }

  /**
   * The canvas's CSS size: measured once, then kept up to date by the observer.
   * @returns {Size}
   */
  size() {
    if (this.#size === null) {
      const rect = this.canvas.getBoundingClientRect();
      this.#size = { width: rect.width, height: rect.height };
      this.#observer.observe(this.canvas);
    }
    return this.#size;
  }

  /**
   * Starts a frame: the backing store sized to the pixel ratio, and a context that draws in
   * CSS pixels.
   */
  begin() {
    const { width, height } = this.size();
    const dpr = globalThis.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(width * dpr));
    const h = Math.max(1, Math.round(height * dpr));
    const canvas = this.canvas;
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    const ctx = canvas.getContext("2d");
    if (ctx === null) throw new Error(`no 2D context for canvas #${canvas.id}`);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return { ctx, width, height };
  }
}

/**
 * Strokes one straight line.
 * @param {CanvasRenderingContext2D} ctx
 * @param {string} color
 * @param {number} x0
 * @param {number} y0
 * @param {number} x1
 * @param {number} y1
 */
export function line(ctx, color, x0, y0, x1, y1) {
  ctx.strokeStyle = color;
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.lineTo(x1, y1);
  ctx.stroke();
}

/**
 * Traces a path through `points` (x, y in CSS pixels), to stroke or fill.
 * @param {CanvasRenderingContext2D} ctx
 * @param {Iterable<readonly [number, number]>} points
 */
export function trace(ctx, points) {
  ctx.beginPath();
  let first = true;
  for (const [x, y] of points) {
    if (first) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
    first = false;
  }
}

/**
 * Fills a disc.
 * @param {CanvasRenderingContext2D} ctx
 * @param {number} x
 * @param {number} y
 * @param {number} radius
 */
export function disc(ctx, x, y, radius) {
  ctx.beginPath();
  ctx.arc(x, y, radius, 0, Math.PI * 2);
  ctx.fill();
}
