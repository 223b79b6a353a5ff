// Blocks of a GraphModule for reconstruction: spans of forward steps between single-edge cuts (edges
// through which all later computation flows: the input, each ReLU after a residual Add, …), each span
// holding at least one weighted layer and ending where the next weighted layer (or the output) begins.
// Rule: the quantizers of a block are the prepared student's own — weight quantizers of its Conv/Gemm
// modules, ActFakeQuants inside its modules (paper scheme) or on the edges it produces (deploy scheme).

import { LrqError } from '../../engine/errors.js';
import type { GraphModule } from '../../io/onnx/index.js';
import { Module } from '../../nn/module.js';
import { ActFakeQuant } from '../../quant/fake_quantize.js';
import { QuantConv2d, QuantLinear } from '../../quant/quant_modules.js';

/** One reconstruction block: value(to) = steps (from, to](value(from)). */
export interface Block {
  from: string;
  to: string;
  /** Step indices [first, last] (graphSteps order). */
  first: number;
  last: number;
  /** Module paths of the block's steps (for messages). */
  modules: string[];
  weights: (QuantConv2d | QuantLinear)[];
  acts: ActFakeQuant[];
}

const WEIGHTED = new Set(['Conv', 'Gemm', 'MatMul']);

/** Single-edge cuts: after step i (−1 = before any) the only live runtime edge, when exactly one is live. */
export function singleEdgeCuts(g: GraphModule): { after: number; edge: string }[] {
  const steps = g.graphSteps();
  const producer = new Map<string, number>([[g.inputName, -1]]);
  const lastUse = new Map<string, number>();
  steps.forEach((s, i) => {
    for (const o of s.outputs) if (o && !producer.has(o)) producer.set(o, i);
    for (const e of s.inputs) if (e && !g.isConstant(e)) lastUse.set(e, i);
  });
  lastUse.set(g.outputName, steps.length);
  const cuts: { after: number; edge: string }[] = [];
  for (let i = -1; i < steps.length; i++) {
    const live = [...lastUse].filter(([e, u]) => (producer.get(e) ?? Infinity) <= i && u > i).map(([e]) => e);
    if (live.length === 1) cuts.push({ after: i, edge: live[0]! });
  }
  return cuts;
}

/** The reconstruction blocks of a (prepared) student, in forward order, covering input → output. */
export function reconBlocks(g: GraphModule): Block[] {
  const steps = g.graphSteps();
  const weighted = steps.map((s) => WEIGHTED.has(s.op) && !!s.module);
  const cuts = singleEdgeCuts(g);
  if (cuts[0]?.after !== -1) throw new LrqError('reconstruction: the graph input is not a single-edge cut');
  const bounds: { after: number; edge: string }[] = [cuts[0]];
  for (const c of cuts.slice(1)) {
    const prev = bounds[bounds.length - 1]!;
    const hasWeight = weighted.slice(prev.after + 1, c.after + 1).some(Boolean);
    const nextWeighted = c.after + 1 >= steps.length || weighted[c.after + 1] === true;
    const isOut = c.edge === g.outputName && c.after === steps.length - 1;
    if (hasWeight && (nextWeighted || isOut)) bounds.push(c);
  }
  const last = bounds[bounds.length - 1]!;
  if (last.edge !== g.outputName) bounds.push({ after: steps.length - 1, edge: g.outputName });
  const edgeMods = new Map(g.edgeModules());
  const blocks: Block[] = [];
  for (let b = 1; b < bounds.length; b++) {
    const from = bounds[b - 1]!, to = bounds[b]!;
    const blk: Block = { from: from.edge, to: to.edge, first: from.after + 1, last: to.after, modules: [], weights: [], acts: [] };
    const addActs = (m: Module) => {
      for (const [, sub] of m.namedModules()) if (sub instanceof ActFakeQuant && !blk.acts.includes(sub)) blk.acts.push(sub);
    };
    if (b === 1 && edgeMods.has(g.inputName)) addActs(g.getSubmodule(edgeMods.get(g.inputName)!));
    for (let i = blk.first; i <= blk.last; i++) {
      const s = steps[i]!;
      if (s.module) {
        blk.modules.push(s.module);
        const m = g.getSubmodule(s.module);
        if ((m instanceof QuantConv2d || m instanceof QuantLinear) && !blk.weights.includes(m)) blk.weights.push(m);
        addActs(m);
      }
      for (const o of s.outputs) if (edgeMods.has(o)) addActs(g.getSubmodule(edgeMods.get(o)!));
    }
    blocks.push(blk);
  }
  return blocks;
}
