// Executors for the parameter-free ONNX ops, on Values (float Tensors via engine ops so autograd
// records them; IntTensors for shape arithmetic). Parameterized ops (Conv, BatchNormalization,
// Gemm/MatMul with a constant weight) and activations run as submodules instead (see graph.ts).
// Rule: semantics follow the ONNX spec at the model's opset; anything outside it is a one-line LrqError.

import { Tensor, full } from '../../engine/tensor.js';
import { LrqError } from '../../engine/errors.js';
import * as ops from '../../engine/ops/index.js';
import { IntTensor, type Value, onnx, checkedNumel, MAX_RUNTIME_ELEMENTS } from './proto.js';
import { intBinary, intConcat, intGather, intSlice, intTranspose, normAxis, resolveReshape, sliceAxis } from './intops.js';

export type Attr = number | number[] | string | string[] | Value;
export type Attrs = Map<string, Attr>;

/** What an executor knows about its node. */
export interface NodeCtx {
  name: string;
  op: string;
  attrs: Attrs;
  opset: number;
  /** "node 'name' (Op)" for error messages. */
  where: string;
}

export type Exec = (ins: (Value | undefined)[], ctx: NodeCtx) => Value[];

// ---- attribute and value helpers -----------------------------------------------------------------

/** Integer attribute with default. */
export function attrInt(ctx: NodeCtx, name: string, def: number): number {
  const v = ctx.attrs.get(name);
  return typeof v === 'number' ? v : def;
}
/** Float attribute with default. */
export function attrFloat(ctx: NodeCtx, name: string, def: number): number {
  const v = ctx.attrs.get(name);
  return typeof v === 'number' ? v : def;
}
/** Integer-list attribute (undefined when absent). */
export function attrInts(ctx: NodeCtx, name: string): number[] | undefined {
  const v = ctx.attrs.get(name);
  return Array.isArray(v) ? (v as number[]) : undefined;
}
/** String attribute with default. */
export function attrStr(ctx: NodeCtx, name: string, def: string): string {
  const v = ctx.attrs.get(name);
  return typeof v === 'string' ? v : def;
}

/** Shape of any value. */
export function shapeOf(v: Value): readonly number[] {
  return v.shape;
}

/** Float view of a value (integer tensors are converted; carries no gradient). */
export function asFloat(v: Value): Tensor {
  if (v instanceof Tensor) return v;
  return new Tensor(Float32Array.from(v.data), v.shape);
}

/** Integer view of a value (ONNX Cast to an integer type truncates toward zero). */
export function asInt(v: Value): IntTensor {
  if (v instanceof IntTensor) return v;
  return new IntTensor(Array.from(v.data, (x) => Math.trunc(x)), v.shape);
}

/** Values of an integer input as a list (e.g. pads, axes, shape). */
export function intList(v: Value | undefined, ctx: NodeCtx, what: string): number[] {
  if (!v) throw new LrqError(`${ctx.where}: missing input '${what}'`);
  return asInt(v).data;
}

/** A scalar from a one-element value. */
export function scalarOf(v: Value, ctx: NodeCtx, what: string): number {
  if (v.size !== 1) throw new LrqError(`${ctx.where}: '${what}' must be a scalar, got shape [${v.shape.join(', ')}]`);
  return v instanceof IntTensor ? v.data[0]! : v.data[0]!;
}

function need(ins: (Value | undefined)[], i: number, ctx: NodeCtx): Value {
  const v = ins[i];
  if (!v) throw new LrqError(`${ctx.where}: input ${i} is missing`);
  return v;
}

function needFloat(ins: (Value | undefined)[], i: number, ctx: NodeCtx): Tensor {
  return asFloat(need(ins, i, ctx));
}

/** Reshape either kind of value. */
function reshapeValue(v: Value, shape: number[]): Value {
  if (v instanceof IntTensor) return new IntTensor(v.data, shape);
  return ops.reshape(v, shape);
}

