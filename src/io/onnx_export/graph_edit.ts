// In-place editing of a decoded ONNX ModelProto: name bookkeeping, initializer access and creation,
// and the default-domain opset bump to 21. Rule: edits keep every original node and tensor name, so
// consumers never need rewiring (a quantized tensor keeps its name; its producer's output is renamed).

import { LrqError } from '../../engine/errors.js';
import { onnx, tensorFromProto, toNum, type ModelProto, type NodeProto, type TensorProto } from '../onnx/proto.js';
import type onnxProto from 'onnx-proto';
import { Tensor } from '../../engine/tensor.js';
import { packInts, type Container } from './containers.js';

export type GraphProto = onnxProto.onnx.IGraphProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;

const DT = onnx.TensorProto.DataType;
const AT = onnx.AttributeProto.AttributeType;

export class GraphEditor {
  readonly graph: GraphProto;
  private readonly names = new Set<string>();
  readonly inits = new Map<string, TensorProto>();

  constructor(readonly model: ModelProto, readonly path: string) {
    this.graph = model.graph!;
    for (const n of this.graph.node ?? []) {
      if (n.name) this.names.add(n.name);
      for (const t of [...(n.input ?? []), ...(n.output ?? [])]) this.names.add(t);
    }
    for (const t of this.graph.initializer ?? []) {
      this.inits.set(t.name ?? '', t);
      this.names.add(t.name ?? '');
    }
    for (const v of [...(this.graph.input ?? []), ...(this.graph.output ?? []), ...(this.graph.valueInfo ?? [])]) this.names.add(v.name ?? '');
  }

