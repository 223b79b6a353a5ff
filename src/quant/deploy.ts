// The deploy quantization scheme: the student as an integer runtime executes it. BatchNorms folded into
// their convs (frozen running statistics), symmetric per-channel weights (zero point 0, int8 container),
// and activation quantizers on graph EDGES where onnxruntime has integer kernels: the network input, every
// quantized Conv/Gemm input and output (after its ReLU when one follows: onnxruntime removes that ReLU),
// residual Add, Concat and pooling outputs. Data-movement ops (Reshape, Slice, MaxPool, …) pass the grid on.
// The input quantizer's range is the normalized pixel range, fixed, when the qconfig knows the normalization.
// Rule: the plan is computed from the graph and the op table of src/io/onnx_export/qdq_ops.ts, the same
// table the exporter reads, so training, lrq's evaluation and onnxruntime run the same quantized function.

import { Tensor } from '../engine/tensor.js';
import { LrqError } from '../engine/errors.js';
import type { Module } from '../nn/module.js';
import { Conv2d, Identity, Linear, ReLU, ReLU6 } from '../nn/layers/index.js';
import { type GraphModule, sanitizeName } from '../io/onnx/graph.js';
import { ACTIVATION_OPS, COMPUTE_OPS, PASS_OPS, WEIGHTED_OPS } from '../io/onnx_export/qdq_ops.js';
import { ActFakeQuant } from './fake_quantize.js';
import { assertNotPrepared, QuantConv2d, QuantLinear } from './quant_modules.js';
import { foldStudentBatchNorms, type FoldRecord, type UnfoldedBn } from './fold.js';
import { layerWeightBits, type QConfig } from './qconfig.js';
import { checkNormalization, normalizedPixelRange } from '../io/datasets/normalize.js';
import type { PrepareSummary } from './prepare.js';

/** Bits of the network-input quantizer: images are 8-bit, and integer runtimes feed the first conv 8-bit codes. */
export const DEPLOY_INPUT_BITS = 8;

/** What prepareDeploy did, beyond the paper scheme's summary. */
export interface DeploySummary extends PrepareSummary {
  scheme: 'deploy';
  folded: FoldRecord[];
  unfolded: UnfoldedBn[];
  /** Quantized edges (own quantizer) → bits. */
  edges: Map<string, number>;
  /** Edges that inherit a quantized input's grid through a data-movement op → the source edge. */
  passed: Map<string, string>;
  /** Conv/Gemm nodes left in float (first/last rule, dynamic weights) and other float nodes between quantized tensors. */
  floatNodes: { node: string; op: string; reason: string }[];
  /** The network-input quantizer's fixed range (the normalized pixel range), or null when it is observed. */
  inputRange: [number, number] | null;
}

/** The quantized-edge plan of a (folded) student; `quantizedLayer(path)` says whether a weighted step is quantized. */
export function planDeployEdges(g: GraphModule, floatEdges: Set<string>, quantizedLayer: (path: string | undefined) => boolean, actBits: number): Pick<DeploySummary, 'edges' | 'passed' | 'floatNodes'> {
  const steps = g.graphSteps();
  const consumers = new Map<string, number>();
  for (const s of steps) for (const e of s.inputs) if (e && !g.isConstant(e)) consumers.set(e, (consumers.get(e) ?? 0) + 1);
  const own = new Map<string, number>();
  const passed = new Map<string, string>();
  const want = new Set<string>(); // outputs of integer kernels, quantized after their ReLU if one follows
  const floatNodes: DeploySummary['floatNodes'] = [];
  const isQuantized = (e: string) => own.has(e) || passed.has(e) || want.has(e);
  const resolve = (e: string) => {
    if (want.delete(e)) own.set(e, actBits);
  };
  const request = (e: string) => {
    if (!e || g.isConstant(e) || !floatEdges.has(e)) return;
    resolve(e);
    if (!isQuantized(e)) own.set(e, actBits);
  };
  own.set(g.inputName, DEPLOY_INPUT_BITS);
  for (const s of steps) {
    const data = s.inputs.filter((e) => e && !g.isConstant(e));
    const in0 = s.inputs[0] ?? '';
    const outs = s.outputs.filter((o) => o && floatEdges.has(o) && o !== g.outputName);
    const mod = s.module ? g.getSubmodule(s.module) : undefined;
    if (WEIGHTED_OPS.has(s.op) && s.module) {
      if (!quantizedLayer(s.module)) {
        data.forEach(resolve);
        floatNodes.push({ node: s.node, op: s.op, reason: 'kept in float (first/last layer rule)' });
        continue;
      }
      request(in0);
      for (const o of outs) want.add(o);
    } else if (s.op === 'BatchNormalization' && mod instanceof Identity) {
      // folded BN: the conv's pending output quantizer moves to the BN's output
      if (want.has(in0) && consumers.get(in0) === 1) {
        want.delete(in0);
        for (const o of outs) want.add(o);
      } else if (isQuantized(in0)) for (const o of outs) passed.set(o, in0);
    } else if (ACTIVATION_OPS.has(s.op) && (mod instanceof ReLU || mod instanceof ReLU6)) {
      if (want.has(in0) && consumers.get(in0) === 1) {
        want.delete(in0); // the fused point: onnxruntime drops this ReLU in front of its zero-point-0 Q
        for (const o of outs) own.set(o, actBits);
      } else {
        resolve(in0);
        if (isQuantized(in0)) for (const o of outs) own.set(o, actBits);
      }
    } else if (PASS_OPS.has(s.op) && floatEdges.has(in0)) {
      resolve(in0);
      if (isQuantized(in0)) for (const o of outs) passed.set(o, in0);
    } else if (COMPUTE_OPS.has(s.op) && data.every((e) => floatEdges.has(e))) {
      data.forEach(request);
      for (const o of outs) want.add(o);
    } else {
      data.forEach(resolve);
      if (floatEdges.has(in0) && data.some(isQuantized) && !['Shape', 'Cast'].includes(s.op)) {
        floatNodes.push({ node: s.node, op: s.op, reason: s.op === 'BatchNormalization' ? 'BatchNormalization not folded' : 'no integer kernel in onnxruntime' });
      }
    }
  }
  for (const e of want) own.set(e, actBits);
  return { edges: own, passed, floatNodes };
}