/** Axes from attribute (older opsets) or from input `i` (newer opsets); undefined when neither given. */
function axesOf(ins: (Value | undefined)[], i: number, ctx: NodeCtx): number[] | undefined {
  const a = attrInts(ctx, 'axes');
  if (a) return a;
  const v = ins[i];
  return v ? asInt(v).data : undefined;
}

// ---- 2-D window geometry ---------------------------------------------------------------------------

/** kernel, stride and symmetric padding of a 2-D Conv/Pool node, or an LrqError for what we cannot run. */
export function window2d(ctx: NodeCtx, kernel: number[], inHW: readonly number[] | null): { stride: [number, number]; pads: [number, number, number, number]; dilation: [number, number] } {
  if (kernel.length !== 2) throw new LrqError(`${ctx.where}: only 2-D windows are supported (kernel_shape [${kernel.join(', ')}])`);
  const st = attrInts(ctx, 'strides') ?? [1, 1];
  const dil = attrInts(ctx, 'dilations') ?? [1, 1];
  let pads = (attrInts(ctx, 'pads') ?? [0, 0, 0, 0]) as number[];
  // geometry the kernels cannot run is refused here, naming the node (a window of 2^16 or more is corrupt)
  const okInts = (v: number[], n: number, lo: number) => v.length === n && v.every((x) => Number.isSafeInteger(x) && x >= lo && x < 65536);
  if (!okInts(kernel, 2, 1)) throw new LrqError(`${ctx.where}: kernel_shape [${kernel.join(', ')}] must be two integers in [1, 65535]`);
  if (!okInts(st, 2, 1)) throw new LrqError(`${ctx.where}: strides [${st.join(', ')}] must be two integers in [1, 65535]`);
  if (!okInts(dil, 2, 1)) throw new LrqError(`${ctx.where}: dilations [${dil.join(', ')}] must be two integers in [1, 65535]`);
  if (!okInts(pads, 4, 0)) throw new LrqError(`${ctx.where}: pads [${pads.join(', ')}] must be four integers in [0, 65535]`);
  const autoPad = attrStr(ctx, 'auto_pad', 'NOTSET');
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    // total padding so that out = ceil(in / stride); needs the input size unless stride is 1
    const tot = [0, 1].map((d) => {
      const eff = (kernel[d]! - 1) * dil[d]! + 1;
      if (st[d] === 1) return eff - 1;
      if (!inHW) throw new LrqError(`${ctx.where}: auto_pad=${autoPad} with stride ${st[d]} needs a known input size`);
      const out = Math.ceil(inHW[d]! / st[d]!);
      return Math.max(0, (out - 1) * st[d]! + eff - inHW[d]!);
    });
    const small = tot.map((t) => Math.floor(t / 2));
    const big = tot.map((t, d) => t - small[d]!);
    pads = autoPad === 'SAME_UPPER' ? [small[0]!, small[1]!, big[0]!, big[1]!] : [big[0]!, big[1]!, small[0]!, small[1]!];
  } else if (autoPad === 'VALID') {
    pads = [0, 0, 0, 0];
  }
  return { stride: [st[0]!, st[1]!], pads: [pads[0]!, pads[1]!, pads[2]!, pads[3]!], dilation: [dil[0]!, dil[1]!] };
}

function pool(ins: (Value | undefined)[], ctx: NodeCtx, kind: 'avg' | 'max'): Value[] {
  const x = needFloat(ins, 0, ctx);
  if (x.ndim !== 4) throw new LrqError(`${ctx.where}: expects NCHW input, got shape [${x.shape.join(', ')}]`);
  if (attrInt(ctx, 'ceil_mode', 0) !== 0) throw new LrqError(`${ctx.where}: ceil_mode=1 is not supported`);
  const k = attrInts(ctx, 'kernel_shape') ?? [];
  const g = window2d(ctx, k, x.shape.slice(2));
  if (g.dilation[0] !== 1 || g.dilation[1] !== 1) throw new LrqError(`${ctx.where}: pooling dilations other than 1 are not supported`);
  const kernel: [number, number] = [k[0]!, k[1]!];
  if (kind === 'max') return [ops.maxPool2d(x, kernel, g.stride, g.pads)];
  return [ops.avgPool2d(x, kernel, g.stride, g.pads, attrInt(ctx, 'count_include_pad', 0) === 1)];
}

