// Optional BatchNormalization folding for export. Rule: a BN is folded only into a Conv whose weights
// stay FP — quantizing W and then applying BN (what training evaluated, spec §1.2) is not the same
// function as quantizing W·γ/σ, so BNs after quantized convs are always kept.

import { toNum } from '../onnx/proto.js';
import { floatTensor, type GraphEditor } from './graph_edit.js';

/** Fold BN(conv(x)) → conv'(x) with W' = W·γ/√(σ²+ε), b' = (b − μ)·γ/√(σ²+ε) + β where exact; returns the count. */
export function foldBatchNorms(ed: GraphEditor, quantizedWeights: Set<string>): number {
  let folded = 0;
  for (const bn of [...(ed.graph.node ?? [])]) {
    if (bn.opType !== 'BatchNormalization') continue;
    if (toNum(bn.attribute?.find((a) => a.name === 'training_mode')?.i ?? 0)) continue;
    const conv = ed.producer(bn.input?.[0] ?? '');
    if (!conv || conv.opType !== 'Conv' || ed.consumers(bn.input![0]!).length !== 1) continue;
    const wName = conv.input?.[1] ?? '';
    if (quantizedWeights.has(wName) || !ed.inits.has(wName) || ed.consumers(wName).length !== 1) continue;
    const params = (bn.input ?? []).slice(1, 5);
    if (params.length !== 4 || !params.every((p) => ed.inits.has(p))) continue;
    const [gamma, beta, mean, variance] = params.map((p) => ed.readFloat(p).data) as [Float32Array, Float32Array, Float32Array, Float32Array];
    const eps = bn.attribute?.find((a) => a.name === 'epsilon')?.f ?? 1e-5;
    const w = ed.readFloat(wName);
    const C = w.dims[0]!;
    const inner = w.data.length / C;
    const bName = conv.input?.[2];
    const bias = bName && ed.inits.has(bName) ? ed.readFloat(bName).data : new Float32Array(C);
    const newW = new Float32Array(w.data.length);
    const newB = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      const k = gamma[c]! / Math.sqrt(variance[c]! + eps);
      for (let i = 0; i < inner; i++) newW[c * inner + i] = w.data[c * inner + i]! * k;
      newB[c] = (bias[c]! - mean[c]!) * k + beta[c]!;
    }
    ed.writeFloat(wName, newW);
    const nb = ed.unique(`${wName}_folded_bias`);
    ed.addInit(floatTensor(nb, [C], newB));
    conv.input = [conv.input![0]!, wName, nb];
    conv.output = [bn.output![0]!];
    ed.graph.node = (ed.graph.node ?? []).filter((n) => n !== bn);
    folded++;
  }
  return folded;
}
