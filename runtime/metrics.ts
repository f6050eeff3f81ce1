/**
 * A tiny Prometheus registry built for the hot path: `labels(...)` resolves label values once
 * into a child object the caller keeps, and incrementing that child is a plain number add with
 * no hashing and no allocation (prom-client hashes labels on every labelled `inc()`).
 * `render()` produces the text exposition format 0.0.4 for `GET /metrics`.
 *
 * @module
 */

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const SEP = "\u0000"; // joins label values into a cache key; never occurs in real values
const RENDER = Symbol("render"); // module-private: rendering is not part of a metric's API

/** Latency buckets in seconds, from 10µs (an in-process hop) to 5s (a stuck dependency). */
// deno-fmt-ignore
export const LATENCY_BUCKETS: readonly number[] = Object.freeze([
  0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
  0.25, 0.5, 1, 2.5, 5,
]);

/**
 * Options of every metric: a `name` matching `[a-zA-Z_:][a-zA-Z0-9_:]*`, unique in its
 * registry; one line of `help`; `labels` names matching `[a-zA-Z_][a-zA-Z0-9_]*` (not `__…`).
 */
export interface MetricOptions {
  name: string;
  help: string;
  labels?: readonly string[];
}

/** Options of a histogram. */
export interface HistogramOptions extends MetricOptions {
  /** Finite, strictly increasing upper bounds; `+Inf` is implied. @default LATENCY_BUCKETS */
  buckets?: readonly number[];
}

/** A sample value as Prometheus reads it: integers in full (JS switches to `1e+21`), `+Inf`. */
function formatNumber(v: number): string {
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (Number.isInteger(v) && Math.abs(v) >= 1e21) return BigInt(v).toString();
  return String(v); // "NaN" as Prometheus spells it; -0 prints as "0"
}

const escapeValue = (s: string) => s.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : "\\" + c));
const escapeHelp = (s: string) => s.replace(/[\\\n]/g, (c) => (c === "\n" ? "\\n" : "\\\\"));

/** Shared by all metric types: validation, the child cache and the HELP/TYPE header. */
abstract class Metric<C> {
  /** The metric's name. */
  readonly name: string;
  readonly #header: string;
  protected readonly labelNames: readonly string[];
  // Cache key -> the rendered `name="value",…` pairs and the child.
  protected readonly children = new Map<string, { readonly pairs: string; readonly child: C }>();

  // `reserved` is a label name the metric type uses itself (a histogram's `le`).
  constructor(opts: MetricOptions, type: string, private create: () => C, reserved?: string) {
    if (!METRIC_NAME.test(opts.name)) throw new TypeError(`invalid metric name "${opts.name}"`);
    const labels = opts.labels ?? [];
    const bad = labels.find((l, i) =>
      !LABEL_NAME.test(l) || l.startsWith("__") || l === reserved || labels.indexOf(l) !== i
    );
    if (bad !== undefined) throw new TypeError(`metric ${opts.name}: bad or repeated label ${bad}`);
    this.name = opts.name;
    this.#header = `# HELP ${opts.name} ${escapeHelp(opts.help)}\n# TYPE ${opts.name} ${type}`;
    this.labelNames = [...labels];
  }

  protected abstract renderChild(out: string[], pairs: string, child: C): void;

  /**
   * The child for these label values, created on first use; the same values always return the
   * same object, so bind it once, outside the hot loop. @throws {RangeError} on a wrong count.
   */
  labels(...values: string[]): C {
    const key = this.key(values);
    const found = this.children.get(key);
    if (found !== undefined) return found.child;
    const pairs = this.labelNames.map((n, i) => `${n}="${escapeValue(`${values[i]}`)}"`);
    const child = this.create();
    this.children.set(key, { pairs: pairs.join(","), child });
    return child;
  }

  protected key(values: string[]): string {
    const names = this.labelNames;
    if (values.length === names.length) return values.join(SEP);
    throw new RangeError(`metric ${this.name} has labels (${names}), got ${values.length} values`);
  }

  [RENDER](out: string[]): void {
    if (this.labelNames.length === 0) this.labels(); // shown as 0 even if never touched
    out.push(this.#header);
    for (const { pairs, child } of this.children.values()) this.renderChild(out, pairs, child);
  }
}

/** Counters and gauges: one number per child. */
abstract class Scalar<C extends { value: number }> extends Metric<C> {
  protected renderChild(out: string[], pairs: string, child: C): void {
    out.push(`${this.name}${pairs && `{${pairs}}`} ${formatNumber(child.value)}`);
  }

