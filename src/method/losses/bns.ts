// BN-statistics loss (GDFQ, spec §1.5): the generator matches, at every teacher BatchNorm, the batch
// mean and biased variance of the BN *input* to the BN's running mean and running variance. Rule: the
// batch statistics are differentiable (ops.batchStats, captured by the teacher's BN layers), the running
// statistics are constants, and the mean over layers is 1/L with L = the number of BN layers used.

import type { Tensor } from '../../engine/tensor.js';
import { add, sub, mul, mean, square } from '../../engine/ops/index.js';
import { LrqError } from '../../engine/errors.js';
import type { Module } from '../../nn/module.js';
import { BatchNorm2d } from '../../nn/layers/batchnorm.js';

/** One BN layer's batch statistics (differentiable) and its running statistics (targets). */
export interface BnStatPair {
  mean: Tensor;
  var: Tensor;
  runningMean: Tensor;
  runningVar: Tensor;
  /** Where the pair came from (error messages). */
  name?: string;
}

/**
 * L_BNS = (1/L)·Σ_l [mean_c (μ̂_lc − μ_lc)² + mean_c (σ̂²_lc − σ²_lc)²], from stat pairs or from BN layers
 * whose `lastStats` were captured in the last forward (GraphModule.bnLayers()).
 */
export function bnsLoss(layers: readonly (BnStatPair | BatchNorm2d)[]): Tensor {
  const pairs = layers.map((l, i) => (l instanceof BatchNorm2d ? pairOf(l, `BN layer ${i}`) : l));
  if (pairs.length === 0) throw new LrqError('bnsLoss: the teacher has no BatchNorm statistics to match (no BN layer captured its input)');
  let total: Tensor | null = null;
  for (const p of pairs) {
    const c = p.runningMean.size;
    if (p.mean.size !== c || p.var.size !== c || p.runningVar.size !== c) {
      throw new LrqError(`bnsLoss: ${p.name ?? 'BN layer'} has batch stats of ${p.mean.size}/${p.var.size} channels for running stats of ${c}/${p.runningVar.size}`);
    }
    const term = add(mean(square(sub(p.mean, p.runningMean))), mean(square(sub(p.var, p.runningVar))));
    total = total ? add(total, term) : term;
  }
  return mul(total!, 1 / pairs.length);
}

/** A BN layer's captured input statistics and running statistics as a stat pair. */
export function pairOf(bn: BatchNorm2d, name: string): BnStatPair {
  const rm = bn.runningMean, rv = bn.runningVar;
  if (!rm || !rv) throw new LrqError(`bnsLoss: ${name} has no running statistics (track_running_stats off)`);
  if (!bn.lastStats) throw new LrqError(`bnsLoss: ${name} captured no input statistics in the last forward (captureStats off?)`);
  return { mean: bn.lastStats.mean, var: bn.lastStats.var, runningMean: rm, runningVar: rv, name };
}

/** Shape of a BN module that captures its input statistics (nn BatchNorm2d with captureStats). */
interface CapturingBn {
  captureStats: boolean;
  lastStats: { mean: Tensor; var: Tensor } | null;
}

function isCapturing(m: Module): m is Module & CapturingBn {
  return 'captureStats' in m && 'lastStats' in m;
}

/** Turn on input-statistics capture on every BN layer of `model` that supports it; returns how many. */
export function captureBnStats(model: Module, on = true): number {
  let n = 0;
  for (const [, m] of model.namedModules()) {
    if (isCapturing(m)) {
      m.captureStats = on;
      n++;
    }
  }
  return n;
}

/**
 * The BN stat pairs of the last forward of `model`, in module order: every capturing BN's lastStats
 * with its running_mean / running_var buffers. A capturing BN without stats from that forward is an error.
 */
export function collectBnStats(model: Module): BnStatPair[] {
  const out: BnStatPair[] = [];
  for (const [path, m] of model.namedModules()) {
    if (!isCapturing(m) || !m.captureStats) continue;
    const rm = m.buffer('running_mean'), rv = m.buffer('running_var');
    if (!rm || !rv) throw new LrqError(`bnsLoss: BN layer '${path}' has no running statistics (track_running_stats off)`);
    if (!m.lastStats) throw new LrqError(`bnsLoss: BN layer '${path}' captured no statistics in the last forward`);
    out.push({ mean: m.lastStats.mean, var: m.lastStats.var, runningMean: rm, runningVar: rv, name: path });
  }
  return out;
}
