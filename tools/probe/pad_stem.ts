// Probe: pad the network input from C to C2 channels (zeros, in float before the input QuantizeLinear) and the
// stem conv's int8 weight with zero input channels — same logits — to time onnxruntime's QLinearConv at C2.
// Usage: node --import tsx tools/probe/pad_stem.ts in.int8.onnx out.onnx C2
import { readFileSync, writeFileSync } from 'node:fs';
import { onnx, toNum } from '../../src/io/onnx/proto.js';
const [src, dst, c2s] = process.argv.slice(2);
const C2 = Number(c2s);
const m = onnx.ModelProto.decode(readFileSync(src!));
const g = m.graph!;
const input = g.input![0]!.name!;
const q = g.node!.find((n) => n.input?.[0] === input)!;
const dqOut = g.node!.find((n) => n.opType === 'DequantizeLinear' && n.input?.[0] === q.output![0])!.output![0]!;
const conv = g.node!.find((n) => n.opType === 'Conv' && n.input?.[0] === dqOut)!;
const wdq = g.node!.find((n) => n.output?.[0] === conv.input![1])!;
const w = g.initializer!.find((t) => t.name === wdq.input![0])!;
const dims = w.dims!.map(toNum);
const [O, C, kh, kw] = dims as [number, number, number, number];
const raw = w.rawData!;
const out = new Uint8Array(O * C2 * kh * kw);
for (let o = 0; o < O; o++) for (let c = 0; c < C; c++) out.set(raw.subarray((o * C + c) * kh * kw, (o * C + c + 1) * kh * kw), (o * C2 + c) * kh * kw);
w.rawData = out;
w.dims = [O, C2, kh, kw];
const pads = onnx.TensorProto.create({ name: 'stem_pads', dims: [8], dataType: 7, int64Data: [0, 0, 0, 0, 0, C2 - C, 0, 0] });
g.initializer!.push(pads);
g.node!.unshift(onnx.NodeProto.create({ opType: 'Pad', name: 'stem_channel_pad', input: [input, 'stem_pads'], output: ['input_padded'] }));
q.input![0] = 'input_padded';
writeFileSync(dst!, onnx.ModelProto.encode(m).finish());
