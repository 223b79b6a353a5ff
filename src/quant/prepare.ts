// prepareQat: turn a full-precision model into GDFQ's fake-quantized student in place (torch.ao's
// prepare_qat vocabulary): every Conv2d → QuantConv2d, every Linear → QuantLinear (per-channel weight
// fake-quant), every ReLU/ReLU6 → Sequential(act, ActFakeQuant) (per-tensor activation fake-quant);
// BatchNorm and everything else stay FP (spec §1.2). Rule: modules are swapped through the registry
// (Module.setSubmodule), so state-dict keys of the weights do not change.

import { Tensor, noGrad } from '../engine/tensor.js';
import { LrqError } from '../engine/errors.js';
import { Module, Parameter, Sequential } from '../nn/module.js';
import { Conv2d, Linear, ReLU, ReLU6 } from '../nn/layers/index.js';
import { ActFakeQuant } from './fake_quantize.js';
import { assertNotPrepared, QuantConv2d, QuantLinear } from './quant_modules.js';
import { layerWeightBits, type QConfig } from './qconfig.js';
import { GraphModule } from '../io/onnx/graph.js';
import { prepareDeploy } from './deploy.js';

/** Options of prepareQat. */
export interface PrepareOptions {
  /** An input to trace the forward order of convs/linears (first conv, last linear); else module order. */
  exampleInput?: Tensor;
}

/** What prepareQat did (paths are dotted module paths in the prepared model). */
export interface PrepareSummary {
  convs: string[];
  linears: string[];
  acts: string[];
  /** Path of the first conv and last linear (null when absent). */
  first: string | null;
  last: string | null;
}

/** Forward order of Conv2d/Linear paths: GraphModule.moduleSteps(), a traced forward, or registration order. */
function weightLayerOrder(model: Module, paths: string[], example?: Tensor): string[] {
  const withSteps = model as Module & { moduleSteps?: () => { path: string }[] };
  if (typeof withSteps.moduleSteps === 'function') {
    const order = withSteps.moduleSteps().map((s) => s.path).filter((p) => paths.includes(p));
    // a module reused at several steps keeps its first position
    const seen = new Set<string>();
    const out = order.filter((p) => (seen.has(p) ? false : (seen.add(p), true)));
    for (const p of paths) if (!seen.has(p)) out.push(p);
    return out;
  }
  if (!example) return paths;
  // Trace: wrap each layer's forward on the instance, run once in eval mode without grad, restore.
  const called: string[] = [];
  const restore: (() => void)[] = [];
  const modes = [...model.namedModules()].map(([, m]) => [m, m.training] as const);
  for (const p of paths) {
    const m = model.getSubmodule(p) as unknown as { forward: (x: Tensor) => Tensor };
    const own = Object.getOwnPropertyDescriptor(m, 'forward');
    const orig = m.forward;
    m.forward = function (this: unknown, x: Tensor) {
      if (!called.includes(p)) called.push(p);
      return orig.call(this, x);
    };
    restore.push(() => (own ? Object.defineProperty(m, 'forward', own) : void delete (m as { forward?: unknown }).forward));
  }
  try {
    model.eval();
    noGrad(() => (model as unknown as { forward: (x: Tensor) => unknown }).forward(example));
  } finally {
    for (const r of restore) r();
    for (const [m, t] of modes) m.training = t;
  }
  return [...called, ...paths.filter((p) => !called.includes(p))];
}

/** Replace the module at `path` (and any plain field of its parent that points at the old instance). */
function swap(model: Module, path: string, old: Module, mod: Module): void {
  model.setSubmodule(path, mod);
  const i = path.lastIndexOf('.');
  const parent = i < 0 ? model : model.getSubmodule(path.slice(0, i));
  // Models that also keep a direct field (this.relu = …) would bypass the registry; repoint such fields.
  for (const key of Object.keys(parent)) {
    const d = Object.getOwnPropertyDescriptor(parent, key);
    if (d && d.writable && d.value === old) (parent as unknown as Record<string, unknown>)[key] = mod;
  }
}

