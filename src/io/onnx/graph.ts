// GraphModule: an imported ONNX graph run in topological order with engine ops. Every node with
// parameters (Conv, BatchNormalization, Gemm/MatMul with a constant weight) and every activation runs
// as a registered submodule named after its ONNX node, so quantization can swap it with setSubmodule.
// Rule: values are looked up by ONNX edge name at run time, so a swapped module changes the graph's
// computation and nothing else; shape subgraphs on constants are folded once at import.

import { Tensor, noGrad } from '../../engine/tensor.js';
import { LrqError } from '../../engine/errors.js';
import * as ops from '../../engine/ops/index.js';
import { Module } from '../../nn/module.js';
import { BatchNorm2d, Conv2d, LeakyReLU, Linear, ReLU, ReLU6 } from '../../nn/layers/index.js';
import { Rng } from '../../engine/random.js';
import { Clamp } from './modules.js';
import { IntTensor, type ModelProto, type NodeProto, type Value, attributes, metadata, tensorFromProto, toNum } from './proto.js';
import { FUNCTIONAL, type NodeCtx, asFloat, attrFloat, attrInt, attrInts, scalarOf, window2d } from './nodes.js';

/** One executable step: a node run by a submodule (`module` set) or by a functional executor. */
interface Step {
  node: string;
  op: string;
  inputs: string[];
  outputs: string[];
  /** Submodule path that runs this node (parameterized ops and activations). */
  module?: string;
  ctx: NodeCtx;
  /** Value names whose last consumer is this step (dropped afterwards to free memory). */
  release: string[];
}

/** Options of forward(). */
export interface GraphForwardOptions {
  /** Also return the input of the classifier's last Gemm/MatMul (the penultimate feature). */
  returnFeature?: boolean;
}

/** Options of buildGraphModule / loadOnnx. */
export interface GraphImportOptions {
  /** Throw when the graph has no BatchNormalization (default true: zero-shot quantization needs BN statistics). */
  requireBatchNorm?: boolean;
}

/** ONNX ops run by submodules. */
const MODULE_OPS = new Set(['Conv', 'BatchNormalization', 'Relu', 'Clip', 'LeakyRelu']);
/** Ops run by submodules only when their weight is a constant (else functional). */
const LINEAR_OPS = new Set(['Gemm', 'MatMul']);

/** All op types the importer accepts. */
export const SUPPORTED_OPS: readonly string[] = [...MODULE_OPS, ...LINEAR_OPS, ...Object.keys(FUNCTIONAL)].sort();

/** Shortest decimal that rounds to the same float32 (ONNX stores eps/momentum as float32: 1e-5, not 9.99999974e-6). */
export function f32Decimal(f: number): number {
  const target = Math.fround(f);
  for (let p = 1; p <= 9; p++) {
    const d = parseFloat(f.toPrecision(p));
    if (Math.fround(d) === target) return d;
  }
  return f;
}

/** ONNX node name → module name: non-alphanumerics become '_', runs collapse, leading digits get a prefix. */
export function sanitizeName(name: string): string {
  let s = name.replace(/[^A-Za-z0-9]/g, '_').replace(/_+/g, '_').replace(/^_|_$/g, '');
  if (/^[0-9]/.test(s)) s = `n_${s}`;
  return s;
}

type Fwd = { forward(x: Tensor): Tensor };

/** Generator for the throw-away initial weights of imported layers (overwritten at once), so that loading
 *  a model never advances the process-wide default generator. */
const scratchRng = new Rng(0);

