/**
 * The fraud model at run time: the committed `fraud_model.onnx` (a scaler and a logistic
 * regression trained by `tools/train_fraud_model.ts`) run by onnxruntime-web's WebAssembly
 * backend, loaded once per process on first use.
 *
 * onnxruntime-web runs in Deno from its npm package without network access: its Node build
 * reads the `.wasm` next to it in the npm cache (permission: `--allow-read`). One thread, no
 * proxy worker: a call is a few microseconds of arithmetic, which worker hand-offs would only
 * slow down.
 *
 * @module
 */
import type { InferenceSession } from "onnxruntime-web";
import { FEATURE_NAMES } from "./fraud_features.ts";

/** Scores a feature vector (see `fraudFeatures`) as a fraud probability in [0, 1]. */
export interface FraudScorer {
  score(features: readonly number[]): Promise<number>;
}

/** Where the committed model is. */
export const FRAUD_MODEL_URL: URL = new URL("./fraud_model.onnx", import.meta.url);

/** The model's input and output names (as the training script writes them). */
export const MODEL_INPUT = "features";
export const MODEL_OUTPUT = "fraud_probability";

type Ort = typeof import("onnxruntime-web");

/** A loaded ONNX fraud model. */
export class OnnxFraudModel implements FraudScorer {
  readonly #ort: Ort;
  readonly #session: InferenceSession;
  readonly #width: number;

  private constructor(ort: Ort, session: InferenceSession) {
    this.#ort = ort;
    this.#session = session;
    this.#width = FEATURE_NAMES.length;
  }

  /**
   * Loads a model from a file URL or its bytes.
   * @throws when the file cannot be read or is not a model with the expected input and output.
   */
  static async load(source: URL | Uint8Array = FRAUD_MODEL_URL): Promise<OnnxFraudModel> {
    const ort = await import("onnxruntime-web");
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.logLevel = "error";
    const bytes = source instanceof Uint8Array ? source : await Deno.readFile(source);
    const session = await ort.InferenceSession.create(bytes);
    if (!session.inputNames.includes(MODEL_INPUT) || !session.outputNames.includes(MODEL_OUTPUT)) {
      throw new Error(
        `the fraud model must take "${MODEL_INPUT}" and give "${MODEL_OUTPUT}" ` +
          `(it has inputs ${session.inputNames}, outputs ${session.outputNames})`,
      );
    }
    return new OnnxFraudModel(ort, session);
  }

  /** Scores one feature vector. @throws {RangeError} for a vector of the wrong length. */
  async score(features: readonly number[]): Promise<number> {
    return (await this.scoreMany([features]))[0]!;
  }

  /** Scores several feature vectors in one run. */
  async scoreMany(rows: readonly (readonly number[])[]): Promise<number[]> {
    const width = this.#width;
    const data = new Float32Array(rows.length * width);
    rows.forEach((row, i) => {
      if (row.length !== width) {
        throw new RangeError(`the fraud model takes ${width} features, got ${row.length}`);
      }
      data.set(row, i * width);
    });
    const input = new this.#ort.Tensor("float32", data, [rows.length, width]);
    const output = await this.#session.run({ [MODEL_INPUT]: input });
    const values = output[MODEL_OUTPUT]!.data as Float32Array;
    return Array.from(values);
  }
}

/** Receives the duration of each model call, in seconds. */
export type TimingListener = (seconds: number) => void;

/**
 * The process's model: loaded on the first `score` (so a node or a test that takes no
 * payment never compiles the WebAssembly), shared by every terminal. A failed load is
 * retried by the next call; each call's duration goes to the listeners.
 */
export class SharedFraudModel implements FraudScorer {
  #loading: Promise<OnnxFraudModel> | null = null;
  readonly #listeners = new Set<TimingListener>();
  readonly #source: URL | Uint8Array;

  constructor(source: URL | Uint8Array = FRAUD_MODEL_URL) {
    this.#source = source;
  }

  /** Loads the model now (a node calls this at start so the first payment does not wait). */
  ready(): Promise<OnnxFraudModel> {
    this.#loading ??= OnnxFraudModel.load(this.#source).catch((error) => {
      this.#loading = null;
      throw error;
    });
    return this.#loading;
  }

  async score(features: readonly number[]): Promise<number> {
    const model = await this.ready();
    const started = performance.now();
    const p = await model.score(features);
    const seconds = (performance.now() - started) / 1000;
    for (const listener of this.#listeners) listener(seconds);
    return p;
  }

  /** Calls `listener` with the duration of every model call; returns the unsubscribe. */
  onTiming(listener: TimingListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

let shared: SharedFraudModel | null = null;

/** The model every terminal of this process uses by default (the committed file). */
export function defaultFraudModel(): SharedFraudModel {
  return shared ??= new SharedFraudModel();
}
