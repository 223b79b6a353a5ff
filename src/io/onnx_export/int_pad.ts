// Constant-0 Pads between a DequantizeLinear and a QuantizeLinear of the same grid move into the integer
// domain (int8 export): Pad(x_uint8, constant = zero point) → DequantizeLinear. onnxruntime keeps
// DQ → Pad → Q in float (ResNet's option-A shortcut channel Pads and its pre-pool Pad); on uint8 it is a byte
// copy its layout pass moves Transposes through. Rule: exact — the zero point is the grid's code of 0.

import { toNum, type NodeProto } from '../onnx/proto.js';
import type { GraphEditor } from './graph_edit.js';

/** DQ(xq; s, z) → Pad(0) → Q(s, z) ⇒ Pad(xq, z); returns the count. */
export function padsToInteger(ed: GraphEditor): number {
  let n = 0;
  const same = (a: string | undefined, b: string | undefined) => {
    if (!a || !b) return false;
    if (a === b) return true;
    const s = ed.constantScalar(a), t = ed.constantScalar(b);
    return s !== undefined && s === t && ed.inits.get(a)?.dataType === ed.inits.get(b)?.dataType;
  };
  for (const pad of [...(ed.graph.node ?? [])]) {
    if (pad.opType !== 'Pad') continue;
    const mode = pad.attribute?.find((a) => a.name === 'mode');
    if (mode && new TextDecoder().decode(mode.s ?? new Uint8Array()) !== 'constant') continue;
    const value = pad.input?.[2];
    if (value && ed.constantScalar(value) !== 0) continue;
    const dq = ed.producer(pad.input?.[0] ?? '');
    const readers = ed.consumers(pad.output?.[0] ?? '');
    const q: NodeProto | undefined = readers.length === 1 ? readers[0]!.node : undefined;
    if (dq?.opType !== 'DequantizeLinear' || q?.opType !== 'QuantizeLinear') continue;
    if (!same(dq.input?.[1], q.input?.[1]) || !same(dq.input?.[2], q.input?.[2]) || toNum(ed.inits.get(dq.input![1]!)?.dims?.length ?? 1) !== 0) continue;
    pad.input = [dq.input![0]!, pad.input![1]!, dq.input![2]!];
    pad.output = [q.output![0]!];
    ed.graph.node = ed.graph.node!.filter((m) => m !== q && (m !== dq || ed.consumers(dq.output![0]!).length > 0));
    n++;
  }
  return n;
}