export class GraphModule extends Module {
  /** Name and shape of the graph input (null for symbolic dims such as the batch). */
  readonly inputName: string;
  readonly inputShape: readonly (number | null)[];
  /** Name of the graph output used as logits (the first output). */
  readonly outputName: string;
  /** ONNX node name ↔ submodule path. */
  readonly nodeToModule = new Map<string, string>();
  readonly moduleToNode = new Map<string, string>();
  /** Initializer name ↔ parameter/buffer path ('conv.weight', 'bn.running_mean', …). */
  readonly initializerToState = new Map<string, string>();
  readonly stateToInitializer = new Map<string, string>();
  /** Linear modules whose weight is the transpose of their initializer (MatMul, Gemm with transB = 0). */
  readonly transposedWeights = new Set<string>();
  /** Path of the classifier's Linear (last Gemm/MatMul with a constant weight), or null. */
  readonly classifierPath: string | null;
  /** Edge name of the classifier's input (the penultimate feature), or null. */
  readonly featureName: string | null;
  /** The model's default-domain opset version. */
  readonly opset: number;
  /** metadata_props of the model. */
  readonly metadata: Record<string, string>;
  /** The decoded model (kept for export back to ONNX). */
  readonly proto: ModelProto;
  /** File the model was read from ('' when built from bytes). */
  readonly sourcePath: string;

  private readonly steps: Step[] = [];
  private readonly consts = new Map<string, Value>();
  /** Edge name → path of a submodule applied to that edge's value as soon as it is produced (the deploy
   *  scheme's activation quantizers sit on edges, not on modules: an Add or Concat output has no module). */
  private readonly edgeHooks = new Map<string, string>();
  /** Tracing callback of traceFloatEdges (null outside a trace). */
  private valueObserver: ((name: string, v: Value) => void) | null = null;

