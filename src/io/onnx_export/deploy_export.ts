// Export of a deploy-scheme student: an ONNX graph onnxruntime turns into integer kernels. The original
// graph with its folded BNs removed, int8 symmetric per-channel weights + DequantizeLinear, int32 biases at
// scale s_x·s_w, uint8 Q/DQ on every planned edge, and the input's Q/DQ parameters copied across every
// data-movement op. Rule: the Q/DQ points are exactly the student's edge quantizers (same op table as the
// planner), and the result states which nodes onnxruntime fused — read from its optimized model, not assumed.

import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { LrqError } from '../../engine/errors.js';
import { onnx, readModelProto, toNum, type NodeProto } from '../onnx/proto.js';
import { INT32, INT8, UINT8 } from './containers.js';
import { defaultOpset, floatTensor, GraphEditor, int64Tensor, intAttr, intTensor } from './graph_edit.js';
import { Tensor } from '../../engine/tensor.js';
import { loadOnnx, type GraphModule } from '../onnx/index.js';
import { intActivationQdq, type IntActQdq } from './qparams.js';
import { gdfqCode, gdfqGrid, type ExportSpec } from './spec.js';
import { sizeReport } from './size.js';
import { LRQ_EXPORT_VERSION, qdqPair, weightAxis, writeChecked, type ActRecord, type ExportResult, type WeightRecord } from './export.js';
import { PASS_OPS, WEIGHTED_OPS } from './qdq_ops.js';
import { foldChannelOrder } from './channel_order.js';
import { reduceMeanToGlobalPool } from './pool_rewrite.js';
import { padInputChannels } from './stem_pad.js';
import { padsToInteger } from './int_pad.js';

/** Integer kernels onnxruntime runs for quantized nodes (default and com.microsoft domains). */
export const INTEGER_KERNELS: readonly string[] = [
  'QLinearConv', 'QGemm', 'QLinearMatMul', 'MatMulInteger', 'ConvInteger', 'QLinearAdd', 'QLinearConcat',
  'QLinearAveragePool', 'QLinearGlobalAveragePool', 'QLinearMul', 'QLinearSigmoid', 'QLinearLeakyRelu',
];

/** What onnxruntime's optimizer made of an export. */
export interface FusionReport {
  /** Op type → count in onnxruntime's optimized graph (extended level). */
  ops: Record<string, number>;
  /** Conv/Gemm/MatMul nodes that still run in float, by name. */
  floatLayers: string[];
}

/** Quantization parameters of a tensor after its Q/DQ pair. */
interface EdgeQ {
  scale: number;
  zeroPoint: number;
  bits: number;
}