/**
 * Fake-quantize `model` in place for quantization-aware training (the caller passes its own copy: see
 * cloneModule). Conv weights use weightBits per output channel, ReLU/ReLU6 outputs actBits per tensor;
 * the first conv and last linear (forward order) get 8 bits when firstLastBits = 8 and stay FP when
 * quantizeFirstLast = false. Observers start enabled (calibration on).
 */
export function prepareQat(model: Module, q: QConfig, opts: PrepareOptions = {}): PrepareSummary {
  if (q.scheme === 'deploy') {
    if (!(model instanceof GraphModule)) throw new LrqError('prepareQat: the deploy scheme needs an imported ONNX graph (GraphModule)');
    return prepareDeploy(model, q);
  }
  assertNotPrepared(model, 'prepareQat');
  const all = [...model.namedModules()];
  const convPaths: string[] = [], linPaths: string[] = [], actPaths: string[] = [];
  for (const [p, m] of all) {
    if (p === '' && (m instanceof Conv2d || m instanceof Linear || m instanceof ReLU || m instanceof ReLU6)) {
      throw new LrqError('prepareQat: the model itself is a single layer; wrap it in a Sequential');
    }
    if (m instanceof Conv2d) convPaths.push(p);
    else if (m instanceof Linear) linPaths.push(p);
    else if (m instanceof ReLU || m instanceof ReLU6) actPaths.push(p);
  }
  const convOrder = weightLayerOrder(model, convPaths, opts.exampleInput);
  const linOrder = weightLayerOrder(model, linPaths, opts.exampleInput);
  const first = convOrder[0] ?? null;
  const last = linOrder[linOrder.length - 1] ?? null;
  const bitsFor = (p: string): number | null => layerWeightBits(q, p, first, last);
  const summary: PrepareSummary = { convs: [], linears: [], acts: [], first, last };
  const done = new Map<Module, Module>(); // a layer registered at two paths gets one quantized twin
  for (const p of convPaths) {
    const m = model.getSubmodule(p) as Conv2d;
    const bits = bitsFor(p);
    if (bits === null) continue;
    const qm = done.get(m) ?? new QuantConv2d(m, bits);
    done.set(m, qm);
    swap(model, p, m, qm);
    summary.convs.push(p);
  }
  for (const p of linPaths) {
    const m = model.getSubmodule(p) as Linear;
    const bits = bitsFor(p);
    if (bits === null) continue;
    const qm = done.get(m) ?? new QuantLinear(m, bits);
    done.set(m, qm);
    swap(model, p, m, qm);
    summary.linears.push(p);
  }
  for (const p of actPaths) {
    const m = model.getSubmodule(p);
    const qm = done.get(m) ?? new Sequential(m, new ActFakeQuant(q.actBits, q.rangeMode, q.emaBeta));
    done.set(m, qm);
    swap(model, p, m, qm);
    summary.acts.push(p);
  }
  return summary;
}

/** Every activation fake-quantizer of a model with its path. */
export function actQuantizers(model: Module): [string, ActFakeQuant][] {
  return [...model.namedModules()].filter((e): e is [string, ActFakeQuant] => e[1] instanceof ActFakeQuant);
}

/** Calibration switch (GDFQ's unfreeze/freeze of QuantAct ranges): observers on (true) or frozen (false). */
export function setCalibration(model: Module, on: boolean): void {
  for (const [, a] of actQuantizers(model)) a.observerEnabled = on;
}

/** Turn fake quantization of weights and activations on or off (off = the FP model with the same weights). */
export function setFakeQuant(model: Module, on: boolean): void {
  for (const [, m] of model.namedModules()) {
    if (m instanceof ActFakeQuant || m instanceof QuantConv2d || m instanceof QuantLinear) m.fakeQuantEnabled = on;
  }
}