  constructor(model: ModelProto, sourcePath = '', opts: GraphImportOptions = {}) {
    super();
    this.proto = model;
    this.sourcePath = sourcePath;
    const file = sourcePath || 'ONNX model';
    const g = model.graph!;
    this.metadata = metadata(model);
    const def = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
    this.opset = def ? toNum(def.version) : 13;

    // --- unsupported ops first: one line listing op types and node names (checked before any tensor is
    // decoded, so a Q/DQ export says QuantizeLinear/DequantizeLinear rather than naming its INT4 weights)
    const nodes = g.node ?? [];
    const bad = new Map<string, string[]>();
    for (const n of nodes) {
      const op = n.opType ?? '';
      const domainOk = !n.domain || n.domain === 'ai.onnx';
      if (!domainOk || !(MODULE_OPS.has(op) || LINEAR_OPS.has(op) || op in FUNCTIONAL)) {
        const key = domainOk ? op : `${n.domain}.${op}`;
        bad.set(key, [...(bad.get(key) ?? []), n.name || '(unnamed)']);
      }
    }
    if (bad.size) {
      const list = [...bad].map(([op, names]) => `${op} (${names.slice(0, 3).join(', ')}${names.length > 3 ? `, +${names.length - 3}` : ''})`);
      throw new LrqError(`${file}: unsupported ONNX ops: ${list.join('; ')}`);
    }

    // --- constants: initializers, then graph inputs that are not initializers
    for (const t of g.initializer ?? []) this.consts.set(t.name ?? '', tensorFromProto(t, file, sourcePath));
    const realInputs = (g.input ?? []).filter((i) => !this.consts.has(i.name ?? ''));
    if (realInputs.length !== 1) {
      throw new LrqError(`${file}: expected exactly one graph input, found ${realInputs.length} (${realInputs.map((i) => i.name).join(', ')})`);
    }
    this.inputName = realInputs[0]!.name ?? '';
    const dims = realInputs[0]!.type?.tensorType?.shape?.dim ?? [];
    this.inputShape = dims.map((d) => (d.dimValue !== undefined && d.dimValue !== null && toNum(d.dimValue) > 0 ? toNum(d.dimValue) : null));
    this.outputName = g.output![0]!.name ?? '';

    if ((opts.requireBatchNorm ?? true) && !nodes.some((n) => n.opType === 'BatchNormalization')) {
      throw new LrqError(
        `${file}: the graph has no BatchNormalization nodes; generative zero-shot quantization needs BN statistics, and PyTorch's default ONNX export folds BN into Conv — re-export with torch.onnx.export(..., training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False) from a model in eval mode`,
      );
    }

    // --- topological order (ONNX requires it, but be tolerant)
    const sorted = this.toposort(nodes, file);

    // --- fold nodes whose inputs are all constants; create steps for the rest
    const usedNames = new Set<string>();
    const linearSteps: Step[] = [];
    noGrad(() => {
      sorted.forEach((n, idx) => {
        const op = n.opType ?? '';
        const name = n.name || `${op}_${idx}`;
        const ctx: NodeCtx = { name, op, attrs: attributes(n, sourcePath), opset: this.opset, where: `${file}: node '${name}' (${op})` };
        const inputs = [...(n.input ?? [])];
        const outputs = [...(n.output ?? [])];
        const isConst = (s: string) => s === '' || this.consts.has(s);
        const paramOp = MODULE_OPS.has(op) || (LINEAR_OPS.has(op) && inputs[1] !== undefined && this.consts.has(inputs[1]));
        if (!paramOp && inputs.every(isConst)) {
          const outs = FUNCTIONAL[op]!(inputs.map((s) => (s === '' ? undefined : this.consts.get(s))), ctx);
          outputs.forEach((o, i) => {
            if (o && outs[i]) this.consts.set(o, outs[i]!);
          });
          return;
        }
        const step: Step = { node: name, op, inputs, outputs, ctx, release: [] };
        if (paramOp) {
          let mname = sanitizeName(name) || `${op.toLowerCase()}_${idx}`;
          if (usedNames.has(mname) || mname === '') {
            let k = 2;
            while (usedNames.has(`${mname}_${k}`)) k++;
            mname = `${mname}_${k}`;
          }
          usedNames.add(mname);
          this.registerModule(mname, this.makeModule(mname, step));
          step.module = mname;
          this.nodeToModule.set(name, mname);
          this.moduleToNode.set(mname, name);
          if (LINEAR_OPS.has(op)) linearSteps.push(step);
        }
        this.steps.push(step);
      });
    });

    // --- liveness: drop each runtime value after its last consumer
    const lastUse = new Map<string, number>();
    this.steps.forEach((s, i) => s.inputs.forEach((v) => v && !this.consts.has(v) && lastUse.set(v, i)));
    for (const [v, i] of lastUse) if (v !== this.outputName) this.steps[i]!.release.push(v);
    // every consumed edge must be produced by someone
    const produced = new Set<string>([this.inputName, ...this.consts.keys()]);
    for (const s of this.steps) {
      for (const v of s.inputs) if (v && !produced.has(v)) throw new LrqError(`${s.ctx.where}: input '${v}' is not produced by any node`);
      s.outputs.forEach((o, i) => (i === 0 || !s.module) && o && produced.add(o));
    }
    if (!produced.has(this.outputName)) throw new LrqError(`${file}: graph output '${this.outputName}' is not produced by any node`);

    const cls = linearSteps[linearSteps.length - 1];
    this.classifierPath = cls?.module ?? null;
    this.featureName = cls?.inputs[0] ?? null;
  }

  private toposort(nodes: NodeProto[], file: string): NodeProto[] {
    const producer = new Map<string, number>();
    nodes.forEach((n, i) => (n.output ?? []).forEach((o) => o && producer.set(o, i)));
    const state = new Uint8Array(nodes.length); // 0 new, 1 visiting, 2 done
    const out: NodeProto[] = [];
    const visit = (i0: number) => {
      const stack: [number, number][] = [[i0, 0]];
      while (stack.length) {
        const top = stack[stack.length - 1]!;
        const [i, k] = top;
        if (k === 0) {
          if (state[i] === 2) {
            stack.pop();
            continue;
          }
          state[i] = 1;
        }
        const ins = nodes[i]!.input ?? [];
        if (k < ins.length) {
          top[1] = k + 1;
          const p = producer.get(ins[k]!);
          if (p !== undefined) {
            if (state[p] === 1) throw new LrqError(`${file}: the graph has a cycle through node '${nodes[p]!.name}'`);
            if (state[p] === 0) stack.push([p, 0]);
          }
        } else {
          state[i] = 2;
          out.push(nodes[i]!);
          stack.pop();
        }
      }
    };
    for (let i = 0; i < nodes.length; i++) if (state[i] === 0) visit(i);
    return out;
  }