/** Export a deploy-scheme spec of `originalOnnxPath` to `outPath` (form 'int8'); checks onnxruntime loads, runs and fuses it. */
export async function exportDeploy(originalOnnxPath: string, spec: ExportSpec, outPath: string): Promise<ExportResult> {
  if (spec.scheme !== 'deploy') throw new LrqError('export int8: the run was quantized in the paper scheme (BN unfolded, GDFQ quantizer placement); re-run with --scheme deploy');
  const model = readModelProto(originalOnnxPath);
  const ed = new GraphEditor(model, originalOnnxPath);
  const opset = defaultOpset(model);
  if (opset < 13) throw new LrqError(`${originalOnnxPath}: opset ${opset} is too old to export (need ≥ 13 for per-channel DequantizeLinear)`);
  const fp32Total = ed.floatInitializerBytes();
  for (const [name, data] of spec.initializers ?? []) ed.writeFloat(name, data);
  const byName = (n: string) => (ed.graph.node ?? []).find((x) => x.name === n);

  // 1. the folded BatchNorms leave the graph; their convs output the BN's tensor with the folded bias
  for (const f of spec.folded ?? []) {
    const bn = byName(f.bn), conv = byName(f.conv);
    if (!bn || !conv || bn.input?.[0] !== conv.output?.[0]) throw new LrqError(`export int8: folded pair Conv '${f.conv}' → BatchNormalization '${f.bn}' is not in ${originalOnnxPath}`);
    conv.output = [bn.output![0]!];
    const bName = ed.unique(`${f.conv}_folded_bias`);
    ed.addInit(floatTensor(bName, [f.bias.length], f.bias));
    const oldBias = conv.input?.[2];
    conv.input = [conv.input![0]!, conv.input![1]!, bName];
    ed.graph.node = (ed.graph.node ?? []).filter((n) => n !== bn);
    if (oldBias && ed.inits.has(oldBias) && ed.consumers(oldBias).length === 0) ed.removeInit(oldBias);
    for (const p of (bn.input ?? []).slice(1)) if (ed.inits.has(p) && ed.consumers(p).length === 0) ed.removeInit(p);
  }

  // 1b. channel shuffles (Reshape [N,g,C/g,H,W] → Transpose 0,2,1,3,4 → Reshape [N,C,H,W]) become one
  //     Gather of channels: the same permutation, but onnxruntime's uint8 5-D Transpose is 4× slower than
  //     float's, and the shape arithmetic feeding the Reshapes goes away with it
  // (the trace — a second import and two forwards — only when there is a Shape or a Transpose to rewrite)
  const traced = (ed.graph.node ?? []).some((n) => n.opType === 'Shape' || n.opType === 'Transpose') ? traceOriginal(originalOnnxPath) : null;
  const shuffles = traced ? rewriteChannelShuffles(ed, traced[0]) : 0;
  const folded = traced ? foldShapeValues(ed, traced[0], traced[1]) : 0;
  if (shuffles || folded) removeDeadNodes(ed);
  // 1c. …and then folded away: the convolutions around each shuffle read and write permuted channel orders, so
  //     onnxruntime's NHWC layout pass meets no Gather (it cannot move its Transposes through one)
  const weightSpec = new Map(spec.weights);
  const order = traced && shuffles ? foldChannelOrder(ed, weightSpec, (t) => traced[0].get(t)?.shape[1], new Set(spec.activations.keys())) : null;
  if (order?.shuffles) removeDeadNodes(ed);
  if (traced) reduceMeanToGlobalPool(ed, new Set([...spec.activations.keys()]), (t) => traced[0].get(t)?.shape.length);

  // 2. Q/DQ on every quantized edge (uint8: the container onnxruntime's kernels take for activations)
  const qOf = new Map<string, EdgeQ>();
  const activations: ActRecord[] = [];
  const inputName = (ed.graph.input ?? []).find((i) => !ed.inits.has(i.name ?? ''))?.name ?? '';
  for (const [edge, aq] of spec.activations) {
    const producer = ed.producer(edge);
    if (!producer && edge !== inputName) throw new LrqError(`export int8: quantized edge '${edge}' is not a tensor of ${originalOnnxPath}`);
    const where = `export int8: edge '${edge}'`;
    const p = intActivationQdq(aq.lo, aq.hi, aq.bits, where);
    const pre = producer ? ed.unique(`${edge}_prequant`) : edge;
    const post = producer ? edge : ed.unique(`${edge}_dequantized`);
    if (producer) producer.output = (producer.output ?? []).map((t) => (t === edge ? pre : t));
    else for (const { node, slot } of ed.consumers(edge)) node.input![slot] = post;
    const nodes = clampedQdq(ed, edge, pre, post, p);
    if (producer) ed.insertAfter(producer, nodes);
    else ed.graph.node = [...nodes, ...(ed.graph.node ?? [])];
    qOf.set(post, { scale: p.scale, zeroPoint: p.zeroPoint, bits: aq.bits });
    const real = (u: number | null) => (u === null ? null : Math.fround((u - p.zeroPoint) * p.scale));
    activations.push({ tensor: edge, node: producer?.name ?? '(graph input)', bits: aq.bits, container: 'UINT8', scale: p.scale, zeroPoint: p.zeroPoint, clip: [real(p.clampLo), real(p.clampHi)] });
    if (!producer) padInputChannels(ed, edge, post, declaredShape(ed, edge));
  }

  // 3. data-movement ops keep their input's grid: the same Q/DQ after them lets onnxruntime drop both
  const graphOutputs = new Set((ed.graph.output ?? []).map((o) => o.name ?? ''));
  for (const node of [...(ed.graph.node ?? [])]) {
    const src = qOf.get(node.input?.[0] ?? '');
    if (!src || !PASS_OPS.has(node.opType ?? '')) continue;
    for (const out of node.output ?? []) {
      if (!out || qOf.has(out) || graphOutputs.has(out)) continue;
      const pre = ed.unique(`${out}_prequant`);
      node.output = (node.output ?? []).map((t) => (t === out ? pre : t));
      ed.insertAfter(node, qdqPair(ed, out, pre, out, src.scale, src.zeroPoint, UINT8));
      qOf.set(out, src);
    }
  }

  padsToInteger(ed);

  // 4. weights: int8 symmetric per output channel (zero point 0: what QLinearConv's per-channel path needs)
  const weights: WeightRecord[] = [];
  const weightBits: { n: number; container: typeof INT8 | null; bits: number; channels: number }[] = [];
  const wScale = new Map<string, Float32Array>(); // DequantizeLinear output (the weight's name) → per-channel scale
  for (const [name, wq] of weightSpec) {
    const { data, dims } = ed.readFloat(name);
    const axis = weightAxis(ed, name, dims.length);
    const C = dims[axis]!;
    if (!wq.lo || !wq.hi || wq.lo.length !== C || wq.hi.length !== C) throw new LrqError(`export int8: weight '${name}' needs its ${C} per-channel symmetric ranges in the spec`);
    const grids = Array.from(wq.lo, (l, c) => gdfqGrid(l, wq.hi![c]!, wq.bits));
    let inner = 1;
    for (let d = axis + 1; d < dims.length; d++) inner *= dims[d]!;
    const codes = new Int32Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const g = grids[Math.floor(i / inner) % C]!;
      const level = gdfqCode(data[i]!, g) + g.zp; // x̂ = level/s with level ∈ [−2^(k−1), 2^(k−1)−1]
      if (level < INT8.min || level > INT8.max) throw new LrqError(`export int8: weight '${name}' level ${level} outside int8 (range not symmetric?)`);
      codes[i] = level;
    }
    const scale = Float32Array.from(grids, (g) => 1 / g.s);
    const qName = ed.unique(`${name}_quantized`), sName = ed.unique(`${name}_scale`), zName = ed.unique(`${name}_zero_point`);
    ed.removeInit(name);
    ed.addInit(intTensor(qName, dims, codes, INT8));
    ed.addInit(floatTensor(sName, [C], scale));
    ed.addInit(intTensor(zName, [C], new Int32Array(C), INT8));
    ed.graph.node = [ed.node('DequantizeLinear', `${name}_DequantizeLinear`, [qName, sName, zName], [name], [intAttr('axis', axis)]), ...(ed.graph.node ?? [])];
    wScale.set(name, scale);
    weights.push({ name, bits: wq.bits, container: 'INT8', channels: C, elements: data.length, axis });
    weightBits.push({ n: data.length, container: INT8, bits: wq.bits, channels: C });
  }

  // 5. biases: int32 codes at scale s_x·s_w (onnxruntime's integer kernels add them to the int32 accumulator)
  for (const node of [...(ed.graph.node ?? [])]) {
    if (!WEIGHTED_OPS.has(node.opType ?? '') || node.opType === 'MatMul') continue;
    const sw = wScale.get(node.input?.[1] ?? '');
    const x = qOf.get(node.input?.[0] ?? '');
    const b = node.input?.[2];
    if (!sw || !x || !b || !ed.inits.has(b)) continue;
    const bias = ed.readFloat(b).data;
    if (bias.length !== sw.length) continue;
    const sb = Float32Array.from(sw, (s) => Math.fround(x.scale * s));
    const codes = Int32Array.from(bias, (v, c) => Math.max(INT32.min, Math.min(INT32.max, Math.round(v / sb[c]!))));
    const qName = ed.unique(`${b}_quantized`), sName = ed.unique(`${b}_scale`), zName = ed.unique(`${b}_zero_point`), out = ed.unique(`${b}_dequantized`);
    ed.addInit(intTensor(qName, [bias.length], codes, INT32));
    ed.addInit(floatTensor(sName, [bias.length], sb));
    ed.addInit(intTensor(zName, [bias.length], new Int32Array(bias.length), INT32));
    const dq = ed.node('DequantizeLinear', `${b}_DequantizeLinear`, [qName, sName, zName], [out], [intAttr('axis', 0)]);
    ed.graph.node = [dq, ...(ed.graph.node ?? [])];
    node.input![2] = out;
    if (ed.consumers(b).length === 0) ed.removeInit(b);
  }

  // 6. Shape reads the integer tensor: the shape is the same, and onnxruntime would otherwise dequantize a
  //    whole activation only to take its shape (ShuffleNetV2's dynamic channel shuffle: 78 such DQs)
  const dqInput = new Map<string, string>();
  for (const n of ed.graph.node ?? []) if (n.opType === 'DequantizeLinear' && qOf.has(n.output?.[0] ?? '')) dqInput.set(n.output![0]!, n.input![0]!);
  for (const n of ed.graph.node ?? []) {
    const q = n.opType === 'Shape' ? dqInput.get(n.input?.[0] ?? '') : undefined;
    if (q) n.input![0] = q;
  }

  const uniq = (xs: number[]) => [...new Set(xs)].sort((a, b) => a - b).join(',');
  const meta: Record<string, string> = {
    'lrq.version': LRQ_EXPORT_VERSION,
    'lrq.form': 'int8',
    'lrq.scheme': 'deploy',
    'lrq.quantizer': 'deploy: BN folded; int8 symmetric per-channel weights (2^k levels); uint8 activations on every integer-kernel edge; int32 bias',
    'lrq.wbits': uniq([...spec.weights.values()].map((w) => w.bits)),
    'lrq.abits': uniq([...spec.activations.values()].map((a) => a.bits)),
    'lrq.bn_folded': String((spec.folded ?? []).length),
    'lrq.source_model': originalOnnxPath.split('/').pop() ?? originalOnnxPath,
    ...(spec.metadata ?? {}),
  };
  const props = new Map((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  for (const [k, v] of Object.entries(meta)) props.set(k, v);
  model.metadataProps = [...props].map(([key, value]) => ({ key, value }));
  model.producerName = 'lrq';
  model.producerVersion = LRQ_EXPORT_VERSION;
  await writeChecked(outPath, onnx.ModelProto.encode(model).finish(), true);
  const fileBytes = statSync(outPath).size;
  const fusion = await fusionReport(outPath);
  return {
    path: outPath, form: 'int8', opset, fileBytes, weights, activations, bnFolded: (spec.folded ?? []).length,
    size: sizeReport(fp32Total, weightBits, activations.length, fileBytes), fusion,
  };
}

/** QuantizeLinear → (uint8 Clip to the k-bit levels, when the grid has fewer than 256) → DequantizeLinear. */
function clampedQdq(ed: GraphEditor, base: string, x: string, out: string, p: IntActQdq): NodeProto[] {
  const [q, dq] = qdqPair(ed, base, x, out, p.scale, p.zeroPoint, UINT8);
  if (p.clampLo === null && p.clampHi === null) return [q!, dq!];
  const bound = (v: number | null, what: string) => {
    if (v === null) return '';
    const name = ed.unique(`${base}_clamp_${what}`);
    ed.addInit(intTensor(name, [], [v], UINT8));
    return name;
  };
  const clamped = ed.unique(`${base}_clamped`);
  const clip = ed.node('Clip', `${base}_ClipLevels`, [q!.output![0]!, bound(p.clampLo, 'min'), bound(p.clampHi, 'max')], [clamped]);
  dq!.input![0] = clamped;
  return [q!, clip, dq!];
}

/** Channel shuffles → Gather(axis 1) with the constant permutation o ↦ (o mod g)·(C/g) + ⌊o/g⌋; returns the count. */
type Traced = ReturnType<GraphModule['traceEdges']>;

/** Edge kinds, shapes and small integer values of the original graph at batch 1 and batch 2 (null: no static input shape). */
function traceOriginal(originalOnnxPath: string): [Traced, Traced] | null {
  const g = loadOnnx(originalOnnxPath, { requireBatchNorm: false });
  const at = (n: number) => {
    const shape = g.inputShape.map((d, i) => d ?? (i === 0 ? n : NaN));
    return shape.some((d) => !Number.isFinite(d)) ? null : g.traceEdges(new Tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape));
  };
  const a = at(1), b = at(2);
  return a && b ? [a, b] : null;
}

