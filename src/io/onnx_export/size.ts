// Model size accounting for an export: FP32 bytes of the original against the packed integer weights
// (a 4-bit weight costs half a byte) plus their per-channel scales and zero points.

import { packedBytes, type Container } from './containers.js';

export interface SizeReport {
  /** All float initializers of the original model at 4 bytes each. */
  fp32Bytes: number;
  /** Elements of the quantized weights. */
  quantizedWeightElements: number;
  /** Those weights at FP32. */
  fp32WeightBytes: number;
  /** Those weights packed at their bit width k (k/8 bytes each: the ideal deployable size). */
  packedWeightBytes: number;
  /** Those weights as stored by the exported containers (INT4/UINT4 = ½ byte; 5–8 bits = 1 byte). */
  containerWeightBytes: number;
  /** Per-channel scales (float32) and zero points of the weights, plus 5 bytes per activation Q/DQ. */
  qparamBytes: number;
  /** Deployable total: fp32Bytes − fp32WeightBytes + packedWeightBytes + qparamBytes. */
  quantizedModelBytes: number;
  /** fp32Bytes / quantizedModelBytes. */
  compression: number;
  /** Size of the written .onnx file. */
  fileBytes: number;
}

/** Size report: FP32 bytes vs packed weight bytes (k/8 bytes per weight) and container bytes. */
export function sizeReport(fp32Bytes: number, weights: { n: number; container: Container | null; bits: number; channels: number }[], activations: number, fileBytes: number): SizeReport {
  let elems = 0, packed = 0, cont = 0, qp = 0;
  for (const w of weights) {
    elems += w.n;
    packed += Math.ceil((w.n * w.bits) / 8);
    cont += w.container ? packedBytes(w.n, w.container) : Math.ceil((w.n * (w.bits <= 4 ? 4 : 8)) / 8);
    qp += w.channels * 4 + (w.container ? packedBytes(w.channels, w.container) : w.channels);
  }
  qp += activations * 5;
  const fp32W = elems * 4;
  const total = fp32Bytes - fp32W + packed + qp;
  return { fp32Bytes, quantizedWeightElements: elems, fp32WeightBytes: fp32W, packedWeightBytes: packed, containerWeightBytes: cont, qparamBytes: qp, quantizedModelBytes: total, compression: fp32Bytes / total, fileBytes };
}