  private constTensor(name: string | undefined, ctx: NodeCtx, what: string): Tensor {
    const v = name ? this.consts.get(name) : undefined;
    if (!v) throw new LrqError(`${ctx.where}: ${what} '${name ?? ''}' must be a constant (initializer)`);
    return asFloat(v);
  }

  /** Record that initializer `init` (when it is one) lives at `path`. */
  private bindState(init: string | undefined, path: string): void {
    if (!init || !(this.proto.graph?.initializer ?? []).some((t) => t.name === init)) return;
    if (!this.initializerToState.has(init)) this.initializerToState.set(init, path);
    this.stateToInitializer.set(path, init);
  }

  private makeModule(path: string, step: Step): Module {
    const { op, ctx, inputs } = step;
    switch (op) {
      case 'Conv': {
        const w = this.constTensor(inputs[1], ctx, 'weight');
        if (w.ndim !== 4) throw new LrqError(`${ctx.where}: only 2-D convolution is supported (weight shape [${w.shape.join(', ')}])`);
        const group = attrInt(ctx, 'group', 1);
        const [oc, icg, kh, kw] = w.shape as [number, number, number, number];
        const ks = attrInts(ctx, 'kernel_shape') ?? [kh, kw];
        const known = this.inputShape.length === 4 && step.inputs[0] === this.inputName ? (this.inputShape.slice(2) as number[]) : null;
        const g = window2d(ctx, ks, known && known.every((d) => d !== null) ? known : null);
        const [t, l, b, r] = g.pads;
        const padding: [number, number] | [number, number, number, number] = t === b && l === r ? [t, l] : [t, l, b, r];
        const hasBias = !!inputs[2];
        const conv = new Conv2d(icg * group, oc, [kh, kw], { stride: g.stride, padding, dilation: g.dilation, groups: group, bias: hasBias, rng: scratchRng });
        conv.param('weight')!.data.set(w.data);
        this.bindState(inputs[1], `${path}.weight`);
        if (hasBias) {
          const b = this.constTensor(inputs[2], ctx, 'bias');
          if (b.size !== oc) throw new LrqError(`${ctx.where}: bias of shape [${b.shape.join(', ')}] is not a per-output vector of ${oc}`);
          conv.param('bias')!.data.set(b.data);
          this.bindState(inputs[2], `${path}.bias`);
        }
        return conv;
      }
      case 'BatchNormalization': {
        const scale = this.constTensor(inputs[1], ctx, 'scale');
        const c = scale.size;
        const eps = f32Decimal(attrFloat(ctx, 'epsilon', 1e-5));
        // ONNX: running = m·running + (1−m)·batch; PyTorch/our momentum is the weight of the batch (1 − m)
        const m = f32Decimal(attrFloat(ctx, 'momentum', 0.9));
        const bn = new BatchNorm2d(c, { eps, momentum: f32Decimal(1 - m), affine: true });
        const names = ['weight', 'bias', 'running_mean', 'running_var'];
        names.forEach((n, i) => {
          const src = this.constTensor(inputs[i + 1], ctx, n);
          if (src.size !== c) throw new LrqError(`${ctx.where}: ${n} has ${src.size} values, expected ${c}`);
          const dst = i < 2 ? bn.param(n) : bn.buffer(n);
          dst!.data.set(src.data);
          this.bindState(inputs[i + 1], `${path}.${n}`);
        });
        return bn;
      }
      case 'Relu':
        return new ReLU();
      case 'LeakyRelu':
        return new LeakyReLU(attrFloat(ctx, 'alpha', 0.01));
      case 'Clip': {
        let lo = -Infinity, hi = Infinity;
        if (this.opset < 11) {
          lo = attrFloat(ctx, 'min', -Infinity);
          hi = attrFloat(ctx, 'max', Infinity);
        } else {
          if (inputs[1]) lo = scalarOf(this.constValue(inputs[1], ctx, 'min'), ctx, 'min');
          if (inputs[2]) hi = scalarOf(this.constValue(inputs[2], ctx, 'max'), ctx, 'max');
        }
        if (lo === 0 && hi === 6) return new ReLU6();
        if (lo === 0 && hi === Infinity) return new ReLU();
        return new Clamp(lo, hi);
      }
      case 'Gemm': {
        if (attrInt(ctx, 'transA', 0) !== 0) throw new LrqError(`${ctx.where}: Gemm with transA=1 is not supported`);
        const alpha = attrFloat(ctx, 'alpha', 1), beta = attrFloat(ctx, 'beta', 1);
        if (alpha !== 1 || beta !== 1) throw new LrqError(`${ctx.where}: Gemm with alpha=${alpha}, beta=${beta} is not supported (only 1, 1)`);
        const w = this.constTensor(inputs[1], ctx, 'weight');
        if (w.ndim !== 2) throw new LrqError(`${ctx.where}: Gemm weight must be 2-D, got [${w.shape.join(', ')}]`);
        const transB = attrInt(ctx, 'transB', 0) === 1;
        const [outF, inF] = transB ? w.shape : [w.shape[1]!, w.shape[0]!];
        const hasBias = !!inputs[2];
        const lin = new Linear(inF!, outF!, { bias: hasBias, rng: scratchRng });
        lin.param('weight')!.data.set(transB ? w.data : ops.transpose(w, 0, 1).data);
        if (!transB) this.transposedWeights.add(path);
        this.bindState(inputs[1], `${path}.weight`);
        if (hasBias) {
          const b = this.constTensor(inputs[2], ctx, 'bias');
          if (b.size !== outF) throw new LrqError(`${ctx.where}: Gemm bias of shape [${b.shape.join(', ')}] is not a per-output vector of ${outF}`);
          lin.param('bias')!.data.set(b.data);
          this.bindState(inputs[2], `${path}.bias`);
        }
        return lin;
      }
      case 'MatMul': {
        const w = this.constTensor(inputs[1], ctx, 'weight');
        if (w.ndim !== 2) throw new LrqError(`${ctx.where}: MatMul with a constant weight must have a 2-D weight, got [${w.shape.join(', ')}]`);
        const lin = new Linear(w.shape[0]!, w.shape[1]!, { bias: false, rng: scratchRng });
        lin.param('weight')!.data.set(ops.transpose(w, 0, 1).data);
        this.transposedWeights.add(path);
        this.bindState(inputs[1], `${path}.weight`);
        return lin;
      }
      default:
        throw new LrqError(`${ctx.where}: no module for op ${op}`);
    }
  }