/**
 * Integer inputs computed at run time from shapes (Slice bounds, Reshape targets, …) that do not depend on
 * the batch size (equal at batch 1 and 2) become constants: onnxruntime then folds them and can move its
 * layout transposes through the Slices. Returns the count.
 */
function foldShapeValues(ed: GraphEditor, one: Traced, two: Traced): number {
  let n = 0;
  const made = new Map<string, string>();
  // only values computed from shapes alone (Shape outputs and arithmetic on them and on constants): a value
  // computed from the data (ArgMax, NonZero, …) is not a constant even when both traces agree
  const fromShapes = new Set<string>();
  const isConst = (t: string) => !t || ed.inits.has(t) || ed.producer(t)?.opType === 'Constant';
  for (const node of ed.graph.node ?? []) {
    const ins = node.input ?? [];
    if (node.opType === 'Shape' || (node.opType !== 'Constant' && ins.some((t) => fromShapes.has(t)) && ins.every((t) => fromShapes.has(t) || isConst(t)))) {
      for (const o of node.output ?? []) if (o) fromShapes.add(o);
    }
  }
  for (const node of ed.graph.node ?? []) {
    if (node.opType === 'Shape') continue;
    (node.input ?? []).forEach((inp, slot) => {
      if (slot === 0 || !inp || ed.inits.has(inp) || !fromShapes.has(inp)) return;
      const a = one.get(inp), b = two.get(inp);
      if (!a || !b || a.float || !a.ints || !b.ints || a.ints.join(',') !== b.ints.join(',') || a.shape.join(',') !== b.shape.join(',')) return;
      let c = made.get(inp);
      if (!c) {
        c = ed.unique(`${inp}_const`);
        const t = int64Tensor(c, a.ints);
        t.dims = a.shape;
        ed.addInit(t);
        made.set(inp, c);
      }
      node.input![slot] = c;
      n++;
    });
  }
  return n;
}

