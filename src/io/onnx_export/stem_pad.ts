// The network input padded with zero channels up to a multiple of 4 (int8 export): onnxruntime's NHWC
// QLinearConv is slow on 3 input channels (ShuffleNetV2's stem: 5.5 → 4.1 ms of ≈ 35 at batch 64, 1 thread,
// tools/probe/pad_stem.ts). Rule: same logits — the added channels are 0 and so are their weights, whose
// int8 codes are 0 (symmetric grids); the Pad runs in float in front of the input's QuantizeLinear.

import { floatTensor, int64Tensor, type GraphEditor } from './graph_edit.js';
import { toNum } from '../onnx/proto.js';

/**
 * Pad graph input `input` (NCHW, C % 4 ≠ 0) to ⌈C/4⌉·4 channels in front of its QuantizeLinear when every reader
 * of its dequantized tensor `dequantized` is a group-1 Conv with an initializer weight: W' = [W, 0]. Call
 * after the input's Q/DQ are in and before the weights are quantized. Returns whether it padded.
 */
export function padInputChannels(ed: GraphEditor, input: string, dequantized: string, shape: number[] | undefined): boolean {
  if (!shape || shape.length !== 4 || shape[1]! % 4 === 0) return false;
  const C = shape[1]!, C2 = Math.ceil(C / 4) * 4;
  const readers = ed.consumers(dequantized);
  const group = (n: (typeof readers)[number]['node']) => toNum(n.attribute?.find((a) => a.name === 'group')?.i ?? 1);
  if (readers.length === 0 || !readers.every(({ node, slot }) => node.opType === 'Conv' && slot === 0 && group(node) === 1 && ed.inits.has(node.input?.[1] ?? '') && ed.consumers(node.input![1]!).length === 1)) return false;
  for (const { node } of readers) {
    const w = node.input![1]!;
    const { data, dims } = ed.readFloat(w);
    const [O, , ...k] = dims as [number, number, ...number[]];
    const inner = k.reduce((a, b) => a * b, 1);
    const padded = new Float32Array(O * C2 * inner);
    for (let o = 0; o < O; o++) padded.set(data.subarray(o * C * inner, (o + 1) * C * inner), o * C2 * inner);
    const t = ed.inits.get(w)!;
    Object.assign(t, floatTensor(w, [O, C2, ...k], padded));
  }
  const out = ed.unique(`${input}_channel_padded`), pads = ed.unique(`${input}_channel_pads`);
  ed.addInit(int64Tensor(pads, [0, 0, 0, 0, 0, C2 - C, 0, 0]));
  for (const { node, slot } of ed.consumers(input)) node.input![slot] = out; // the input's QuantizeLinear
  ed.graph.node = [ed.node('Pad', `${input}_channel_pad`, [input, pads], [out]), ...(ed.graph.node ?? [])];
  return true;
}