  private constValue(name: string, ctx: NodeCtx, what: string): Value {
    const v = this.consts.get(name);
    if (!v) throw new LrqError(`${ctx.where}: ${what} must be a constant`);
    return v;
  }

  /** logits = graph(x); with returnFeature also the classifier's input (penultimate feature). */
  forward(x: Tensor): Tensor;
  forward(x: Tensor, opts: { returnFeature: true }): { logits: Tensor; feature: Tensor };
  forward(x: Tensor, opts?: GraphForwardOptions): Tensor | { logits: Tensor; feature: Tensor };
  forward(x: Tensor, opts: GraphForwardOptions = {}): Tensor | { logits: Tensor; feature: Tensor } {
    this.checkInput(x);
    const env = new Map<string, Value>();
    env.set(this.inputName, this.applyEdgeHook(this.inputName, x));
    this.valueObserver?.(this.inputName, x);
    let feature: Value | undefined = this.featureName === this.inputName ? x : undefined;
    const get = (n: string): Value | undefined => (n === '' ? undefined : env.get(n) ?? this.consts.get(n));
    for (const s of this.steps) {
      const ins = s.inputs.map(get);
      let outs: Value[];
      if (s.module) {
        const m = this.getSubmodule(s.module) as unknown as Fwd;
        const xin = ins[0];
        if (!xin) throw new LrqError(`${s.ctx.where}: input '${s.inputs[0]}' has no value`);
        outs = [this.runModule(s, m, asFloat(xin))];
      } else {
        outs = FUNCTIONAL[s.op]!(ins, s.ctx);
      }
      s.outputs.forEach((o, i) => {
        if (o && outs[i]) env.set(o, this.edgeHooks.size ? this.applyEdgeHook(o, outs[i]!) : outs[i]!);
        if (o && outs[i] && this.valueObserver) this.valueObserver(o, outs[i]!);
      });
      if (this.featureName && feature === undefined && s.outputs.includes(this.featureName)) feature = env.get(this.featureName);
      for (const r of s.release) env.delete(r);
    }
    const out = env.get(this.outputName) ?? this.consts.get(this.outputName);
    if (!out) throw new LrqError(`graph output '${this.outputName}' was not computed`);
    const logits = asFloat(out);
    if (!opts.returnFeature) return logits;
    if (!feature) throw new LrqError('returnFeature: the graph has no Gemm/MatMul classifier with a constant weight');
    return { logits, feature: asFloat(feature) };
  }