function rewriteChannelShuffles(ed: GraphEditor, edges: Traced): number {
  const transposes = (ed.graph.node ?? []).filter((n) => n.opType === 'Transpose' && (n.attribute?.find((a) => a.name === 'perm')?.ints ?? []).map(toNum).join(',') === '0,2,1,3,4');
  let n = 0;
  for (const t of transposes) {
    const r1 = ed.producer(t.input?.[0] ?? '');
    const uses = ed.consumers(t.output?.[0] ?? '');
    const r2 = uses.length === 1 ? uses[0]!.node : undefined;
    if (!r1 || r1.opType !== 'Reshape' || !r2 || r2.opType !== 'Reshape' || ed.consumers(r1.output![0]!).length !== 1) continue;
    const x = edges.get(r1.input![0]!)?.shape, mid = edges.get(r1.output![0]!)?.shape, y = edges.get(r2.output![0]!)?.shape;
    if (!x || !mid || !y || x.length !== 4 || mid.length !== 5 || x.join(',') !== y.join(',')) continue;
    const [, C, H, W] = x as [number, number, number, number];
    const [, groups, per, mh, mw] = mid as [number, number, number, number, number];
    if (groups * per !== C || mh !== H || mw !== W) continue;
    const perm = Array.from({ length: C }, (_, o) => (o % groups) * per + Math.floor(o / groups));
    const idx = ed.unique(`${t.name}_channel_permutation`);
    ed.addInit(int64Tensor(idx, perm));
    const gather = ed.node('Gather', `${t.name}_as_Gather`, [r1.input![0]!, idx], [r2.output![0]!], [intAttr('axis', 1)]);
    const list = ed.graph.node ?? [];
    list.splice(list.indexOf(r2), 1, gather);
    ed.graph.node = list.filter((m) => m !== r1 && m !== t);
    n++;
  }
  return n;
}

