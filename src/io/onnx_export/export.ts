// Deployable ONNX from a run: the ORIGINAL teacher graph, edited in place — quantized weights become
// integer initializers + DequantizeLinear (per output channel), each quantized ReLU/Clip output gets a
// per-tensor QuantizeLinear→DequantizeLinear pair. Rule: nothing is written unless onnxruntime loads
// and runs the new file; the target is replaced atomically (temp file + rename).
//
// Exactness (measured on ResNet-20 W4A4, 400 CIFAR-10 test images, onnxruntime-node 1.30 CPU): weights
// dequantize to the engine's (q+zp)/s within 1 ulp ((u−z)·fl(1/s)); an activation level can differ from
// the engine's only where s·x is within float32 rounding of a .5 tie (ONNX rounds x/fl(1/s), the engine
// fl(s·x) − zp). Result: 399/400 images give logits equal to the emulation to 1e-4, top-1 identical.
// BatchNormalization is kept (lrq.bn_folded=false): folding after weight quantization is not the same
// function. 'emulate' with graph optimizations disabled matches src/engine's fakeQuant bit for bit.

import { closeSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import * as ort from 'onnxruntime-node';
import { LrqError } from '../../engine/errors.js';
import { onnx, readModelProto, toNum, type NodeProto } from '../onnx/proto.js';
import { tempPathFor } from '../atomic.js';
import { containersFor, UINT8, type Container } from './containers.js';
import { bumpOpset, defaultOpset, floatTensor, GraphEditor, intAttr, intTensor } from './graph_edit.js';
import { type ActQdq, activationQdq, weightQdq } from './qparams.js';
import { channelMinMax, fakeQuantGdfq, type ExportSpec } from './spec.js';
import { foldBatchNorms } from './fold_bn.js';
import { sizeReport, type SizeReport } from './size.js';
import type { FusionReport } from './deploy_export.js';

/**
 * Export forms: 'qdq' — opset 21, integer weights (UINT4 for k ≤ 4, else UINT8) + DequantizeLinear,
 * activations Q/DQ in UINT8; 'qdq8' — the same at the original opset (≥ 13) with 8-bit containers
 * only (exactly 2^k levels each); 'fakequant-fp32' — original opset, weights stored already on the grid as
 * FP32 (run it in onnxruntime with FAKEQUANT_ORT_CONFIG), activations Q/DQ in UINT8 with exactly 2^k levels; 'emulate' — no Q/DQ at all, the
 * activation quantizer written as Mul/Sub/Round/Clip/Add/Div in float32, i.e. spec §1.2 op for op
 * (bit-identical to the engine's fake-quant; for verification and runtimes without Q/DQ).
 */
export type ExportForm = 'qdq' | 'qdq8' | 'fakequant-fp32' | 'emulate' | 'int8';

/**
 * onnxruntime (≥ 1.20) session config needed to run the 'fakequant-fp32' form as exported: its basic
 * optimizer otherwise re-quantizes FP32 Conv weights that follow a DequantizeLinear to INT8 per tensor
 * (WeightBiasQuantization), destroying the per-channel k-bit grid. The 'qdq'/'qdq8' forms need nothing.
 */
export const FAKEQUANT_ORT_CONFIG = { 'session.disable_quant_qdq': '1' } as const;

export interface ExportOptions {
  form?: ExportForm;
  /** Skip the onnxruntime load+run check (tests of the checker itself only). */
  skipRuntimeCheck?: boolean;
}

/** One quantized weight as exported. */
export interface WeightRecord {
  name: string;
  bits: number;
  container: string | null;
  channels: number;
  elements: number;
  axis: number;
}

/** One quantized activation as exported. */
export interface ActRecord {
  tensor: string;
  node: string;
  bits: number;
  container: string | null;
  scale: number;
  zeroPoint: number | null;
  clip: [number | null, number | null];
}

export interface ExportResult {
  path: string;
  form: ExportForm;
  opset: number;
  fileBytes: number;
  weights: WeightRecord[];
  activations: ActRecord[];
  bnFolded: number;
  size: SizeReport;
  /** What onnxruntime's optimizer fused (deploy-scheme 'int8' form). */
  fusion?: FusionReport;
}

export const LRQ_EXPORT_VERSION = '0.1.0';

/** Export `originalOnnxPath` quantized as `spec` describes to `outPath`; returns what was written. */
export async function exportQdq(originalOnnxPath: string, spec: ExportSpec, outPath: string, opts: ExportOptions = {}): Promise<ExportResult> {
  const form = opts.form ?? 'qdq';
  if (form === 'int8') throw new LrqError('export: the int8 form is written by exportDeploy (deploy scheme)');
  if (spec.scheme === 'deploy') throw new LrqError(`export: form '${form}' is a paper-scheme form; a deploy-scheme run exports as int8`);
  const model = readModelProto(originalOnnxPath);
  const ed = new GraphEditor(model, originalOnnxPath);
  const opset0 = defaultOpset(model);
  if (opset0 < 13) throw new LrqError(`${originalOnnxPath}: opset ${opset0} is too old to export (need ≥ 13)`);
  const opset = form === 'qdq' ? Math.max(opset0, 21) : opset0;

  // Original float initializer bytes, for the size report.
  const fp32Total = ed.floatInitializerBytes();

  for (const [name, data] of spec.initializers ?? []) ed.writeFloat(name, data);
  const bnFolded = spec.foldBn ? foldBatchNorms(ed, new Set(spec.weights.keys())) : 0;

  const weights: WeightRecord[] = [];
  const weightBits: { n: number; container: Container | null; bits: number; channels: number }[] = [];
  for (const [name, wq] of spec.weights) {
    const { data, dims } = ed.readFloat(name);
    const axis = weightAxis(ed, name, dims.length);
    const C = dims[axis]!;
    const mm = wq.lo && wq.hi ? { lo: wq.lo, hi: wq.hi } : channelMinMax(data, dims, axis);
    if (mm.lo.length !== C || mm.hi.length !== C) throw new LrqError(`export spec: weight '${name}' has ${C} output channels, its range gives ${mm.lo.length}/${mm.hi.length}`);
    const where = `export: weight '${name}'`;
    if (form === 'qdq' || form === 'qdq8') {
      const w = weightQdq(data, dims, axis, mm.lo, mm.hi, wq.bits, containersFor(wq.bits, opset), where);
      const qName = ed.unique(`${name}_quantized`);
      const sName = ed.unique(`${name}_scale`);
      const zName = ed.unique(`${name}_zero_point`);
      ed.removeInit(name);
      ed.addInit(intTensor(qName, dims, w.codes, w.container));
      ed.addInit(floatTensor(sName, [C], w.scale));
      ed.addInit(intTensor(zName, [C], w.zeroPoint, w.container));
      const dq = ed.node('DequantizeLinear', `${name}_DequantizeLinear`, [qName, sName, zName], [name], [intAttr('axis', axis)]);
      ed.graph.node = [dq, ...(ed.graph.node ?? [])];
      weights.push({ name, bits: wq.bits, container: w.container.name, channels: C, elements: data.length, axis });
      weightBits.push({ n: data.length, container: w.container, bits: wq.bits, channels: C });
    } else {
      ed.writeFloat(name, fakeQuantGdfq(data, dims, axis, mm.lo, mm.hi, wq.bits));
      weights.push({ name, bits: wq.bits, container: null, channels: C, elements: data.length, axis });
      weightBits.push({ n: data.length, container: null, bits: wq.bits, channels: C });
    }
  }

  const activations: ActRecord[] = [];
  const seen = new Set<string>();
  for (const [key, aq] of spec.activations) {
    const { tensor, node } = resolveActivation(ed, key);
    if (seen.has(tensor)) throw new LrqError(`export spec: activation '${tensor}' is listed twice`);
    seen.add(tensor);
    const pre = ed.unique(`${tensor}_prequant`);
    node.output = (node.output ?? []).map((t) => (t === tensor ? pre : t));
    const where = `export: activation '${tensor}'`;
    if (form === 'emulate') {
      activations.push(emulateActivation(ed, node, pre, tensor, aq.lo, aq.hi, aq.bits));
      continue;
    }
    // Activations always go in UINT8 (the top level at 255 clips for free, ReLU/Clip guarantee the bottom):
    // activation containers cost no file size, and onnxruntime 1.30 mishandles UINT4 ones — its
    // Relu/Clip→QuantizeLinear fusions misread UINT4 zero points (ResNet-20 W4A3 scored 11.6% vs lrq's
    // 55.6%), and its Q/DQ propagation moves UINT4 tensors into MaxPool, which has no UINT4 kernel
    // (torchvision ResNet-18/50, MobileNet stems).
    const actContainers = containersFor(aq.bits, opset).filter((c) => c.bits !== 4);
    const p = activationQdq(aq.lo, aq.hi, aq.bits, lowerBoundOf(ed, node), actContainers, where);
    ed.insertAfter(node, activationNodes(ed, tensor, pre, tensor, p));
    activations.push({ tensor, node: node.name ?? '', bits: aq.bits, container: p.container.name, scale: p.scale, zeroPoint: p.zeroPoint, clip: [p.clipLo, p.clipHi] });
  }

  if (form === 'qdq') {
    bumpOpset(ed, opset);
    model.irVersion = Math.max(toNum(model.irVersion), 10);
  }
  const uniq = (xs: number[]) => [...new Set(xs)].sort((a, b) => a - b).join(',');
  const meta: Record<string, string> = {
    'lrq.version': LRQ_EXPORT_VERSION,
    'lrq.form': form,
    'lrq.quantizer': 'gdfq-asymmetric (spec §1.2): weights per output channel, activations per tensor after ReLU/Clip',
    'lrq.wbits': uniq([...spec.weights.values()].map((w) => w.bits)),
    'lrq.abits': uniq([...spec.activations.values()].map((a) => a.bits)),
    'lrq.bn_folded': bnFolded > 0 ? `partial:${bnFolded}` : 'false',
    'lrq.source_model': originalOnnxPath.split('/').pop() ?? originalOnnxPath,
    ...(form === 'fakequant-fp32' ? { 'lrq.onnxruntime_session_config': Object.entries(FAKEQUANT_ORT_CONFIG).map(([k, v]) => `${k}=${v}`).join(';') } : {}),
    ...(spec.metadata ?? {}),
  };
  const props = new Map((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  for (const [k, v] of Object.entries(meta)) props.set(k, v);
  model.metadataProps = [...props].map(([key, value]) => ({ key, value }));
  model.producerName = 'lrq';
  model.producerVersion = LRQ_EXPORT_VERSION;

  const bytes = onnx.ModelProto.encode(model).finish();
  await writeChecked(outPath, bytes, !opts.skipRuntimeCheck);
  const fileBytes = statSync(outPath).size;
  return { path: outPath, form, opset, fileBytes, weights, activations, bnFolded, size: sizeReport(fp32Total, weightBits, activations.length, fileBytes) };
}

/** Output-channel axis of a weight from its consumers: Conv → 0, Gemm → transB ? 0 : 1, MatMul → last. */
export function weightAxis(ed: GraphEditor, name: string, rank: number): number {
  const uses = ed.consumers(name);
  if (uses.length === 0) throw new LrqError(`export spec: weight '${name}' is not used by any node`);
  let axis = -1;
  for (const { node, slot } of uses) {
    let a: number;
    if (node.opType === 'Conv' && slot === 1) a = 0;
    else if (node.opType === 'Gemm' && slot === 1) a = toNum(node.attribute?.find((x) => x.name === 'transB')?.i ?? 0) ? 0 : 1;
    else if (node.opType === 'MatMul' && slot === 1 && rank === 2) a = 1;
    else throw new LrqError(`export spec: weight '${name}' feeds ${node.opType} '${node.name}' input ${slot}; only Conv/Gemm/MatMul weights are quantized`);
    if (axis >= 0 && a !== axis) throw new LrqError(`export spec: weight '${name}' is used with different output-channel axes`);
    axis = a;
  }
  return axis;
}

/** QuantizeLinear(x) → DequantizeLinear → `out`, per tensor in `container` (names from `base`). */
export function qdqPair(ed: GraphEditor, base: string, x: string, out: string, scale: number, zeroPoint: number, container: Container): NodeProto[] {
  const sName = ed.scalar(`${base}_scale`, scale);
  const zName = ed.unique(`${base}_zero_point`);
  ed.addInit(intTensor(zName, [], [zeroPoint], container));
  const q = ed.unique(`${base}_quantized`);
  return [
    ed.node('QuantizeLinear', `${base}_QuantizeLinear`, [x, sName, zName], [q]),
    ed.node('DequantizeLinear', `${base}_DequantizeLinear`, [q, sName, zName], [out]),
  ];
}

/** The nodes of one activation quantizer x → `out`: the Clip its grid needs (if any), then its Q/DQ pair. */
export function activationNodes(ed: GraphEditor, base: string, x: string, out: string, p: ActQdq): NodeProto[] {
  const nodes: NodeProto[] = [];
  if (p.clipLo !== null || p.clipHi !== null) {
    const lo = p.clipLo !== null ? ed.scalar(`${base}_clip_min`, p.clipLo) : '';
    const hi = p.clipHi !== null ? ed.scalar(`${base}_clip_max`, p.clipHi) : '';
    const y = ed.unique(`${base}_clipped`);
    nodes.push(ed.node('Clip', `${base}_Clip`, [x, lo, hi], [y]));
    x = y;
  }
  return [...nodes, ...qdqPair(ed, base, x, out, p.scale, p.zeroPoint, p.container)];
}

/** A spec key (a Relu/Clip output tensor, or the node's name) → tensor name and producing node. */
function resolveActivation(ed: GraphEditor, key: string): { tensor: string; node: NodeProto } {
  let node = ed.producer(key);
  let tensor = key;
  if (!node) {
    node = (ed.graph.node ?? []).find((n) => n.name === key);
    tensor = node?.output?.[0] ?? key;
  }
  if (!node) throw new LrqError(`export spec: activation '${key}' is neither a node output nor a node name in the model`);
  if (node.opType !== 'Relu' && node.opType !== 'Clip') throw new LrqError(`export spec: activation '${key}' is produced by ${node.opType} '${node.name}'; only Relu/Clip outputs are quantized (spec §1.2)`);
  return { tensor, node };
}

/** Smallest value the producer can output: 0 for Relu, Clip's constant min, else −∞. */
export function lowerBoundOf(ed: GraphEditor, node: NodeProto): number {
  if (node.opType === 'Relu') return 0;
  const min = node.input?.[1];
  if (!min) return -Infinity;
  return ed.constantScalar(min) ?? -Infinity;
}

/** Spec §1.2 in float ops: q = Clip(Round(x·s − zp), −n, n−1); y = (q + zp)/s (ONNX Round is half-to-even). */
function emulateActivation(ed: GraphEditor, node: NodeProto, pre: string, tensor: string, lo: number, hi: number, bits: number): ActRecord {
  const p = activationQdq(lo, hi, bits, 0, [UINT8, ...containersFor(bits, 21)], `export: activation '${tensor}'`);
  const g = p.grid;
  const n = 2 ** (bits - 1);
  const s = ed.scalar(`${tensor}_s`, g.s);
  const zp = ed.scalar(`${tensor}_zp`, g.zp);
  const qmin = ed.scalar(`${tensor}_qmin`, -n);
  const qmax = ed.scalar(`${tensor}_qmax`, n - 1);
  const t = (what: string) => ed.unique(`${tensor}_${what}`);
  const [a, b, c, d, e] = [t('sx'), t('sx_zp'), t('round'), t('q'), t('q_zp')];
  ed.insertAfter(node, [
    ed.node('Mul', `${tensor}_fq_Mul`, [pre, s], [a]),
    ed.node('Sub', `${tensor}_fq_Sub`, [a, zp], [b]),
    ed.node('Round', `${tensor}_fq_Round`, [b], [c]),
    ed.node('Clip', `${tensor}_fq_Clip`, [c, qmin, qmax], [d]),
    ed.node('Add', `${tensor}_fq_Add`, [d, zp], [e]),
    ed.node('Div', `${tensor}_fq_Div`, [e, s], [tensor]),
  ]);
  return { tensor, node: node.name ?? '', bits, container: null, scale: 1 / g.s, zeroPoint: null, clip: [null, null] };
}

/**
 * Write bytes to a temp file beside `path`, let onnxruntime load it and run it once on zeros, then rename
 * over `path`. A file onnxruntime rejects is deleted and never replaces an existing good export.
 */
export async function writeChecked(path: string, bytes: Uint8Array, check: boolean): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  const fd = openSync(tmp, 'w');
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    if (check) await runtimeCheck(tmp);
    renameSync(tmp, path);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    if (e instanceof LrqError) throw e;
    throw new LrqError(`export ${path}: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
  }
}

/** Load a model in onnxruntime-node and run it once on zero inputs (dynamic dims = 1). */
export async function runtimeCheck(file: string): Promise<void> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(file);
  } catch (e) {
    throw new LrqError(`export: onnxruntime rejected the exported model (${(e instanceof Error ? e.message : String(e)).split('\n')[0]})`);
  }
  try {
    const model = onnx.ModelProto.decode(await import('node:fs').then((fs) => fs.readFileSync(file)));
    const inits = new Set((model.graph?.initializer ?? []).map((t) => t.name));
    const feeds: Record<string, ort.Tensor> = {};
    for (const inp of model.graph?.input ?? []) {
      if (inits.has(inp.name)) continue;
      const tt = inp.type?.tensorType;
      if (!tt || tt.elemType !== onnx.TensorProto.DataType.FLOAT) return; // non-float inputs: load check only
      const dims = (tt.shape?.dim ?? []).map((d) => (d.dimValue != null && toNum(d.dimValue) > 0 ? toNum(d.dimValue) : 1));
      feeds[inp.name ?? ''] = new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
    }
    await session.run(feeds);
  } catch (e) {
    throw new LrqError(`export: onnxruntime loaded the exported model but could not run it (${(e instanceof Error ? e.message : String(e)).split('\n')[0]})`);
  } finally {
    await session.release();
  }
}