/** The edge whose own quantizer sets `edge`'s grid: `edge` itself, or its source through pass-through ops. */
export function quantizedRoot(passed: ReadonlyMap<string, string>, edge: string | undefined): string | undefined {
  let e = edge;
  while (e !== undefined && passed.has(e)) e = passed.get(e);
  return e;
}

/**
 * Prepare `g` (the student's own copy) in the deploy scheme: fold BNs, symmetric per-channel weight
 * fake-quant on every Conv/Linear (first/last per q), and an ActFakeQuant on every planned edge; with
 * q.normalization, the network input's quantizer fixed to the normalized pixel range.
 */
export function prepareDeploy(g: GraphModule, q: QConfig): DeploySummary {
  assertNotPrepared(g, 'prepareDeploy');
  const shape = g.inputShape.map((d, i) => (d ?? (i === 0 ? 1 : NaN)));
  if (shape.length === 0 || shape.some((d) => !Number.isFinite(d))) throw new LrqError(`deploy scheme: the model input '${g.inputName}' needs a static shape apart from the batch, got [${g.inputShape.map((d) => d ?? '?').join(', ')}]`);
  if (q.normalization) {
    if (shape.length !== 4) throw new LrqError(`deploy scheme: a normalization is given but the model input '${g.inputName}' is not an NCHW image ([${shape.join(', ')}])`);
    checkNormalization(q.normalization, shape[1]!);
  }
  const floatEdges = g.traceFloatEdges(new Tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape));
  const { folded, unfolded } = foldStudentBatchNorms(g);

  const weighted = g.moduleSteps().filter((s) => WEIGHTED_OPS.has(s.op));
  const order = weighted.map((s) => s.path);
  const first = order[0] ?? null;
  const last = order[order.length - 1] ?? null;
  const bitsFor = (p: string): number | null => layerWeightBits(q, p, first, last);
  const summary: DeploySummary = {
    scheme: 'deploy', convs: [], linears: [], acts: [], first, last, folded, unfolded,
    edges: new Map(), passed: new Map(), floatNodes: [], inputRange: null,
  };
  const done = new Map<Module, Module>();
  for (const { path } of weighted) {
    const m = g.getSubmodule(path);
    const bits = bitsFor(path);
    if (bits === null) continue;
    let qm = done.get(m);
    if (m instanceof Conv2d) {
      qm ??= new QuantConv2d(m, bits, 'symmetric');
      summary.convs.push(path);
    } else if (m instanceof Linear) {
      qm ??= new QuantLinear(m, bits, 'symmetric');
      summary.linears.push(path);
    } else continue;
    done.set(m, qm);
    g.setSubmodule(path, qm);
  }
  const quantized = new Set([...summary.convs, ...summary.linears]);
  const plan = planDeployEdges(g, floatEdges, (p) => p !== undefined && quantized.has(p), q.actBits);
  // first/last at 8 bits: the classifier's input quantizer too (BRECQ/Genie keep the last layer's input at 8)
  if (q.firstLastBits === 8 && last && quantized.has(last)) {
    const e = quantizedRoot(plan.passed, g.graphSteps().find((s) => s.module === last)?.inputs[0]);
    if (e !== undefined && plan.edges.has(e)) plan.edges.set(e, 8);
  }
  const used = new Set([...g.namedModules()].map(([p]) => p));
  const quantizerOf = new Map<string, ActFakeQuant>();
  for (const [edge, bits] of plan.edges) {
    let path = `aq_${sanitizeName(edge) || 'edge'}`;
    for (let k = 2; used.has(path); k++) path = `aq_${sanitizeName(edge)}_${k}`;
    used.add(path);
    const aq = new ActFakeQuant(bits, q.rangeMode, q.emaBeta);
    g.setEdgeModule(edge, path, aq);
    quantizerOf.set(edge, aq);
    summary.acts.push(path);
  }
  // the input's range is known without data: every normalized 8-bit image lies in the pixel range, and no other
  // range suits real images (observed on generator images it wastes levels, on a few real ones it may clip)
  const inputQuantizer = quantizerOf.get(g.inputName);
  if (q.normalization && inputQuantizer) {
    summary.inputRange = normalizedPixelRange(q.normalization);
    inputQuantizer.fixRange(...summary.inputRange);
  }
  // each quantized layer knows its input's quantizer (through pass-through ops), for the int32 bias grid
  for (const st of g.graphSteps()) {
    if (!st.module || !quantized.has(st.module)) continue;
    const aq = quantizerOf.get(quantizedRoot(plan.passed, st.inputs[0]) ?? '');
    const qm = g.getSubmodule(st.module);
    if (aq && (qm instanceof QuantConv2d || qm instanceof QuantLinear)) qm.inputQuantizer = aq;
  }
  summary.edges = plan.edges;
  summary.passed = plan.passed;
  summary.floatNodes = plan.floatNodes;
  for (const u of unfolded) if (!summary.floatNodes.some((f) => f.node === u.node)) summary.floatNodes.push({ node: u.node, op: 'BatchNormalization', reason: `not folded: ${u.reason}` });
  return summary;
}
