/**
 * Writes small ONNX models (float32 tensors, a handful of nodes) as protobuf bytes, by hand:
 * no protobuf library, no Python. Enough for the fraud model that `train_fraud_model.ts`
 * exports — a scaler and a logistic regression — and deterministic to the byte: the same
 * model description always encodes to the same bytes (fields in field-number order, repeated
 * scalars unpacked as proto2 writes them, floats little-endian).
 *
 * Field numbers follow onnx/onnx.proto (IR version 8).
 *
 * @example
 * ```ts
 * const bytes = encodeModel({
 *   irVersion: 8, opset: 13, producerName: "flotilla", producerVersion: "1",
 *   graph: {
 *     name: "lr",
 *     nodes: [{ op: "Gemm", name: "gemm", inputs: ["x", "W", "B"], outputs: ["z"] },
 *             { op: "Sigmoid", name: "sigmoid", inputs: ["z"], outputs: ["p"] }],
 *     initializers: [{ name: "W", dims: [2, 1], values: [1, -2] }, { name: "B", dims: [1], values: [0.5] }],
 *     inputs: [{ name: "x", dims: ["N", 2] }],
 *     outputs: [{ name: "p", dims: ["N", 1] }],
 *   },
 * });
 * ```
 *
 * @module
 */

/** A float32 tensor (initializer): name, shape and values in row-major order. */
export interface OnnxTensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly values: readonly number[];
}

/** An attribute of a node: a float or an integer. */
export type OnnxAttribute =
  | { readonly name: string; readonly float: number }
  | { readonly name: string; readonly int: number };

/** One operator of the graph. */
export interface OnnxNode {
  readonly op: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes?: readonly OnnxAttribute[];
}

/** A graph input or output: a float32 tensor whose dimensions are sizes or symbolic names. */
export interface OnnxValue {
  readonly name: string;
  readonly dims: readonly (number | string)[];
}

/** A graph. */
export interface OnnxGraph {
  readonly name: string;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxTensor[];
  readonly inputs: readonly OnnxValue[];
  readonly outputs: readonly OnnxValue[];
  readonly docString?: string;
}

/** A model: one graph in the default operator set domain. */
export interface OnnxModel {
  readonly irVersion: number;
  /** Version of the default ("ai.onnx") operator set. */
  readonly opset: number;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly docString?: string;
  readonly graph: OnnxGraph;
  /** Key/value metadata, written in the order given. */
  readonly metadata?: readonly (readonly [string, string])[];
}

/** ONNX `TensorProto.DataType.FLOAT`. */
const FLOAT = 1;
/** ONNX `AttributeProto.AttributeType`. */
const ATTR_FLOAT = 1, ATTR_INT = 2;

const VARINT = 0, FIXED32 = 5, BYTES = 2;

/** A protobuf message being written. */
class ProtoWriter {
  #bytes: number[] = [];
  static #text = new TextEncoder();

  #varint(value: number | bigint): void {
    let n = BigInt.asUintN(64, BigInt(value));
    while (n >= 0x80n) {
      this.#bytes.push(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.#bytes.push(Number(n));
  }

  #tag(field: number, wire: number): void {
    this.#varint((field << 3) | wire);
  }

  int(field: number, value: number): void {
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(`field ${field}: ${value} is no integer`);
    }
    this.#tag(field, VARINT);
    this.#varint(value);
  }

  float(field: number, value: number): void {
    this.#tag(field, FIXED32);
    this.raw(float32Bytes([value]));
  }

  bytes(field: number, value: Uint8Array): void {
    this.#tag(field, BYTES);
    this.#varint(value.length);
    this.raw(value);
  }

  string(field: number, value: string): void {
    this.bytes(field, ProtoWriter.#text.encode(value));
  }

  message(field: number, write: (w: ProtoWriter) => void): void {
    const inner = new ProtoWriter();
    write(inner);
    this.bytes(field, inner.finish());
  }

  raw(bytes: Uint8Array): void {
    for (const b of bytes) this.#bytes.push(b);
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }
}

/** Little-endian float32 bytes of `values` (as ONNX `raw_data` stores them). */
export function float32Bytes(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return out;
}

function writeTensor(w: ProtoWriter, t: OnnxTensor): void {
  const size = t.dims.reduce((a, b) => a * b, 1);
  if (size !== t.values.length) {
    throw new RangeError(`tensor ${t.name}: shape [${t.dims}] needs ${size} values`);
  }
  for (const d of t.dims) w.int(1, d); // dims
  w.int(2, FLOAT); // data_type
  w.string(8, t.name); // name
  w.bytes(9, float32Bytes(t.values)); // raw_data
}

function writeValue(w: ProtoWriter, v: OnnxValue): void {
  w.string(1, v.name); // ValueInfoProto.name
  w.message(2, (type) =>
    // ValueInfoProto.type
    type.message(1, (tensor) => { // TypeProto.tensor_type
      tensor.int(1, FLOAT); // elem_type
      tensor.message(2, (shape) => { // shape
        for (const d of v.dims) {
          shape.message(1, (dim) => typeof d === "number" ? dim.int(1, d) : dim.string(2, d));
        }
      });
    }));
}

function writeNode(w: ProtoWriter, n: OnnxNode): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.op);
  for (const a of n.attributes ?? []) {
    w.message(5, (attr) => {
      attr.string(1, a.name);
      if ("float" in a) attr.float(2, a.float);
      else attr.int(3, a.int);
      attr.int(20, "float" in a ? ATTR_FLOAT : ATTR_INT);
    });
  }
}

/** Encodes a model as the bytes of an `.onnx` file. */
export function encodeModel(model: OnnxModel): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, model.irVersion); // ir_version
  w.string(2, model.producerName); // producer_name
  w.string(3, model.producerVersion); // producer_version
  if (model.docString !== undefined) w.string(6, model.docString); // doc_string
  w.message(7, (g) => { // graph
    const graph = model.graph;
    for (const n of graph.nodes) g.message(1, (node) => writeNode(node, n));
    g.string(2, graph.name);
    for (const t of graph.initializers) g.message(5, (tensor) => writeTensor(tensor, t));
    if (graph.docString !== undefined) g.string(10, graph.docString);
    for (const v of graph.inputs) g.message(11, (value) => writeValue(value, v));
    for (const v of graph.outputs) g.message(12, (value) => writeValue(value, v));
  });
  w.message(8, (opset) => { // opset_import
    opset.string(1, "");
    opset.int(2, model.opset);
  });
  for (const [key, value] of model.metadata ?? []) {
    w.message(14, (entry) => { // metadata_props
      entry.string(1, key);
      entry.string(2, value);
    });
  }
  return w.finish();
}
