// The engine benchmark's workloads, built from the functional ops so they mirror tools/bench/engine_torch.py
// line for line: ResNet-20 (akamaster, option-A shortcuts) eval forward and train-mode forward+backward,
// the GDFQ generator forward+backward (train mode), and the LKA block forward+backward. Loss = output.sum().
// Random init (values do not change the time); each workload also reports its forward FLOPs. One more,
// lrq_step, is a whole LRQ training iteration run by the library itself (src/method/step.ts) against its
// PyTorch twin (tools/bench/lrq_step_torch.py); it needs the staged ResNet-20 and is skipped without it;
// lrq_step_shufflenet is the same on ShuffleNetV2 ×0.5 CIFAR (twin: tools/bench/lrq_step_torch_shufflenet.py).

import { Tensor } from '../../src/engine/tensor.js';
import { conv2d, type Conv2dOptions } from '../../src/engine/ops/conv.js';
import { batchNorm } from '../../src/engine/ops/norm.js';
import { relu, leakyRelu, tanh } from '../../src/engine/ops/unary.js';
import { add, mul } from '../../src/engine/ops/binary.js';
import { linear } from '../../src/engine/ops/linear.js';
import { flatten, pad, reshape, slice } from '../../src/engine/ops/shape.js';
import { globalAvgPool, upsampleNearest } from '../../src/engine/ops/pool.js';
import { sum } from '../../src/engine/ops/reduce.js';
import { noGrad } from '../../src/engine/tensor.js';
import { existsSync } from 'node:fs';
import { Rng } from '../../src/engine/random.js';
import { loadOnnx } from '../../src/io/onnx/index.js';
import { Generator } from '../../src/models/generator.js';
import { prepareQat, setCalibration } from '../../src/quant/prepare.js';
import { makeQConfig } from '../../src/quant/qconfig.js';
import { resolveConfig } from '../../src/method/config.js';
import { generatorStep, stepParts, studentStep } from '../../src/method/step.js';
import { describeTeacher } from '../../src/method/quantize.js';

/** One benchmark: `step` runs one timed iteration; `flops` is the work of one step (fwd, or ≈3×fwd with bwd; null: not counted). */
export interface Workload {
  name: string;
  flops: number | null;
  step: () => void;
}

let seed = 12345;
const leaves: Tensor[] = [];
/** Drop every leaf's .grad (torch's zero_grad(set_to_none=True)), so steps do not accumulate. */
function zeroGrads(): void {
  for (const t of leaves) t.grad = null;
}
/** Uniform(−a, a) float32 values from a fixed LCG (deterministic, no dependency on the Rng module). */
function randn(shape: number[], a = 0.1, requiresGrad = true): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    d[i] = ((seed / 4294967296) * 2 - 1) * a;
  }
  const t = new Tensor(d, shape, requiresGrad);
  if (requiresGrad) leaves.push(t);
  return t;
}

/** FLOP counter filled while a forward pass runs once. */
class Counter {
  flops = 0;
  conv(x: Tensor, w: Tensor, b: Tensor | null, opts: Conv2dOptions): Tensor {
    const y = conv2d(x, w, b, opts);
    const [oc, cpg, kh, kw] = w.shape as [number, number, number, number];
    this.flops += 2 * y.shape[0]! * oc * y.shape[2]! * y.shape[3]! * cpg * kh * kw;
    return y;
  }
  linear(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
    this.flops += 2 * x.shape[0]! * w.shape[0]! * w.shape[1]!;
    return linear(x, w, b);
  }
}

interface Bn { w: Tensor | null; b: Tensor | null; rm: Tensor; rv: Tensor; eps: number }
function bnParams(c: number, eps = 1e-5, affine = true): Bn {
  const w = affine ? new Tensor(new Float32Array(c).fill(1), [c], true) : null;
  const b = affine ? new Tensor(new Float32Array(c), [c], true) : null;
  if (w && b) leaves.push(w, b);
  return {
    w, b,
    rm: new Tensor(new Float32Array(c), [c]), rv: new Tensor(new Float32Array(c).fill(1), [c]), eps,
  };
}
const bn = (x: Tensor, p: Bn, training: boolean): Tensor => batchNorm(x, p.rm, p.rv, p.w, p.b, training, 0.1, p.eps);

