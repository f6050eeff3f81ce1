/**
 * The fraud model: the committed ONNX file is what the training script produces, byte for
 * byte; it loads in Deno through onnxruntime-web (WebAssembly, no network) and scores as the
 * trained parameters say; the hand-written protobuf encoder produces models onnxruntime reads.
 */
import {
  FEATURE_NAMES,
  FRAUD_MODEL_URL,
  fraudFeatures,
  OnnxFraudModel,
  SharedFraudModel,
} from "../actors/payments/mod.ts";
import { encodeModel, float32Bytes } from "../tools/onnx_writer.ts";
import {
  generateExamples,
  MODEL_PATH,
  predict,
  SEED,
  trainFraudModel,
} from "../tools/train_fraud_model.ts";
import { assert, assertEquals, assertRejects } from "./helpers/assert.ts";

const trained = trainFraudModel(SEED);
let loaded: Promise<OnnxFraudModel> | null = null;
const model = () => loaded ??= OnnxFraudModel.load();

Deno.test("fraud model file is reproduced byte for byte by tools/train_fraud_model.ts", async () => {
  assertEquals(MODEL_PATH.href, FRAUD_MODEL_URL.href, "the script writes what the terminal loads");
  const committed = await Deno.readFile(FRAUD_MODEL_URL);
  assertEquals(committed.length, trained.bytes.length, "same size");
  assertEquals(committed, trained.bytes);
  // And a second run in this process gives the same parameters again.
  assertEquals(trainFraudModel(SEED).params, trained.params);
});

Deno.test("fraud model training separates the synthetic classes well (held-out AUC > 0.95)", () => {
  assert(trained.holdoutAuc > 0.95, `AUC ${trained.holdoutAuc}`);
  assertEquals(trained.params.weights.length, FEATURE_NAMES.length);
  // Each feature pushes towards fraud: large, night, repeated, unusual amounts.
  assert(trained.params.weights.every((w) => w > 0), `weights ${trained.params.weights}`);
});

Deno.test("fraud model loads in Deno and scores known inputs as its parameters say", async () => {
  const m = await model();
  const inputs = generateExamples(99, 200).map((e) => fraudFeatures(e.input));
  inputs.push([10, 0, 1, 0, 0], [0, 0, 0, 0, 0], [16, -1, 0, 3, 5]);
  const scores = await m.scoreMany(inputs);
  scores.forEach((p, i) => {
    const expected = predict(trained.params, inputs[i]!);
    assert(Math.abs(p - expected) < 1e-5, `row ${i}: onnxruntime ${p}, expected ${expected}`);
    assert(p >= 0 && p <= 1, "a probability");
  });
  assertEquals(await m.score(inputs[0]!), scores[0]);
});

Deno.test("fraud model: an everyday payment scores low, a card-testing burst at night high", async () => {
  const m = await model();
  const coffee = fraudFeatures({ amount: 5000, localHours: 9.5, recentCount: 1, priorMean: 4500 });
  const burst = fraudFeatures({
    amount: 900_000,
    localHours: 3,
    recentCount: 8,
    priorMean: 20_000,
  });
  assert((await m.score(coffee)) < 0.01, "coffee");
  assert((await m.score(burst)) > 0.99, "burst");
});

Deno.test("fraud model refuses a feature vector of the wrong length", async () => {
  const m = await model();
  await assertRejects(() => m.score([1, 2, 3]), RangeError, "takes 5 features");
});

Deno.test("onnx_writer: a hand-encoded Gemm + Sigmoid model runs in onnxruntime-web", async () => {
  const bytes = encodeModel({
    irVersion: 8,
    opset: 13,
    producerName: "test",
    producerVersion: "1",
    graph: {
      name: "g",
      nodes: [
        { op: "Gemm", name: "gemm", inputs: ["x", "W", "B"], outputs: ["z"] },
        { op: "Sigmoid", name: "sigmoid", inputs: ["z"], outputs: ["p"] },
      ],
      initializers: [
        { name: "W", dims: [2, 1], values: [1, -2] },
        { name: "B", dims: [1], values: [0.5] },
      ],
      inputs: [{ name: "x", dims: ["N", 2] }],
      outputs: [{ name: "p", dims: ["N", 1] }],
    },
  });
  const ort = await import("onnxruntime-web");
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({
    x: new ort.Tensor("float32", Float32Array.from([1, 1, 0, 0]), [2, 2]),
  });
  const p = Array.from(out.p!.data as Float32Array);
  assert(Math.abs(p[0]! - 1 / (1 + Math.exp(0.5))) < 1e-6, `${p[0]}`);
  assert(Math.abs(p[1]! - 1 / (1 + Math.exp(-0.5))) < 1e-6, `${p[1]}`);
  assertEquals(Array.from(float32Bytes([1])), [0, 0, 0x80, 0x3f], "little-endian float32");
});

Deno.test("OnnxFraudModel.load refuses a model without the expected input and output", async () => {
  const bytes = encodeModel({
    irVersion: 8,
    opset: 13,
    producerName: "test",
    producerVersion: "1",
    graph: {
      name: "g",
      nodes: [{ op: "Sigmoid", name: "s", inputs: ["x"], outputs: ["y"] }],
      initializers: [],
      inputs: [{ name: "x", dims: ["N", 5] }],
      outputs: [{ name: "y", dims: ["N", 5] }],
    },
  });
  await assertRejects(() => OnnxFraudModel.load(bytes), Error, 'must take "features"');
});

Deno.test("SharedFraudModel loads once, reports timings, and retries a failed load", async () => {
  const shared = new SharedFraudModel(await Deno.readFile(FRAUD_MODEL_URL));
  const timings: number[] = [];
  const stop = shared.onTiming((s) => timings.push(s));
  const [a, b] = await Promise.all([shared.ready(), shared.ready()]);
  assert(a === b, "one load for concurrent callers");
  await shared.score([10, 0, 1, 0, 0]);
  await shared.score([10, 0, 1, 0, 0]);
  assertEquals(timings.length, 2);
  assert(timings.every((s) => s >= 0 && s < 5), `${timings}`);
  stop();
  await shared.score([10, 0, 1, 0, 0]);
  assertEquals(timings.length, 2, "unsubscribed");

  // A load that failed (the file was broken) is tried again by the next call.
  const path = await Deno.makeTempFile({ suffix: ".onnx" });
  try {
    await Deno.writeFile(path, new Uint8Array([1, 2, 3]));
    const later = new SharedFraudModel(new URL(`file://${path}`));
    await assertRejects(() => later.score([0, 0, 0, 0, 0]));
    await Deno.writeFile(path, await Deno.readFile(FRAUD_MODEL_URL));
    const p = await later.score([0, 0, 0, 0, 0]);
    assert(p >= 0 && p <= 1);
  } finally {
    await Deno.remove(path);
  }
});