// ---- executors -------------------------------------------------------------------------------------

function binary(fl: (a: Tensor, b: Tensor) => Tensor, int: ((a: number, b: number) => number) | null): Exec {
  return (ins, ctx) => {
    const a = need(ins, 0, ctx), b = need(ins, 1, ctx);
    if (int && a instanceof IntTensor && b instanceof IntTensor) return [intBinary(a, b, int, ctx.where)];
    return [fl(asFloat(a), asFloat(b))];
  };
}

function unary(f: (x: Tensor) => Tensor): Exec {
  return (ins, ctx) => [f(needFloat(ins, 0, ctx))];
}

const DT = onnx.TensorProto.DataType;

/** ONNX op type → executor for every parameter-free op the importer runs. */
export const FUNCTIONAL: Record<string, Exec> = {
  Add: binary(ops.add, (a, b) => a + b),
  Sub: binary(ops.sub, (a, b) => a - b),
  Mul: binary(ops.mul, (a, b) => a * b),
  Div: binary(ops.div, (a, b) => Math.trunc(a / b)),
  Max: binary(ops.maximum, Math.max),
  Min: binary(ops.minimum, Math.min),
  Neg: (ins, ctx) => {
    const x = need(ins, 0, ctx);
    return [x instanceof IntTensor ? new IntTensor(x.data.map((v) => -v), x.shape) : ops.neg(x)];
  },
  Sqrt: unary(ops.sqrt),
  Exp: unary(ops.exp),
  Log: unary(ops.log),
  Abs: unary(ops.abs),
  Tanh: unary(ops.tanh),
  Sigmoid: unary(ops.sigmoid),
  Relu: unary(ops.relu),
  HardSigmoid: (ins, ctx) => {
    const x = needFloat(ins, 0, ctx);
    return [ops.clamp(ops.add(ops.mul(x, attrFloat(ctx, 'alpha', 0.2)), attrFloat(ctx, 'beta', 0.5)), 0, 1)];
  },
  HardSwish: (ins, ctx) => {
    const x = needFloat(ins, 0, ctx);
    return [ops.mul(x, ops.div(ops.relu6(ops.add(x, 3)), 6))];
  },
  Pow: (ins, ctx) => {
    const x = needFloat(ins, 0, ctx);
    const e = scalarOf(need(ins, 1, ctx), ctx, 'exponent');
    if (e === 2) return [ops.square(x)];
    if (e === 1) return [x];
    if (e === 0.5) return [ops.sqrt(x)];
    throw new LrqError(`${ctx.where}: Pow with exponent ${e} is not supported (only 0.5, 1, 2)`);
  },
  Softmax: (ins, ctx) => {
    const x = needFloat(ins, 0, ctx);
    const axis = normAxis(attrInt(ctx, 'axis', ctx.opset >= 13 ? -1 : 1), x.ndim, ctx.where);
    if (ctx.opset < 13 && axis !== x.ndim - 1) throw new LrqError(`${ctx.where}: Softmax before opset 13 with axis ${axis} on rank ${x.ndim} is not supported`);
    return [ops.softmax(x, axis)];
  },
  LogSoftmax: (ins, ctx) => {
    const x = needFloat(ins, 0, ctx);
    const axis = normAxis(attrInt(ctx, 'axis', ctx.opset >= 13 ? -1 : 1), x.ndim, ctx.where);
    if (ctx.opset < 13 && axis !== x.ndim - 1) throw new LrqError(`${ctx.where}: LogSoftmax before opset 13 with axis ${axis} on rank ${x.ndim} is not supported`);
    return [ops.logSoftmax(x, axis)];
  },
  GlobalAveragePool: (ins, ctx) => {
    const x = needFloat(ins, 0, ctx);
    if (x.ndim !== 4) throw new LrqError(`${ctx.where}: expects NCHW input, got shape [${x.shape.join(', ')}]`);
    return [ops.globalAvgPool(x)];
  },
  GlobalMaxPool: (ins, ctx) => {
    const x = needFloat(ins, 0, ctx);
    return [ops.amax(x, [2, 3], true)];
  },
  AveragePool: (ins, ctx) => pool(ins, ctx, 'avg'),
  MaxPool: (ins, ctx) => {
    if (attrInt(ctx, 'storage_order', 0) !== 0) throw new LrqError(`${ctx.where}: storage_order=1 is not supported`);
    return pool(ins, ctx, 'max');
  },
  ReduceMean: (ins, ctx) => {
    const x = needFloat(ins, 0, ctx);
    const axes = axesOf(ins, 1, ctx);
    const keep = attrInt(ctx, 'keepdims', 1) === 1;
    const all = [...Array(x.ndim).keys()];
    const ax = axes && axes.length ? axes.map((a) => normAxis(a, x.ndim, ctx.where)) : attrInt(ctx, 'noop_with_empty_axes', 0) ? [] : all;
    if (ax.length === 0) return [x];
    return [ops.mean(x, ax, keep)];
  },
  Flatten: (ins, ctx) => {
    const x = need(ins, 0, ctx);
    const r = x.shape.length;
    const axis = attrInt(ctx, 'axis', 1);
    const a = axis < 0 ? axis + r : axis;
    const outer = x.shape.slice(0, a).reduce((p, q) => p * q, 1);
    return [reshapeValue(x, [outer, x.size / Math.max(outer, 1) || 0])];
  },
  Reshape: (ins, ctx) => {
    const x = need(ins, 0, ctx);
    const target = ctx.attrs.has('shape') ? (attrInts(ctx, 'shape') ?? []) : intList(ins[1], ctx, 'shape');
    return [reshapeValue(x, resolveReshape(x.shape, target, attrInt(ctx, 'allowzero', 0) === 1, ctx.where))];
  },
  Identity: (ins, ctx) => [need(ins, 0, ctx)],
  Dropout: (ins, ctx) => [need(ins, 0, ctx)], // inference semantics: dropout is the identity
  Constant: (_ins, ctx) => {
    const v = ctx.attrs.get('value');
    if (v instanceof Tensor || v instanceof IntTensor) return [v];
    if (ctx.attrs.has('value_float')) return [new Tensor(Float32Array.of(attrFloat(ctx, 'value_float', 0)), [])];
    if (ctx.attrs.has('value_floats')) {
      const f = ctx.attrs.get('value_floats') as number[];
      return [new Tensor(Float32Array.from(f), [f.length])];
    }
    if (ctx.attrs.has('value_int')) return [new IntTensor([attrInt(ctx, 'value_int', 0)], [])];
    if (ctx.attrs.has('value_ints')) {
      const f = attrInts(ctx, 'value_ints')!;
      return [new IntTensor(f, [f.length])];
    }
    throw new LrqError(`${ctx.where}: Constant without a supported value attribute`);
  },
  ConstantOfShape: (ins, ctx) => {
    const shape = intList(ins[0], ctx, 'shape');
    const n = checkedNumel(shape, () => `${ctx.where}: output`, MAX_RUNTIME_ELEMENTS);
    void n;
    const v = ctx.attrs.get('value');
    if (v instanceof IntTensor) return [new IntTensor(new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(v.data[0] ?? 0), shape)];
    return [full(shape, v instanceof Tensor ? v.data[0] ?? 0 : 0)];
  },
  Cast: (ins, ctx) => {
    const x = need(ins, 0, ctx);
    const to = attrInt(ctx, 'to', DT.FLOAT);
    if (to === DT.FLOAT || to === DT.DOUBLE || to === DT.FLOAT16) return [asFloat(x)];
    if (to === DT.BOOL) return [new IntTensor(asInt(x).data.map((v) => (v !== 0 ? 1 : 0)), x.shape)];
    return [asInt(x)];
  },
  Shape: (ins, ctx) => {
    const s = need(ins, 0, ctx).shape;
    const r = s.length;
    let start = attrInt(ctx, 'start', 0), end = attrInt(ctx, 'end', r);
    if (start < 0) start += r;
    if (end < 0) end += r;
    start = Math.min(Math.max(start, 0), r);
    end = Math.min(Math.max(end, 0), r);
    const dims = s.slice(start, Math.max(start, end));
    return [new IntTensor([...dims], [dims.length])];
  },
  Size: (ins, ctx) => [new IntTensor([need(ins, 0, ctx).size], [])],
  Gather: (ins, ctx) => {
    const x = need(ins, 0, ctx);
    const ind = asInt(need(ins, 1, ctx));
    const axis = normAxis(attrInt(ctx, 'axis', 0), x.shape.length, ctx.where);
    if (x instanceof IntTensor) return [intGather(x, ind, axis, ctx.where)];
    // float data: take one slice per index, concatenate, then give the indices' shape to that axis
    const dim = x.shape[axis]!;
    const parts = ind.data.map((i0) => {
      const i = i0 < 0 ? i0 + dim : i0;
      if (i < 0 || i >= dim) throw new LrqError(`${ctx.where}: Gather index ${i0} out of range for axis of size ${dim}`);
      return ops.slice(x, axis, i, i + 1, 1);
    });
    const cat = parts.length === 1 ? parts[0]! : ops.concat(parts, axis);
    return [ops.reshape(cat, [...x.shape.slice(0, axis), ...ind.shape, ...x.shape.slice(axis + 1)])];
  },
  Unsqueeze: (ins, ctx) => {
    const x = need(ins, 0, ctx);
    const axes = axesOf(ins, 1, ctx);
    if (!axes) throw new LrqError(`${ctx.where}: Unsqueeze without axes`);
    const r = x.shape.length + axes.length;
    const norm = axes.map((a) => normAxis(a, r, ctx.where)).sort((a, b) => a - b);
    const shape = [...x.shape];
    for (const a of norm) shape.splice(a, 0, 1);
    return [reshapeValue(x, shape)];
  },
  Squeeze: (ins, ctx) => {
    const x = need(ins, 0, ctx);
    const axes = axesOf(ins, 1, ctx);
    const r = x.shape.length;
    const drop = new Set(axes && axes.length ? axes.map((a) => normAxis(a, r, ctx.where)) : x.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0));
    for (const a of drop) if (x.shape[a] !== 1) throw new LrqError(`${ctx.where}: cannot squeeze axis ${a} of size ${x.shape[a]}`);
    return [reshapeValue(x, x.shape.filter((_, i) => !drop.has(i)))];
  },
  Transpose: (ins, ctx) => {
    const x = need(ins, 0, ctx);
    const perm = attrInts(ctx, 'perm') ?? [...Array(x.shape.length).keys()].reverse();
    if (x instanceof IntTensor) return [intTranspose(x, perm)];
    return [ops.permute(x, perm)];
  },
  Concat: (ins, ctx) => {
    const xs = ins.filter((v): v is Value => v !== undefined);
    if (xs.length === 0) throw new LrqError(`${ctx.where}: Concat without inputs`);
    const axis = normAxis(attrInt(ctx, 'axis', 0), xs[0]!.shape.length, ctx.where);
    if (xs.every((v) => v instanceof IntTensor)) return [intConcat(xs as IntTensor[], axis)];
    const fs = xs.map(asFloat).filter((t) => t.shape[axis] !== 0);
    return [fs.length === 1 ? fs[0]! : ops.concat(fs, axis)];
  },
  Slice: (ins, ctx) => {
    const x = need(ins, 0, ctx);
    const r = x.shape.length;
    let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
    if (ctx.opset < 10) {
      starts = attrInts(ctx, 'starts') ?? [];
      ends = attrInts(ctx, 'ends') ?? [];
      axes = attrInts(ctx, 'axes');
    } else {
      starts = intList(ins[1], ctx, 'starts');
      ends = intList(ins[2], ctx, 'ends');
      axes = ins[3] ? asInt(ins[3]).data : undefined;
      steps = ins[4] ? asInt(ins[4]).data : undefined;
    }
    const ax = (axes ?? starts.map((_, i) => i)).map((a) => normAxis(a, r, ctx.where));
    const per = x.shape.map((d) => ({ start: 0, step: 1, len: d }));
    ax.forEach((a, i) => {
      per[a] = sliceAxis(x.shape[a]!, starts[i]!, ends[i]!, steps?.[i] ?? 1, ctx.where);
    });
    if (x instanceof IntTensor) return [intSlice(x, per)];
    let y = x;
    for (const a of ax) {
      const { start, step, len } = per[a]!;
      if (start === 0 && step === 1 && len === y.shape[a]) continue;
      // python-style end; a negative step that runs past index 0 needs end = null ("to the edge")
      const end = start + len * step;
      y = ops.slice(y, a, start, step < 0 && end < 0 ? null : end, step);
    }
    return [y];
  },
  MatMul: (ins, ctx) => [ops.matmul(needFloat(ins, 0, ctx), needFloat(ins, 1, ctx))],
  Gemm: (ins, ctx) => {
    // runtime weight (a constant weight runs as a Linear submodule instead): y = α·A'·B' + β·C
    let a = needFloat(ins, 0, ctx), b = needFloat(ins, 1, ctx);
    if (attrInt(ctx, 'transA', 0)) a = ops.transpose(a, 0, 1);
    if (attrInt(ctx, 'transB', 0)) b = ops.transpose(b, 0, 1);
    let y = ops.matmul(a, b);
    const alpha = attrFloat(ctx, 'alpha', 1), beta = attrFloat(ctx, 'beta', 1);
    if (alpha !== 1) y = ops.mul(y, alpha);
    if (ins[2]) y = ops.add(y, beta === 1 ? asFloat(ins[2]) : ops.mul(asFloat(ins[2]), beta));
    return [y];
  },
  Pad: (ins, ctx) => {
    const x = needFloat(ins, 0, ctx);
    const mode = attrStr(ctx, 'mode', 'constant');
    if (mode !== 'constant') throw new LrqError(`${ctx.where}: Pad mode '${mode}' is not supported (only constant)`);
    const r = x.ndim;
    let pads: number[], value = 0;
    if (ctx.opset < 11) {
      pads = attrInts(ctx, 'pads') ?? [];
      value = attrFloat(ctx, 'value', 0);
    } else {
      pads = intList(ins[1], ctx, 'pads');
      if (ins[2] && ins[2].size > 0) value = scalarOf(ins[2], ctx, 'constant_value');
    }
    const axes = ins[3] ? asInt(ins[3]).data.map((a) => normAxis(a, r, ctx.where)) : [...Array(r).keys()];
    if (pads.length !== 2 * axes.length) throw new LrqError(`${ctx.where}: pads has ${pads.length} values for ${axes.length} axes`);
    const pp: [number, number][] = Array.from({ length: r }, () => [0, 0] as [number, number]);
    axes.forEach((a, i) => {
      pp[a] = [pads[i]!, pads[i + axes.length]!];
    });
    if (pp.some(([b, e]) => b < 0 || e < 0)) throw new LrqError(`${ctx.where}: negative pads [${pads.join(', ')}] are not supported`);
    checkedNumel(x.shape.map((d, i) => d + pp[i]![0] + pp[i]![1]), () => `${ctx.where}: padded output`, MAX_RUNTIME_ELEMENTS);
    return [ops.pad(x, pp, value)];
  },
};