/** ResNet-20 for CIFAR (akamaster): returns forward(x, training, counter). */
function resnet20(): (x: Tensor, training: boolean, k: Counter) => Tensor {
  const conv1 = randn([16, 3, 3, 3]), bn1 = bnParams(16);
  const blocks: { w1: Tensor; b1: Bn; w2: Tensor; b2: Bn; stride: number; planes: number; down: boolean }[] = [];
  let cin = 16;
  for (const [planes, stride] of [[16, 1], [32, 2], [64, 2]] as const) {
    for (let i = 0; i < 3; i++) {
      const s = i === 0 ? stride : 1;
      blocks.push({ w1: randn([planes, cin, 3, 3]), b1: bnParams(planes), w2: randn([planes, planes, 3, 3]), b2: bnParams(planes), stride: s, planes, down: s !== 1 || cin !== planes });
      cin = planes;
    }
  }
  const fcW = randn([10, 64]), fcB = randn([10]);
  return (x, training, k) => {
    let out = relu(bn(k.conv(x, conv1, null, { padding: 1 }), bn1, training));
    for (const b of blocks) {
      let y = relu(bn(k.conv(out, b.w1, null, { stride: b.stride, padding: 1 }), b.b1, training));
      y = bn(k.conv(y, b.w2, null, { padding: 1 }), b.b2, training);
      // Option A shortcut: x[:, :, ::2, ::2] zero-padded with planes/4 channels on each side.
      const sc = b.down
        ? pad(slice(slice(out, 2, 0, null, 2), 3, 0, null, 2), [[b.planes / 4, b.planes / 4], [0, 0], [0, 0]])
        : out;
      out = relu(add(y, sc));
    }
    return k.linear(flatten(globalAvgPool(out)), fcW, fcB);
  };
}

/** GDFQ generator (32×32 output). */
function generator(): (z: Tensor, k: Counter) => Tensor {
  const l1W = randn([128 * 64, 100]), l1B = randn([128 * 64]);
  const bn0 = bnParams(128), c1 = randn([128, 128, 3, 3]), c1b = randn([128]), bn1 = bnParams(128, 0.8);
  const c2 = randn([64, 128, 3, 3]), c2b = randn([64]), bn2 = bnParams(64, 0.8);
  const c3 = randn([3, 64, 3, 3]), c3b = randn([3]), bn3 = bnParams(3, 1e-5, false);
  return (z, k) => {
    let img = bn(reshape(k.linear(z, l1W, l1B), [z.shape[0]!, 128, 8, 8]), bn0, true);
    img = upsampleNearest(img, 2);
    img = leakyRelu(bn(k.conv(img, c1, c1b, { padding: 1 }), bn1, true), 0.2);
    img = upsampleNearest(img, 2);
    img = leakyRelu(bn(k.conv(img, c2, c2b, { padding: 1 }), bn2, true), 0.2);
    return bn(tanh(k.conv(img, c3, c3b, { padding: 1 })), bn3, true);
  };
}

/** LKA block: u · conv1×1(dw7×7 dil 3(dw5×5(u))). */
function lka(dim: number): (x: Tensor, k: Counter) => Tensor {
  const w0 = randn([dim, 1, 5, 5]), b0 = randn([dim]);
  const ws = randn([dim, 1, 7, 7]), bs = randn([dim]);
  const w1 = randn([dim, dim, 1, 1]), b1 = randn([dim]);
  return (x, k) => {
    let a = k.conv(x, w0, b0, { padding: 2, groups: dim });
    a = k.conv(a, ws, bs, { padding: 9, dilation: 3, groups: dim });
    a = k.conv(a, w1, b1, {});
    return mul(x, a);
  };
}

const RESNET20 = new URL('../../../shared/data/models/akamaster_cifar10/resnet20_cifar10_akamaster.onnx', import.meta.url).pathname;

/**
 * One LRQ iteration as quantize() runs it (fast preset, W4A4, batch `batch`): generator step (long-range
 * generator, pretrained teacher, AMA-CE + BNS, Adam) then student step (fake-quantized student, CE + DKD,
 * SGD). One calibrating step sets the activation ranges first, then they stay frozen, as after calibration.
 * The student LR is 1e-6, not the preset's: on the images of an untrained generator (teacher CE ≈ 28) the
 * student loss is so sharp that one step at 3e-4 multiplies it by 17 and a few more reach NaN (training
 * avoids it with the generator-only warm-up); the LR does not change the work of a step.
 */