  /** A tensor/node name not used anywhere in the graph, derived from `base`. */
  unique(base: string): string {
    let name = base;
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  /** The node producing tensor `name` (undefined for graph inputs and initializers). */
  producer(name: string): NodeProto | undefined {
    return (this.graph.node ?? []).find((n) => (n.output ?? []).includes(name));
  }

  /** Nodes reading tensor `name`, with the input slot. */
  consumers(name: string): { node: NodeProto; slot: number }[] {
    const out: { node: NodeProto; slot: number }[] = [];
    for (const node of this.graph.node ?? []) (node.input ?? []).forEach((t, slot) => { if (t === name) out.push({ node, slot }); });
    return out;
  }

  /** Float32 values and dims of an initializer (LrqError if absent or not float). */
  readFloat(name: string): { data: Float32Array; dims: number[] } {
    const t = this.inits.get(name);
    if (!t) throw new LrqError(`${this.path}: no initializer named '${name}'`);
    const v = tensorFromProto(t, this.path, this.path);
    if (!(v instanceof Tensor)) throw new LrqError(`${this.path}: initializer '${name}' is not a float tensor`);
    return { data: Float32Array.from(v.data), dims: [...v.shape] };
  }

  /** Replace an initializer's values (same element count), stored as float32 raw_data. */
  writeFloat(name: string, data: Float32Array): void {
    const t = this.inits.get(name);
    if (!t) throw new LrqError(`${this.path}: no initializer named '${name}' to update`);
    const dims = (t.dims ?? []).map(toNum);
    const n = dims.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new LrqError(`${this.path}: initializer '${name}' has ${n} values, the export spec gives ${data.length}`);
    Object.assign(t, floatTensor(name, dims, data));
    t.floatData = [];
    t.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
    t.externalData = [];
  }

  /** Bytes of the float32 initializers (the FP32 side of the size report). */
  floatInitializerBytes(): number {
    let n = 0;
    for (const t of this.inits.values()) if (t.dataType === DT.FLOAT) n += 4 * (t.dims ?? []).map(toNum).reduce((a, b) => a * b, 1);
    return n;
  }

  /** Add an initializer (its name must already be unique). */
  addInit(t: TensorProto): void {
    this.graph.initializer = [...(this.graph.initializer ?? []), t];
    this.inits.set(t.name ?? '', t);
  }

  /** Remove an initializer (and a graph input of the same name, as IR < 4 models list them). */
  removeInit(name: string): void {
    this.graph.initializer = (this.graph.initializer ?? []).filter((t) => t.name !== name);
    this.graph.input = (this.graph.input ?? []).filter((v) => v.name !== name);
    this.inits.delete(name);
  }

  /** Float scalar constant as an initializer; returns its name. */
  scalar(base: string, value: number): string {
    const name = this.unique(base);
    this.addInit(floatTensor(name, [], Float32Array.of(value)));
    return name;
  }

  /** Insert `nodes` right after `anchor` in graph order (keeps the node list topologically sorted). */
  insertAfter(anchor: NodeProto, nodes: NodeProto[]): void {
    const list = this.graph.node ?? [];
    const i = list.indexOf(anchor);
    list.splice(i + 1, 0, ...nodes);
    this.graph.node = list;
  }

  /** A new node with a unique name. */
  node(opType: string, base: string, input: string[], output: string[], attribute: AttributeProto[] = []): NodeProto {
    return onnx.NodeProto.create({ opType, name: this.unique(base), input, output, attribute });
  }

  /** Scalar value of a constant tensor (initializer or Constant node output), or undefined. */
  constantScalar(name: string): number | undefined {
    let t: TensorProto | undefined = this.inits.get(name);
    if (!t) {
      const p = this.producer(name);
      if (p?.opType === 'Constant') t = p.attribute?.find((a) => a.name === 'value')?.t ?? undefined;
    }
    if (!t) return undefined;
    const v = tensorFromProto(t, this.path, this.path);
    const data = v instanceof Tensor ? v.data : v.data;
    return data.length === 1 ? Number(data[0]) : undefined;
  }
}

/** A float32 TensorProto with raw_data. */
export function floatTensor(name: string, dims: number[], data: Float32Array): TensorProto {
  const raw = new Uint8Array(data.length * 4);
  const dv = new DataView(raw.buffer);
  data.forEach((v, i) => dv.setFloat32(i * 4, v, true));
  return onnx.TensorProto.create({ name, dims, dataType: DT.FLOAT, rawData: raw });
}

/** An integer TensorProto in a Q/DQ container (4-bit packed two per byte, low nibble first). */
export function intTensor(name: string, dims: number[], values: ArrayLike<number>, c: Container): TensorProto {
  return onnx.TensorProto.create({ name, dims, dataType: c.dataType, rawData: packInts(values, c) });
}

/** An int64 TensorProto (axes inputs). */
export function int64Tensor(name: string, values: number[]): TensorProto {
  const raw = new Uint8Array(values.length * 8);
  const dv = new DataView(raw.buffer);
  values.forEach((v, i) => dv.setBigInt64(i * 8, BigInt(v), true));
  return onnx.TensorProto.create({ name, dims: [values.length], dataType: DT.INT64, rawData: raw });
}

/** An INT attribute. */
export function intAttr(name: string, i: number): AttributeProto {
  return { name, type: AT.INT, i };
}

/** Default-domain opset version of a model. */
export function defaultOpset(model: ModelProto): number {
  const o = (model.opsetImport ?? []).find((x) => !x.domain || x.domain === 'ai.onnx');
  return o ? toNum(o.version) : 1;
}

// Reductions whose `axes` moved from an attribute to an input in opset 18 (ReduceSum did so in 13).
const REDUCE_18 = new Set(['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare']);
// Ops whose semantics changed between 13 and 21 in ways we do not convert.
const UNCONVERTED = new Set(['GridSample', 'DFT', 'Scan', 'If', 'Loop']);

/**
 * Raise the default-domain opset of an opset ≥ 13 model to `target` (≤ 21). Between 13 and 21 the only
 * breaking change for classifier ops is Reduce*'s axes attribute → input (opset 18), converted here;
 * Pad/Slice/Clip/Reshape/BatchNormalization/Conv/Gemm/Cast/… keep their meaning (later versions only add
 * types or optional inputs). Control flow and GridSample/DFT are refused with an LrqError.
 */
export function bumpOpset(ed: GraphEditor, target: number): void {
  const model = ed.model;
  const from = defaultOpset(model);
  if (from < 13) throw new LrqError(`${ed.path}: opset ${from} is too old to export (need ≥ 13; re-export the model from its framework with opset ≥ 13)`);
  if (from >= target) return;
  for (const node of ed.graph.node ?? []) {
    if (node.domain && node.domain !== 'ai.onnx') continue;
    const op = node.opType ?? '';
    if (UNCONVERTED.has(op)) throw new LrqError(`${ed.path}: node '${node.name}' (${op}) cannot be moved from opset ${from} to ${target} automatically`);
    if (from < 18 && target >= 18 && REDUCE_18.has(op)) {
      const axes = node.attribute?.find((a) => a.name === 'axes');
      if (axes) {
        const name = ed.unique(`${node.name ?? op}_axes`);
        ed.addInit(int64Tensor(name, (axes.ints ?? []).map(toNum)));
        node.input = [...(node.input ?? []), name];
        node.attribute = (node.attribute ?? []).filter((a) => a.name !== 'axes');
      }
    }
  }
  model.opsetImport = (model.opsetImport ?? []).map((o) => (!o.domain || o.domain === 'ai.onnx' ? { domain: o.domain ?? '', version: target } : o));
  if (!(model.opsetImport ?? []).some((o) => !o.domain || o.domain === 'ai.onnx')) model.opsetImport = [...(model.opsetImport ?? []), { domain: '', version: target }];
}