  /**
   * value(to) computed from value(from) := `value`, running only the steps after from's producer up to to's
   * producer (block reconstruction). `from` must be a single-edge cut (no later step reads an earlier edge);
   * `value` is the edge as forward stores it (after its edge module), except that the network input gets
   * its edge module here as in forward. Returns to's stored value.
   */
  forwardRange(from: string, value: Tensor, to: string): Tensor {
    const producer = (e: string) => this.steps.findIndex((s) => s.outputs.includes(e));
    const start = from === this.inputName ? 0 : producer(from) + 1;
    const end = producer(to);
    if (start === 0 && from !== this.inputName) throw new LrqError(`forwardRange: edge '${from}' is not produced by any step`);
    if (end < start) throw new LrqError(`forwardRange: edge '${to}' is not produced after '${from}'`);
    const env = new Map<string, Value>([[from, from === this.inputName ? this.applyEdgeHook(from, value) : value]]);
    for (let i = start; i <= end; i++) {
      const s = this.steps[i]!;
      const ins = s.inputs.map((n) => {
        if (n === '') return undefined;
        const v = env.get(n) ?? this.consts.get(n);
        if (!v) throw new LrqError(`forwardRange: step '${s.node}' reads '${n}', which is outside the range from '${from}' (not a single-edge cut)`);
        return v;
      });
      const outs = s.module ? [this.runModule(s, this.getSubmodule(s.module) as unknown as Fwd, asFloat(ins[0]!))] : FUNCTIONAL[s.op]!(ins, s.ctx);
      s.outputs.forEach((o, k) => o && outs[k] && env.set(o, this.edgeHooks.size ? this.applyEdgeHook(o, outs[k]!) : outs[k]!));
    }
    return asFloat(env.get(to)!);
  }

  /** v, or hook(v) when a module is attached to edge `name`. */
  private applyEdgeHook(name: string, v: Value): Value {
    const path = this.edgeHooks.get(name);
    if (path === undefined) return v;
    return (this.getSubmodule(path) as unknown as Fwd).forward(asFloat(v));
  }

  /** Attach module `m` (registered at `path`) to edge `edge`: forward then uses m(value) wherever the edge is read. */
  setEdgeModule(edge: string, path: string, m: Module): void {
    const known = edge === this.inputName || this.steps.some((s) => s.outputs.includes(edge));
    if (!known) throw new LrqError(`graph: edge '${edge}' is not produced by any step`);
    if (this.edgeHooks.has(edge)) throw new LrqError(`graph: edge '${edge}' already has a module (${this.edgeHooks.get(edge)})`);
    this.registerModule(path, m);
    this.edgeHooks.set(edge, path);
  }