const SHUFFLENET = new URL('../../../shared/data/models/chenyaofo_cifar10/shufflenetv2_x0_5_cifar10_chenyaofo.onnx', import.meta.url).pathname;

/** lrq_step on any ONNX classifier (its input size and class count as quantize() reads them); also run by lrq_step_224.ts. */
export function lrqStep(batch: number, model = RESNET20, onPhase?: (phase: 'generator' | 'student') => void): () => void {
  const cfg = resolveConfig({ model, out: '/tmp/lrq-bench-step', preset: 'fast', wbits: 4, abits: 4, batchSize: batch, lrS: 1e-6, progress: false });
  const teacher = loadOnnx(model), student = loadOnnx(model);
  const { channels, size, numClasses } = describeTeacher(teacher, cfg);
  prepareQat(student, makeQConfig({ weightBits: 4, actBits: 4, rangeMode: cfg.rangeMode }));
  const generator = new Generator({ numClasses, latentDim: cfg.latentDim, imgSize: size[0], channels, lkaPositions: cfg.lkaPositions, rng: new Rng(1) });
  const parts = stepParts(cfg, teacher, student, generator, numClasses);
  const rng = new Rng(0);
  teacher.eval();
  student.eval();
  generator.train();
  const step = (): void => {
    const losses: Record<string, number> = {};
    const { x, y, t } = generatorStep(parts, rng, losses);
    onPhase?.('generator');
    studentStep(parts, x, y, t, 1, true, losses);
    onPhase?.('student');
  };
  setCalibration(student, true);
  step();
  setCalibration(student, false);
  return step;
}

/** All workloads at the given batch size (names match the torch script). */
export function workloads(batch: number): Workload[] {
  const out: Workload[] = [];
  const count = (f: (k: Counter) => void): number => {
    const k = new Counter();
    noGrad(() => f(k));
    return k.flops;
  };

  const rEval = resnet20();
  const x = randn([batch, 3, 32, 32], 1, false);
  const fR = count((k) => rEval(x, false, k));
  out.push({ name: 'resnet20_fwd', flops: fR, step: () => noGrad(() => rEval(x, false, new Counter())) });

  const rTrain = resnet20();
  const xt = randn([batch, 3, 32, 32], 1, true);
  out.push({ name: 'resnet20_fwdbwd', flops: 3 * fR, step: () => { zeroGrads(); sum(rTrain(xt, true, new Counter())).backward(); } });

  const gen = generator();
  const z = randn([batch, 100], 1, false);
  out.push({ name: 'generator_fwdbwd', flops: 3 * count((k) => gen(z, k)), step: () => { zeroGrads(); sum(gen(z, new Counter())).backward(); } });

  for (const [dim, hw] of [[128, 16], [64, 32]] as const) {
    const blk = lka(dim);
    const xl = randn([batch, dim, hw, hw], 1, true);
    out.push({ name: `lka${dim}x${hw}_fwdbwd`, flops: 3 * count((k) => blk(xl, k)), step: () => { zeroGrads(); sum(blk(xl, new Counter())).backward(); } });
  }
  // Built on its first call, so the workloads before it are timed in a process that has not yet run an
  // LRQ step (after one, ResNet-20's forward measured 31 instead of 19 ms: its buffers come back to the
  // pool only when V8 collects them, which a larger heap does later).
  if (existsSync(RESNET20)) {
    let lrq: (() => void) | null = null;
    out.push({ name: 'lrq_step', flops: null, step: () => (lrq ??= lrqStep(batch))() });
  }
  // the same LRQ iteration on ShuffleNetV2 ×0.5 (depthwise convs, channel split/shuffle, Concat)
  if (existsSync(SHUFFLENET)) {
    let sh: (() => void) | null = null;
    out.push({ name: 'lrq_step_shufflenet', flops: null, step: () => (sh ??= lrqStep(batch, SHUFFLENET))() });
  }
  return out;
}
