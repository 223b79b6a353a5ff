// A tiny 1-channel ONNX classifier built in code, for tests and the fuzzer: input [N, 1, H, W] →
// Conv 1×1 (x·scale + shift, undoing a normalization) → BatchNormalization (identity) → Relu → Flatten →
// Gemm to the classes. Rule: with class-mean templates as the Gemm weights it is a nearest-centroid
// classifier whose predictions a test can recompute independently in float64.

import { onnx } from '../src/io/onnx/proto.js';

/** Options of greyModel. */
export interface GreyModelOptions {
  height?: number;
  width?: number;
  /** Gemm weights [classes][H·W] (default: a fixed deterministic pattern for 10 classes). */
  weights?: Float32Array[];
  /** Gemm bias per class (default 0). */
  bias?: Float32Array;
  /** The 1×1 conv computes x·scale + shift (default 1, 0). */
  scale?: number;
  shift?: number;
  /** metadata_props, e.g. normalize_mean / normalize_std. */
  metadata?: Record<string, string>;
}

const f32 = (name: string, dims: number[], data: ArrayLike<number>) => ({ name, dims, dataType: 1, floatData: Array.from(data) });

/** ONNX bytes of the grey nearest-template classifier described by `o` (opset 17, dynamic batch). */
export function greyModel(o: GreyModelOptions = {}): Uint8Array {
  const h = o.height ?? 28, w = o.width ?? 28, hw = h * w;
  const weights = o.weights ?? Array.from({ length: 10 }, (_, c) => Float32Array.from({ length: hw }, (_, i) => Math.sin((i + 1) * (c + 1) * 0.01)));
  const k = weights.length;
  const W = new Float32Array(k * hw);
  weights.forEach((row, c) => W.set(row, c * hw));
  const inits = [
    f32('conv.weight', [1, 1, 1, 1], [o.scale ?? 1]), f32('conv.bias', [1], [o.shift ?? 0]),
    f32('bn.weight', [1], [1]), f32('bn.bias', [1], [0]), f32('bn.running_mean', [1], [0]), f32('bn.running_var', [1], [1 - 1e-5]),
    f32('fc.weight', [k, hw], W), f32('fc.bias', [k], o.bias ?? new Float32Array(k)),
  ];
  const nodes = [
    { opType: 'Conv', name: 'conv', input: ['input', 'conv.weight', 'conv.bias'], output: ['c'], attribute: [{ name: 'kernel_shape', type: 7, ints: [1, 1] }] },
    { opType: 'BatchNormalization', name: 'bn', input: ['c', 'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var'], output: ['b'], attribute: [{ name: 'epsilon', type: 1, f: 1e-5 }] },
    { opType: 'Relu', name: 'relu', input: ['b'], output: ['r'] },
    { opType: 'Flatten', name: 'flatten', input: ['r'], output: ['f'], attribute: [{ name: 'axis', type: 2, i: 1 }] },
    { opType: 'Gemm', name: 'fc', input: ['f', 'fc.weight', 'fc.bias'], output: ['logits'], attribute: [{ name: 'transB', type: 2, i: 1 }] },
  ];
  const dim = (d: number | string) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d });
  return onnx.ModelProto.encode({
    irVersion: 8, opsetImport: [{ domain: '', version: 17 }], producerName: 'lrq-test',
    metadataProps: Object.entries(o.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: 'grey', node: nodes, initializer: inits,
      input: [{ name: 'input', type: { tensorType: { elemType: 1, shape: { dim: ['N', 1, h, w].map(dim) } } } }],
      output: [{ name: 'logits', type: { tensorType: { elemType: 1, shape: { dim: ['N', k].map(dim) } } } }],
    },
  }).finish();
}