  /** The value for these label values; 0 when that child does not exist (none is created). */
  get(...values: string[]): number {
    return this.children.get(this.key(values))?.child.value ?? 0;
  }
}

/** A bound counter: `value` is the total, `inc(n = 1)` adds (RangeError if `n` < 0 or NaN). */
export interface CounterChild {
  value: number;
  inc(n?: number): void;
}

class CounterValue implements CounterChild {
  value = 0;
  constructor(readonly metric: string) {}
  inc(n = 1): void {
    // `!(n >= 0)` also rejects NaN, which would poison the total for good.
    if (!(n >= 0)) throw new RangeError(`counter ${this.metric} cannot be increased by ${n}`);
    this.value += n;
  }
}

/** A total that only goes up, e.g. messages delivered. Create it with the registry. */
export class Counter extends Scalar<CounterChild> {
  constructor(opts: MetricOptions) {
    super(opts, "counter", () => new CounterValue(opts.name));
  }
  /** Increments an unlabelled counter. @throws {RangeError} if the counter has labels. */
  inc(n?: number): void {
    this.labels().inc(n);
  }
}

/** A bound gauge: `value` is what `set(v)`, `inc(n = 1)` and `dec(n = 1)` changed it to. */
export interface GaugeChild {
  value: number;
  set(v: number): void;
  inc(n?: number): void;
  dec(n?: number): void;
}

class GaugeValue implements GaugeChild {
  value = 0;
  set(v: number): void {
    this.value = v;
  }
  inc(n = 1): void {
    this.value += n;
  }
  dec(n = 1): void {
    this.value -= n;
  }
}

/** A value that goes up and down, e.g. live actors. Create it with the registry. */
export class Gauge extends Scalar<GaugeChild> {
  constructor(opts: MetricOptions) {
    super(opts, "gauge", () => new GaugeValue());
  }
  /** Sets an unlabelled gauge (`inc`, `dec` likewise). @throws {RangeError} if labelled. */
  set(v: number): void {
    this.labels().set(v);
  }
  inc(n?: number): void {
    this.labels().inc(n);
  }
  dec(n?: number): void {
    this.labels().dec(n);
  }
  /**
   * Drops all children so vanished label sets stop rendering (bound children are detached:
   * re-bind them), e.g. in `onCollect` before fresh values are set. Unlabelled: sets 0.
   */
  reset(): void {
    if (this.labelNames.length === 0) this.labels().set(0); // keep the child callers hold
    else this.children.clear();
  }
}

/** A bound histogram: `count` and `sum` of the observations, and their bucket `counts`. */
export interface HistogramChild {
  observe(v: number): void;
  readonly count: number;
  readonly sum: number;
  /** Observations per bucket, not cumulative; the last entry is the `+Inf` bucket. */
  readonly counts: Float64Array;
}

class HistogramValue implements HistogramChild {
  count = 0;
  sum = 0;
  constructor(readonly le: Float64Array, readonly counts = new Float64Array(le.length + 1)) {}
  observe(v: number): void {
    // Buckets are few: a linear scan beats a binary search. NaN lands in +Inf, as in Go.
    const bounds = this.le;
    let i = 0;
    while (i < bounds.length && !(v <= bounds[i]!)) i++;
    this.counts[i]! += 1;
    this.count += 1;
    this.sum += v;
  }
}

/** Observations counted in fixed buckets, e.g. latency in seconds. Create it with the registry. */
export class Histogram extends Metric<HistogramChild> {
  readonly #le: readonly string[];
  constructor(opts: HistogramOptions) {
    const buckets = (opts.buckets ?? LATENCY_BUCKETS).filter((b) => b !== Infinity); // implied
    if (buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && !(b > buckets[i - 1]!)))) {
      throw new TypeError(`histogram ${opts.name}: buckets must be finite and increasing`);
    }
    const bounds = Float64Array.from(buckets);
    super(opts, "histogram", () => new HistogramValue(bounds), "le");
    this.#le = [...buckets.map(formatNumber), "+Inf"];
  }
  protected renderChild(out: string[], pairs: string, child: HistogramChild): void {
    let cumulative = 0;
    this.#le.forEach((le, i) => {
      cumulative += child.counts[i]!;
      out.push(`${this.name}_bucket{${pairs && `${pairs},`}le="${le}"} ${cumulative}`);
    });
    const labels = pairs && `{${pairs}}`;
    out.push(`${this.name}_sum${labels} ${formatNumber(child.sum)}`);
    out.push(`${this.name}_count${labels} ${child.count}`);
  }
  /** Observes on an unlabelled histogram. @throws {RangeError} if the histogram has labels. */
  observe(v: number): void {
    this.labels().observe(v);
  }
}

/**
 * Owns a set of metrics and renders them. Create one per process (or per test).
 *
 * @example
 * ```ts
 * const metrics = new MetricsRegistry();
 * const sent = metrics.counter({ name: "sent_total", help: "Messages sent.", labels: ["type"] });
 * const toUsers = sent.labels("user"); // bind once, outside the hot loop
 * toUsers.inc(); // per message: one number add
 * new Response(metrics.render(), { headers: { "content-type": metrics.contentType } });
 * ```
 */
export class MetricsRegistry {
  /** The content type of {@link MetricsRegistry.render}'s output. */
  readonly contentType = "text/plain; version=0.0.4; charset=utf-8";
  readonly #metrics = new Map<string, Metric<unknown>>();
  readonly #collectors: (() => void)[] = [];

  /** Registers a counter. @throws {Error} on a taken name, {TypeError} on an invalid one. */
  counter(opts: MetricOptions): Counter {
    return this.#add(new Counter(opts));
  }
  /** Registers a gauge. @throws {Error} on a taken name, {TypeError} on an invalid one. */
  gauge(opts: MetricOptions): Gauge {
    return this.#add(new Gauge(opts));
  }
  /** Registers a histogram. @throws {Error} on a taken name, {TypeError} on invalid options. */
  histogram(opts: HistogramOptions): Histogram {
    return this.#add(new Histogram(opts));
  }
  /** Runs fn before every render (to refresh gauges computed on demand). */
  onCollect(fn: () => void): void {
    this.#collectors.push(fn);
  }
  /** Prometheus text exposition format 0.0.4. */
  render(): string {
    // A throwing collector fails the scrape loudly instead of serving stale numbers.
    for (const fn of this.#collectors) fn();
    const out: string[] = [];
    for (const metric of this.#metrics.values()) metric[RENDER](out);
    return out.length === 0 ? "" : out.join("\n") + "\n";
  }
  #add<M extends Metric<unknown>>(metric: M): M {
    if (this.#metrics.has(metric.name)) throw new Error(`metric ${metric.name} already exists`);
    this.#metrics.set(metric.name, metric);
    return metric;
  }
}