  /** [edge, module path] of every edge module, in insertion order. */
  edgeModules(): [string, string][] {
    return [...this.edgeHooks];
  }

  /** The executable steps (node, op, input and output edges, module path) in forward order — read-only copies. */
  graphSteps(): { node: string; op: string; inputs: string[]; outputs: string[]; module?: string }[] {
    return this.steps.map((s) => ({ node: s.node, op: s.op, inputs: [...s.inputs], outputs: [...s.outputs], ...(s.module ? { module: s.module } : {}) }));
  }

  /** Which runtime edges carry float tensors (vs integer shape values) on input `x` (one no-grad eval forward). */
  traceFloatEdges(x: Tensor): Set<string> {
    return new Set([...this.traceEdges(x)].filter(([, e]) => e.float).map(([n]) => n));
  }

  /** Every runtime edge's kind (float tensor or integer values) and shape on input `x` (one no-grad eval forward). */
  traceEdges(x: Tensor): Map<string, { float: boolean; shape: number[]; ints?: number[] }> {
    const out = new Map<string, { float: boolean; shape: number[]; ints?: number[] }>();
    const was = this.training;
    this.eval();
    this.valueObserver = (name, v) => {
      const small = !(v instanceof Tensor) && v.size <= 64;
      out.set(name, { float: v instanceof Tensor, shape: [...v.shape], ...(small ? { ints: [...(v as IntTensor).data].map(Number) } : {}) });
    };
    try {
      noGrad(() => this.forward(x));
    } finally {
      this.valueObserver = null;
      this.train(was);
    }
    return out;
  }

  /** Whether edge `name` is a constant (initializer or folded) rather than a runtime value. */
  isConstant(name: string): boolean {
    return this.consts.has(name);
  }

  private runModule(s: Step, m: Fwd, x: Tensor): Tensor {
    if (s.op === 'Conv' && x.ndim !== 4) throw new LrqError(`${s.ctx.where}: expects NCHW input, got shape [${x.shape.join(', ')}]`);
    if (s.op === 'Gemm' && x.ndim !== 2) throw new LrqError(`${s.ctx.where}: Gemm input must be 2-D, got shape [${x.shape.join(', ')}]`);
    if (s.op === 'MatMul' && x.ndim !== 2) {
      // Linear works on rows: fold leading dims into the batch and restore them afterwards
      const inF = x.shape[x.ndim - 1]!;
      const y = m.forward(ops.reshape(x, [-1, inF]));
      return ops.reshape(y, [...x.shape.slice(0, -1), y.shape[1]!]);
    }
    return m.forward(x);
  }

  private checkInput(x: Tensor): void {
    const want = this.inputShape;
    const bad = want.length !== x.ndim || want.some((d, i) => d !== null && d !== x.shape[i]);
    if (want.length && bad) {
      throw new LrqError(`input '${this.inputName}' expects shape [${want.map((d) => d ?? 'N').join(', ')}], got [${x.shape.join(', ')}]`);
    }
  }

  /** BatchNorm2d submodules in forward (topological) order — the teacher statistics of the BNS loss. */
  bnLayers(): BatchNorm2d[] {
    const out: BatchNorm2d[] = [];
    for (const s of this.steps) {
      if (!s.module) continue;
      const m = this.getSubmodule(s.module);
      if (m instanceof BatchNorm2d) out.push(m);
    }
    return out;
  }

  /** Submodule paths in forward order with their ONNX op type (for quantization's prepare step). */
  moduleSteps(): { path: string; node: string; op: string }[] {
    return this.steps.filter((s) => s.module).map((s) => ({ path: s.module!, node: s.node, op: s.op }));
  }

  /** Number of parameter-free steps plus module steps (diagnostics). */
  get numSteps(): number {
    return this.steps.length;
  }

  /** Constant (folded) value of an edge, if any — e.g. an initializer the graph does not bind to a module. */
  constantValue(name: string): Value | undefined {
    return this.consts.get(name);
  }
}

export { IntTensor };
