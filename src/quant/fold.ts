// BatchNorm folding in a student GraphModule (the deploy scheme's first step): BN(conv(x)) with frozen
// running statistics becomes conv'(x), W' = W·γ/√(σ²+ε), b' = (b − μ)·γ/√(σ²+ε) + β, and the BN step runs
// an Identity. Rule: only the student is folded — the teacher keeps its BNs (the BNS loss reads their
// statistics) — and a BN is folded only when its input is a Conv output read by nothing else.

import { Tensor, noGrad } from '../engine/tensor.js';
import { Module, Parameter } from '../nn/module.js';
import { BatchNorm2d, Conv2d, Identity } from '../nn/layers/index.js';
import type { GraphModule } from '../io/onnx/index.js';

/** One folded pair, by ONNX node name and student module path. */
export interface FoldRecord {
  bnNode: string;
  convNode: string;
  convPath: string;
  bnPath: string;
}

/** A BN left unfolded, with the reason (listed by the CLI and the report). */
export interface UnfoldedBn {
  node: string;
  reason: string;
}

/** The step's module path → module, or undefined. */
function moduleAt(g: GraphModule, path: string | undefined): Module | undefined {
  return path === undefined ? undefined : g.getSubmodule(path);
}

/**
 * Fold every foldable Conv→BatchNormalization pair of `g` in place with the BN's running statistics (the
 * student runs BN in eval mode, so this is the same function up to float rounding); returns what was folded
 * and what was not.
 */
export function foldStudentBatchNorms(g: GraphModule): { folded: FoldRecord[]; unfolded: UnfoldedBn[] } {
  const steps = g.graphSteps();
  const producer = new Map<string, (typeof steps)[number]>();
  const uses = new Map<string, number>();
  for (const s of steps) {
    for (const o of s.outputs) producer.set(o, s);
    for (const i of s.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  }
  const folded: FoldRecord[] = [];
  const unfolded: UnfoldedBn[] = [];
  for (const s of steps) {
    if (s.op !== 'BatchNormalization' || !s.module) continue;
    const bn = moduleAt(g, s.module);
    if (!(bn instanceof BatchNorm2d)) continue;
    const p = producer.get(s.inputs[0] ?? '');
    const conv = moduleAt(g, p?.module);
    if (!p || p.op !== 'Conv' || !(conv instanceof Conv2d)) {
      unfolded.push({ node: s.node, reason: `its input is produced by ${p ? `${p.op} '${p.node}'` : 'the graph input'}, not a Conv` });
      continue;
    }
    if ((uses.get(s.inputs[0]!) ?? 0) !== 1 || s.inputs[0] === g.outputName) {
      unfolded.push({ node: s.node, reason: `the output of Conv '${p.node}' is also read elsewhere` });
      continue;
    }
    if ([...g.edgeModules()].some(([e]) => e === s.inputs[0])) {
      unfolded.push({ node: s.node, reason: `the output of Conv '${p.node}' carries a quantizer` });
      continue;
    }
    foldInto(conv, bn);
    g.setSubmodule(s.module, new Identity());
    folded.push({ bnNode: s.node, convNode: p.node, convPath: p.module!, bnPath: s.module });
  }
  return { folded, unfolded };
}

/** conv ← conv·k, bias ← (b − μ)·k + β with k = γ/√(σ²+ε) (float64 arithmetic, stored float32). */
function foldInto(conv: Conv2d, bn: BatchNorm2d): void {
  noGrad(() => {
    const gamma = bn.param('weight')?.data, beta = bn.param('bias')?.data;
    const mean = bn.buffer('running_mean')!.data, variance = bn.buffer('running_var')!.data;
    const w = conv.weight.data;
    const C = conv.outChannels;
    const inner = w.length / C;
    const old = conv.bias?.data;
    const b = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      const k = (gamma ? gamma[c]! : 1) / Math.sqrt(variance[c]! + bn.eps);
      for (let i = 0; i < inner; i++) w[c * inner + i] = w[c * inner + i]! * k;
      b[c] = ((old ? old[c]! : 0) - mean[c]!) * k + (beta ? beta[c]! : 0);
    }
    if (conv.bias) conv.bias.data.set(b);
    else conv.registerParameter('bias', new Parameter(new Tensor(b, [C])));
  });
}
