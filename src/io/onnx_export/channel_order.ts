// Channel shuffles folded into the convolutions around them (int8 export): each tensor keeps a *physical*
// channel order P (physical channel i holds logical channel P[i]); a shuffle Gather only changes P, a dense
// conv reads any order (its weight's input channels are permuted) and writes the order chosen for it, a
// depthwise conv carries its input's order, Slices take the physical runs of their logical range, Concats
// take their inputs in any order. Rule: every value is the same as in the unfolded graph, only stored at
// another channel position (integer accumulation is order-free), and every op this pass does not know gets
// its input put back in logical order by a Gather first — never a silently wrong channel.

import { LrqError } from '../../engine/errors.js';
import { Tensor } from '../../engine/tensor.js';
import { tensorFromProto, toNum, type NodeProto } from '../onnx/proto.js';
import { int64Tensor, intAttr, type GraphEditor } from './graph_edit.js';
import type { WeightQuant } from './spec.js';

/** Ops whose output channel c depends on input channel c alone (and on nothing else along channels). */
const PER_CHANNEL_OPS = new Set(['Relu', 'Clip', 'LeakyRelu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'MaxPool', 'AveragePool', 'Identity', 'Dropout']);

type Perm = number[];

/** What the pass did: shuffles removed, Slices split into physical runs, Gathers put back for unknown readers. */
export interface ChannelOrderReport {
  shuffles: number;
  pieces: number;
  restored: number;
}

/**
 * Fold the channel-permutation Gathers named `*_as_Gather` into the surrounding ops. `weights` (per-channel
 * ranges keyed by weight name) is updated in place for every conv whose output channels move.
 * Needs `channels(t)`: the channel count of an original tensor (from the trace).
 */
export function foldChannelOrder(ed: GraphEditor, weights: Map<string, WeightQuant>, channels: (t: string) => number | undefined, keep: ReadonlySet<string>): ChannelOrderReport {
  const report: ChannelOrderReport = { shuffles: 0, pieces: 0, restored: 0 };
  const nodes = [...(ed.graph.node ?? [])];
  const consumers = new Map<string, NodeProto[]>();
  for (const n of nodes) for (const i of n.input ?? []) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const graphOutputs = new Set((ed.graph.output ?? []).map((o) => o.name ?? ''));
  const shufflePerm = new Map<NodeProto, Perm>();
  for (const n of nodes) {
    const p = n.opType === 'Gather' && /_as_Gather$/.test(n.name ?? '') && attrInt(n, 'axis', 0) === 1 ? constInts(ed, n.input?.[1] ?? '') : null;
    const x = n.input?.[0] ?? '', y = n.output?.[0] ?? '';
    if (p && isPerm(p) && (consumers.get(x) ?? []).length === 1 && !keep.has(y) && !graphOutputs.has(y)) shufflePerm.set(n, p);
  }
  if (shufflePerm.size === 0) return report;
  // logical facts of the original graph, read before any edit moves a bound or an input
  const sliceR = new Map<NodeProto, [number, number] | null>();
  for (const n of nodes) if (n.opType === 'Slice') sliceR.set(n, sliceRange(ed, n, channels));
  const offsets = new Map<NodeProto, Map<string, number>>();
  for (const n of nodes) if (n.opType === 'Concat' && attrInt(n, 'axis', 0) === 1) {
    let off = 0;
    const m = new Map<string, number>();
    for (const u of n.input ?? []) { m.set(u, off); off += channels(u) ?? 0; }
    offsets.set(n, m);
  }
  const offsetIn = (c: NodeProto, t: string) => offsets.get(c)?.get(t) ?? 0;

  // fate(t, c): how many Concats logical channel c of tensor t passes through before a non-moving op reads it —
  // the key that orders channels so that each later Slice finds its range in one physical run
  const memo = new Map<string, number>();
  const fate = (t: string, c: number): number => {
    const key = `${t}|${c}`;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    const cs = consumers.get(t) ?? [];
    let f = 0;
    if (cs.length === 1 && shufflePerm.has(cs[0]!)) f = fate(cs[0]!.output![0]!, inverse(shufflePerm.get(cs[0]!)!)[c]!);
    else if (cs.length >= 1 && cs.every((n) => sliceR.get(n))) {
      const s = cs.map((n) => ({ n, r: sliceR.get(n)! })).find(({ r }) => r[0] <= c && c < r[1]);
      f = s ? fate(s.n.output![0]!, c - s.r[0]) : 0;
    } else if (cs.length === 1 && cs[0]!.opType === 'Concat' && attrInt(cs[0]!, 'axis', 0) === 1) {
      f = 1 + fate(cs[0]!.output![0]!, offsetIn(cs[0]!, t) + c);
    } else if (cs.length === 1 && PER_CHANNEL_OPS.has(cs[0]!.opType ?? '')) f = fate(cs[0]!.output![0]!, c);
    memo.set(key, f);
    return f;
  };

  const phys = new Map<string, Perm>(); // tensor → physical order (absent: logical order)
  const pieceOf = new Map<string, string>(); // a Slice run → the Slice output it is part of (a Concat input)
  const freeOrder = new Set<string>(); // conv outputs whose channel order was chosen for their Concat
  const isIdentity = (p: Perm) => p.every((v, i) => v === i);
  const setPhys = (t: string, p: Perm) => { if (isIdentity(p)) phys.delete(t); else phys.set(t, p); };
  // put tensor `t` back in logical order in front of `node` (a reader this pass does not know)
  const restore = (node: NodeProto, slot: number) => {
    const t = node.input![slot]!, p = phys.get(t)!;
    const idx = ed.unique(`${t}_logical_order`), out = ed.unique(`${t}_logical`);
    ed.addInit(int64Tensor(idx, inverse(p)));
    const g = ed.node('Gather', `${t}_to_logical_order`, [t, idx], [out], [intAttr('axis', 1)]);
    const list = ed.graph.node!;
    list.splice(list.indexOf(node), 0, g);
    node.input![slot] = out;
    report.restored++;
  };

  for (const node of nodes) {
    const op = node.opType ?? '';
    const x = node.input?.[0] ?? '';
    const y = node.output?.[0] ?? '';
    const P = phys.get(x);
    if (shufflePerm.has(node)) {
      // y = x[:, perm]: keep x's storage; logical channel o of y is logical channel perm[o] of x
      const inv = inverse(shufflePerm.get(node)!);
      const C = shufflePerm.get(node)!.length;
      setPhys(x, (P ?? range(C)).map((l) => inv[l]!));
      for (const c of consumers.get(y) ?? []) c.input = c.input!.map((t) => (t === y ? x : t));
      ed.graph.node = ed.graph.node!.filter((n) => n !== node);
      report.shuffles++;
      continue;
    }
    if (op === 'Slice' && P) {
      const r = sliceR.get(node) ?? null;
      const readers = consumers.get(y) ?? [];
      const toConcat = readers.length > 0 && readers.every((n) => n.opType === 'Concat' && attrInt(n, 'axis', 0) === 1) && !graphOutputs.has(y);
      if (!r) { restore(node, 0); continue; }
      const runs = physicalRuns(P, r, toConcat ? (l) => fate(y, l - r[0]) : () => 0);
      if (runs.length === 1) {
        const [a, b] = runs[0]!;
        setSliceBounds(ed, node, a, b);
        setPhys(y, P.slice(a, b).map((l) => l - r[0]));
        continue;
      }
      if (!toConcat) {
        // a conv or another reader needs the range in one tensor: a Gather of its physical positions (exact, but
        // onnxruntime keeps it in NCHW — not met in ShuffleNetV2, where every conv input is one run)
        const pos = runs.flatMap(([a, b]) => range(b - a).map((k) => a + k));
        const idx = ed.unique(`${y}_positions`);
        ed.addInit(int64Tensor(idx, pos));
        node.opType = 'Gather';
        node.input = [x, idx];
        node.attribute = [intAttr('axis', 1)];
        setPhys(y, pos.map((i) => P[i]! - r[0]));
        report.restored++;
        continue;
      }
      // several runs feeding Concats: one Slice each, taken by the Concats as separate inputs
      const parts = runs.map(([a, b], k) => {
        const out = ed.unique(`${y}_part${k}`);
        const s = ed.node('Slice', `${node.name}_part${k}`, [x, ...(node.input ?? []).slice(1)], [out]);
        setSliceBounds(ed, s, a, b);
        phys.set(out, P.slice(a, b).map((l) => l - r[0])); // kept even when in order: it carries the run's length
        pieceOf.set(out, y);
        return s;
      });
      const list = ed.graph.node!;
      list.splice(list.indexOf(node), 1, ...parts);
      report.pieces += parts.length - 1;
      for (const c of readers) c.input = c.input!.flatMap((t) => (t === y ? parts.map((s) => s.output![0]!) : [t]));
      continue;
    }
    if (op === 'Conv') {
      const w = node.input?.[1] ?? '';
      if (!ed.inits.has(w) || (consumers.get(w) ?? []).length !== 1) { if (P) restore(node, 0); continue; }
      const { data, dims } = ed.readFloat(w);
      const [O, I] = dims as [number, number];
      const inner = data.length / (O * I);
      const group = attrInt(node, 'group', 1);
      let out: Perm | null = null;
      if (group === 1) {
        if (P) ed.writeFloat(w, permuteAxis(data, O, I, inner, P, 1));
        out = chooseOrder(y, O);
      } else if (group === O && I === 1 && P) out = P; // depthwise: output channel c reads input channel c
      else if (P) { restore(node, 0); continue; }
      if (out && !isIdentity(out)) permuteOutputs(ed, node, weights, out);
      if (out) setPhys(y, out);
      continue;
    }
    if (op === 'Concat' && attrInt(node, 'axis', 0) === 1) {
      const ins = node.input ?? [];
      if (!ins.some((t) => phys.has(t) || pieceOf.has(t))) continue;
      // pieces: each input (or Slice run) with its channels in the Concat's logical numbering
      const pieces = ins.map((t) => {
        const off = offsetIn(node, pieceOf.get(t) ?? t);
        const p = phys.get(t) ?? range(channels(t) ?? 0);
        return { t, ch: p.map((l) => off + l) };
      });
      // V order: conv-written inputs (last one rightmost, ascending fate) meet the passed-on runs (descending) in the middle
      const out = y;
      const key = (ch: number[]) => Math.max(...ch.map((c) => fate(out, c)));
      const lastFree = [...pieces].reverse().find((p) => freeOrder.has(p.t));
      const left = pieces.filter((p) => p !== lastFree).sort((a, b) => key(b.ch) - key(a.ch));
      const ordered = lastFree ? [...left, lastFree] : left;
      node.input = ordered.map((p) => p.t);
      setPhys(y, ordered.flatMap((p) => p.ch));
      continue;
    }
    if (PER_CHANNEL_OPS.has(op) && P) { setPhys(y, P); continue; }
    if (op === 'Shape') continue;
    (node.input ?? []).forEach((t, slot) => { if (t && phys.has(t)) restore(node, slot); });
  }
  for (const t of graphOutputs) if (phys.has(t)) throw new LrqError(`export int8: graph output '${t}' would leave the channel-shuffle folding in a permuted channel order (a depthwise conv as the last layer is not supported)`);
  return report;

  // conv output order: the order its Concat wants (ascending fate when it is the Concat's last conv-written
  // input, descending otherwise); logical order when it does not reach a Concat through per-channel ops
  function chooseOrder(t: string, n: number): Perm | null {
    let cur = t;
    for (;;) {
      const cs = consumers.get(cur) ?? [];
      if (cs.length !== 1) return null;
      const c = cs[0]!;
      if (PER_CHANNEL_OPS.has(c.opType ?? '')) { cur = c.output![0]!; continue; }
      if (c.opType !== 'Concat' || attrInt(c, 'axis', 0) !== 1) return null;
      freeOrder.add(cur);
      const off = offsetIn(c, cur);
      const last = [...(c.input ?? [])].reverse().find((u) => convWritten(u)) === cur;
      const f = range(n).map((k) => fate(c.output![0]!, off + k));
      return range(n).sort((a, b) => (last ? f[a]! - f[b]! : f[b]! - f[a]!) || a - b);
    }
  }
  function convWritten(t: string): boolean {
    for (let p = ed.producer(t); p; p = ed.producer(p.input?.[0] ?? '')) {
      if (p.opType === 'Conv') return attrInt(p, 'group', 1) === 1;
      if (!PER_CHANNEL_OPS.has(p.opType ?? '')) return false;
    }
    return false;
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function inverse(p: Perm): Perm {
  const q = new Array<number>(p.length);
  p.forEach((v, i) => { q[v] = i; });
  return q;
}

function isPerm(p: number[]): boolean {
  const seen = new Set(p);
  return seen.size === p.length && p.every((v) => v >= 0 && v < p.length);
}

function attrInt(n: NodeProto, name: string, dflt: number): number {
  const a = n.attribute?.find((x) => x.name === name);
  return a ? toNum(a.i) : dflt;
}

/** Integer values of a constant (initializer or Constant node output), or null. */
function constInts(ed: GraphEditor, name: string): number[] | null {
  let t = ed.inits.get(name);
  if (!t) {
    const p = ed.producer(name);
    if (p?.opType === 'Constant') t = p.attribute?.find((a) => a.name === 'value')?.t ?? undefined;
  }
  if (!t) return null;
  const v = tensorFromProto(t, ed.path, ed.path);
  return v instanceof Tensor ? null : v.data.map(Number);
}

/** Logical channel range [s, e) of a Slice along axis 1 with constant bounds and step 1, or null. */
function sliceRange(ed: GraphEditor, n: NodeProto, channels: (t: string) => number | undefined): [number, number] | null {
  if (n.opType !== 'Slice') return null;
  const [, st, en, ax, sp] = n.input ?? [];
  const s = constInts(ed, st ?? ''), e = constInts(ed, en ?? ''), a = ax ? constInts(ed, ax) : [0];
  const step = sp ? constInts(ed, sp) : [1];
  const C = channels(n.input![0]!);
  if (!s || !e || !a || !step || s.length !== 1 || a[0] !== 1 || step[0] !== 1 || C === undefined) return null;
  const clamp = (v: number) => Math.max(0, Math.min(C, v < 0 ? v + C : v));
  return [clamp(s[0]!), clamp(e[0]!)];
}

function setSliceBounds(ed: GraphEditor, n: NodeProto, a: number, b: number): void {
  const s = ed.unique(`${n.name}_start`), e = ed.unique(`${n.name}_end`);
  ed.addInit(int64Tensor(s, [a]));
  ed.addInit(int64Tensor(e, [b]));
  n.input![1] = s;
  n.input![2] = e;
}

/** Maximal runs of physical positions holding logical channels in [s, e) with one `key` value each. */
function physicalRuns(P: Perm, [s, e]: [number, number], key: (l: number) => number): [number, number][] {
  const runs: [number, number][] = [];
  for (let i = 0; i < P.length; i++) {
    const l = P[i]!;
    if (l < s || l >= e) continue;
    const last = runs[runs.length - 1];
    if (last && last[1] === i && key(P[i - 1]!) === key(l)) last[1] = i + 1;
    else runs.push([i, i + 1]);
  }
  return runs;
}

/** W'[o][i] = W[o][P[i]] (axis 1) for a [O, I, …] weight. */
function permuteAxis(w: Float32Array, O: number, I: number, inner: number, P: Perm, axis: 0 | 1): Float32Array {
  const out = new Float32Array(w.length);
  for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) {
    const src = axis === 1 ? (o * I + P[i]!) * inner : (P[o]! * I + i) * inner;
    out.set(w.subarray(src, src + inner), (o * I + i) * inner);
  }
  return out;
}

/** Output channel o of the conv becomes its logical channel Q[o]: weight rows, bias and per-channel ranges. */
function permuteOutputs(ed: GraphEditor, node: NodeProto, weights: Map<string, WeightQuant>, Q: Perm): void {
  const w = node.input![1]!, b = node.input?.[2];
  const { data, dims } = ed.readFloat(w);
  const [O, I] = dims as [number, number];
  ed.writeFloat(w, permuteAxis(data, O, I, data.length / (O * I), Q, 0));
  if (b && ed.inits.has(b)) {
    const bias = ed.readFloat(b).data;
    ed.writeFloat(b, Float32Array.from(Q, (l) => bias[l]!));
  }
  const q = weights.get(w);
  if (q) weights.set(w, { ...q, ...(q.lo ? { lo: Float32Array.from(Q, (l) => q.lo![l]!) } : {}), ...(q.hi ? { hi: Float32Array.from(Q, (l) => q.hi![l]!) } : {}) });
}