/** One row of the per-layer quantization listing (report / export). */
export interface QuantLayerInfo {
  path: string;
  kind: 'conv' | 'linear' | 'act';
  weightBits: number | null;
  actBits: number | null;
  /** conv/linear: number of output channels and the summary of their [lo, hi] ranges. */
  channels?: number;
  weightRange?: { minLo: number; maxHi: number; meanWidth: number };
  /** conv/linear: mean((ŵ − w)²) of the current weight. */
  weightMse?: number;
  /** act: the observed (or fixed) [lo, hi] and the number of observed batches; rangeMode 'fixed' for a fixed range. */
  actRange?: [number, number];
  updates?: number;
  rangeMode?: string;
}

/** Per-layer quantization info of a prepared model, in module order. */
export function quantLayers(model: Module): QuantLayerInfo[] {
  const out: QuantLayerInfo[] = [];
  for (const [path, m] of model.namedModules()) {
    if (m instanceof QuantConv2d || m instanceof QuantLinear) {
      const w = m.weight;
      const rows = w.shape[0]!;
      const cols = w.size / rows;
      let minLo = Infinity, maxHi = -Infinity, width = 0;
      for (let r = 0; r < rows; r++) {
        let lo = Infinity, hi = -Infinity;
        for (let c = 0; c < cols; c++) {
          const v = w.data[r * cols + c]!;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        minLo = Math.min(minLo, lo);
        maxHi = Math.max(maxHi, hi);
        width += hi - lo;
      }
      out.push({
        path, kind: m instanceof QuantConv2d ? 'conv' : 'linear', weightBits: m.weightBits, actBits: null,
        channels: rows, weightRange: { minLo, maxHi, meanWidth: rows ? width / rows : 0 }, weightMse: m.weightMse(),
      });
    } else if (m instanceof ActFakeQuant) {
      out.push({ path, kind: 'act', weightBits: null, actBits: m.bits, actRange: m.range(), updates: m.updates.data[0]!, rangeMode: m.rangeFixed ? 'fixed' : m.rangeMode });
    }
  }
  return out;
}

/**
 * A deep copy of a module tree (copy.deepcopy): every object reachable from it is copied once, tensors
 * with fresh storage, shared references stay shared. Functions are kept by reference, so closures that
 * capture the original module still point at it; models built that way (none here) must be rebuilt.
 */
export function cloneModule<M extends Module>(model: M): M {
  const memo = new Map<unknown, unknown>();
  const copy = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object') return v;
    if (memo.has(v)) return memo.get(v);
    if (v instanceof Tensor) {
      const t = v instanceof Parameter ? new Parameter(new Tensor(v.data.slice(), v.shape)) : new Tensor(v.data.slice(), v.shape, v.requiresGrad);
      memo.set(v, t);
      if (v.name !== undefined) t.name = v.name;
      return t;
    }
    if (ArrayBuffer.isView(v)) {
      const c = (v as unknown as { slice(): unknown }).slice();
      memo.set(v, c);
      return c;
    }
    if (v instanceof Map) {
      const c = new Map();
      memo.set(v, c);
      for (const [k, x] of v) c.set(copy(k), copy(x));
      return c;
    }
    if (v instanceof Set) {
      const c = new Set();
      memo.set(v, c);
      for (const x of v) c.add(copy(x));
      return c;
    }
    if (Array.isArray(v)) {
      const c: unknown[] = [];
      memo.set(v, c);
      for (const x of v) c.push(copy(x));
      return Object.isFrozen(v) ? Object.freeze(c) : c;
    }
    const c = Object.create(Object.getPrototypeOf(v)) as Record<string | symbol, unknown>;
    memo.set(v, c);
    for (const key of Reflect.ownKeys(v)) {
      const d = Object.getOwnPropertyDescriptor(v, key)!;
      if ('value' in d) d.value = copy(d.value);
      Object.defineProperty(c, key, d);
    }
    return c;
  };
  return copy(model) as M;
}
