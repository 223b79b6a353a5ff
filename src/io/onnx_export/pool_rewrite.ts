// A spatial ReduceMean between two quantized edges becomes GlobalAveragePool + Flatten (int8 export), which
// onnxruntime runs as QLinearGlobalAveragePool in the NHWC layout instead of dequantizing the whole feature map
// and averaging it in float. Rule: the same mean and the same output grid (the student's quantizer on the
// ReduceMean output stays on the pool output); only the 4-D input, axes {2, 3} case is rewritten.

import { Tensor } from '../../engine/tensor.js';
import { tensorFromProto, toNum } from '../onnx/proto.js';
import { int64Tensor, type GraphEditor } from './graph_edit.js';

/** ReduceMean(x, axes 2,3) with x and the output both quantized → GlobalAveragePool (+ Flatten when keepdims=0); returns the count. */
export function reduceMeanToGlobalPool(ed: GraphEditor, quantized: ReadonlySet<string>, rank: (t: string) => number | undefined): number {
  let n = 0;
  for (const node of [...(ed.graph.node ?? [])]) {
    if (node.opType !== 'ReduceMean') continue;
    const x = node.input?.[0] ?? '', y = node.output?.[0] ?? '';
    if (!quantized.has(x) || !quantized.has(y) || rank(x) !== 4) continue;
    const attr = node.attribute?.find((a) => a.name === 'axes');
    let axes = attr ? (attr.ints ?? []).map(toNum) : null;
    if (!axes && node.input?.[1] && ed.inits.has(node.input[1])) {
      const v = tensorFromProto(ed.inits.get(node.input[1])!, ed.path, ed.path);
      axes = v instanceof Tensor ? null : v.data.map(Number);
    }
    if (!axes || axes.map((a) => (a < 0 ? a + 4 : a)).sort().join(',') !== '2,3') continue;
    const keep = toNum(node.attribute?.find((a) => a.name === 'keepdims')?.i ?? 1) !== 0;
    if (!keep && (ed.graph.output ?? []).some((o) => o.name === y)) continue;
    node.opType = 'GlobalAveragePool';
    node.input = [x];
    node.attribute = [];
    if (!keep) {
      // the pool keeps [N, C, 1, 1] and the quantizer; a Reshape to [N, C] (a pass op: same grid) feeds the readers
      const flat = ed.unique(`${y}_flat`), shape = ed.unique(`${y}_shape`);
      ed.addInit(int64Tensor(shape, [0, -1]));
      for (const { node: c, slot } of ed.consumers(y)) c.input![slot] = flat;
      ed.insertAfter(node, [ed.node('Reshape', `${node.name}_flatten`, [y, shape], [flat])]);
    }
    n++;
  }
  return n;
}
