import * as ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
import { onnx } from '../../src/io/onnx/proto.js';
const f = process.argv[2]!;
const s = await ort.InferenceSession.create(f, { graphOptimizationLevel: (process.env.LEVEL ?? 'extended') as 'extended', optimizedModelFilePath: '/tmp/opt.onnx' });
const m = onnx.ModelProto.decode(readFileSync('/tmp/opt.onnx'));
const nodes = m.graph!.node!;
const prod = new Map<string, any>(); for (const n of nodes) for (const o of n.output ?? []) prod.set(o, n);
const cons = new Map<string, any[]>(); for (const n of nodes) for (const i of n.input ?? []) cons.set(i, [...(cons.get(i) ?? []), n]);
let k = 0;
for (const n of nodes) if (n.opType === (process.env.OP ?? 'DequantizeLinear') && k++ < 40) {
  const p = prod.get(n.input![0]!); const c = cons.get(n.output![0]!) ?? [];
  console.log(`${p?.opType}(${p?.name}) -> OP -> ${c.map((x) => x.opType + '(' + x.name + ')').join(', ')}`);
}
