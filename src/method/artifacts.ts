// Files a finished run leaves for people and for `lrq export` / `lrq report` (the run-directory contract
// of src/report/run_dir.ts): eval.json in percent, layers.json rows, the synthetic-image sample and the
// ExportSpec of the final student. Rule: conversions only — nothing here trains or changes a model.

import { noGrad, Tensor } from '../engine/tensor.js';
import { Rng } from '../engine/random.js';
import * as ops from '../engine/ops/index.js';
import type { GraphModule } from '../io/onnx/index.js';
import type { Normalization } from '../io/datasets/index.js';
import type { ExportSpec, FoldedBn } from '../io/onnx_export/spec.js';
import { LrqError } from '../engine/errors.js';
import { Conv2d, Identity } from '../nn/layers/index.js';
import type { Generator } from '../models/generator.js';
import { ActFakeQuant } from '../quant/fake_quantize.js';
import { QuantConv2d, QuantLinear } from '../quant/quant_modules.js';
import { quantLayers } from '../quant/prepare.js';
import type { EvalFile, EvalMetrics, LayerRecord, SynthImages } from '../report/run_dir.js';
import type { EvalResult } from './evaluate.js';
import { pct, percent } from '../io/percent.js';

/** ONNX node of a quantized module path: prepareQat wraps a ReLU at P as Sequential(relu, ActFakeQuant), so the quantizer sits at P.1. */
function nodeOf(student: GraphModule, path: string): string | undefined {
  return student.moduleToNode.get(path.replace(/\.1$/, ''));
}

/** Deploy scheme: edge name of an edge quantizer's module path. */
function edgeOf(student: GraphModule, path: string): string | undefined {
  return student.edgeModules().find(([, p]) => p === path)?.[0];
}

/** Whether a prepared student is in the deploy scheme (its activation quantizers sit on edges). */
export function isDeployStudent(student: GraphModule): boolean {
  return student.edgeModules().length > 0;
}

/** EvalResult (fractions) → the report's EvalMetrics (percent; a class without samples shows 0). */
export function toMetrics(r: EvalResult): EvalMetrics {
  return {
    top1: pct(r.top1),
    top5: pct(r.top5),
    perClass: r.perClass.map((v) => percent(v) ?? 0),
    confusion: r.confusion,
  };
}

/** eval.json of a run: FP teacher vs quantized student on the same images. */
export function evalFile(dataset: string, fp: EvalResult, quant: EvalResult, classes?: string[]): EvalFile {
  return { dataset, images: quant.n, ...(classes ? { classes } : {}), fp: toMetrics(fp), quant: toMetrics(quant) };
}

/** layers.json rows of a prepared student: weight ranges/MSE per conv/linear, [lo, hi] per activation. */
export function layerRecords(student: GraphModule): LayerRecord[] {
  return quantLayers(student).map((l): LayerRecord => {
    const name = edgeOf(student, l.path) ?? nodeOf(student, l.path) ?? l.path;
    if (l.kind === 'act') return { name, kind: 'act', abits: l.actBits ?? undefined, actRange: l.actRange };
    const m = student.getSubmodule(l.path) as QuantConv2d | QuantLinear;
    return {
      name, kind: l.kind, wbits: l.weightBits ?? undefined,
      weightRange: l.weightRange ? [l.weightRange.minLo, l.weightRange.maxHi] : undefined,
      mse: l.weightMse, params: m.weight.size,
    };
  });
}

/** `perClass` images of every class from the generator, in the normalized input space (eval mode, no grad). */
export function sampleSynth(generator: Generator, numClasses: number, perClass: number, latentDim: number, seed: number, norm: Normalization): SynthImages {
  const rng = new Rng(seed);
  const labels = Int32Array.from({ length: numClasses * perClass }, (_, i) => Math.floor(i / perClass));
  const wasTraining = generator.training;
  generator.eval();
  const x = noGrad(() => generator.forward(rng.normal([labels.length, latentDim]), labels));
  if (wasTraining) generator.train();
  return { images: Float32Array.from(x.data), shape: x.shape as [number, number, number, number], labels: [...labels], mean: norm.mean, std: norm.std };
}

/**
 * The ExportSpec of a fake-quantized GraphModule: final float values of every initializer (transposed
 * back where the importer transposed a MatMul/Gemm weight), weight bits per quantized conv/linear
 * (ranges re-derived from the final weights, as the training forward does), and each activation
 * quantizer's frozen [lo, hi] keyed by its Relu/Clip node name.
 */
export function buildExportSpec(student: GraphModule, metadata: Record<string, string>): ExportSpec {
  const sd = student.stateDict();
  const initializers = new Map<string, Float32Array>();
  for (const [key, init] of student.stateToInitializer) {
    const t = sd.get(key);
    if (!t) continue;
    const mod = key.slice(0, key.lastIndexOf('.'));
    const v = key.endsWith('.weight') && student.transposedWeights.has(mod) ? noGrad(() => ops.transpose(t, 0, 1)) : t;
    initializers.set(init, Float32Array.from((v as Tensor).data));
  }
  const weights: ExportSpec['weights'] = new Map();
  const activations: ExportSpec['activations'] = new Map();
  const deploy = isDeployStudent(student);
  for (const [path, m] of student.namedModules()) {
    if (m instanceof QuantConv2d || m instanceof QuantLinear) {
      const init = student.stateToInitializer.get(`${path}.weight`);
      if (!init) continue;
      if (deploy) {
        // per output feature: the exporter finds the ONNX axis (0 for Conv / Gemm transB=1, 1 for MatMul / Gemm transB=0)
        const r = m.ranges();
        weights.set(init, { bits: m.weightBits, lo: r.lo, hi: r.hi });
      } else weights.set(init, { bits: m.weightBits });
    } else if (m instanceof ActFakeQuant) {
      const key = deploy ? edgeOf(student, path) : nodeOf(student, path);
      if (!key) continue;
      const [lo, hi] = m.range();
      activations.set(key, { bits: m.bits, lo, hi });
    }
  }
  if (!deploy) return { initializers, weights, activations, foldBn: false, metadata };
  const steps = student.graphSteps();
  const folded: FoldedBn[] = [];
  for (const s of steps) {
    if (s.op !== 'BatchNormalization' || !s.module || !(student.getSubmodule(s.module) instanceof Identity)) continue;
    const conv = steps.find((c) => c.outputs.includes(s.inputs[0] ?? ''));
    const m = conv?.module ? student.getSubmodule(conv.module) : undefined;
    const bias = m instanceof QuantConv2d ? m.bias : m instanceof Conv2d ? m.bias : null;
    if (!conv || !bias) throw new LrqError(`export: folded BatchNormalization '${s.node}' has no conv bias in the student`);
    folded.push({ bn: s.node, conv: conv.node, bias: Float32Array.from(bias.data) });
  }
  return { scheme: 'deploy', folded, initializers, weights, activations, foldBn: false, metadata };
}