/** Dims of a graph input as declared (a symbolic dim is NaN), or undefined. */
function declaredShape(ed: GraphEditor, name: string): number[] | undefined {
  const dims = (ed.graph.input ?? []).find((i) => i.name === name)?.type?.tensorType?.shape?.dim;
  return dims ? dims.map((d) => (d.dimValue !== undefined && d.dimValue !== null ? toNum(d.dimValue) : NaN)) : undefined;
}

/** Drop nodes none of whose outputs is read (shape arithmetic left behind by a rewrite), to a fixed point. */
function removeDeadNodes(ed: GraphEditor): void {
  const outputs = new Set((ed.graph.output ?? []).map((o) => o.name ?? ''));
  for (;;) {
    const read = new Set<string>();
    for (const n of ed.graph.node ?? []) for (const i of n.input ?? []) read.add(i);
    const before = (ed.graph.node ?? []).length;
    ed.graph.node = (ed.graph.node ?? []).filter((n) => (n.output ?? []).some((o) => o && (read.has(o) || outputs.has(o))));
    if (ed.graph.node.length === before) break;
  }
  const read = new Set<string>();
  for (const n of ed.graph.node ?? []) for (const i of n.input ?? []) read.add(i);
  for (const name of [...ed.inits.keys()]) if (!read.has(name) && !outputs.has(name)) ed.removeInit(name);
}

/** Load `file` in onnxruntime with extended optimizations, save its optimized graph and count what it runs. */
export async function fusionReport(file: string): Promise<FusionReport> {
  const dir = mkdtempSync(join(tmpdir(), 'lrq-fusion-'));
  const optimized = join(dir, 'optimized.onnx');
  try {
    const s = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'extended', optimizedModelFilePath: optimized });
    await s.release();
    const m = onnx.ModelProto.decode(readFileSync(optimized));
    const ops: Record<string, number> = {};
    const floatLayers: string[] = [];
    for (const n of m.graph?.node ?? []) {
      const op = n.opType ?? '';
      ops[op] = (ops[op] ?? 0) + 1;
      if (op === 'Conv' || op === 'Gemm' || op === 'MatMul' || op === 'FusedConv' || op === 'FusedGemm') floatLayers.push(n.name ?? '(unnamed)');
    }
    return { ops, floatLayers };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
