// The graph part of a PyTorch-twin dump (tools/probe/student_twin.py replays it): ONNX nodes with their
// module paths and plain attributes, integer edges folded to their values traced at batch x, the float
// edges, weight bits, frozen activation ranges and BN eps of a prepared student. Rule: one description
// for both dumps (the fixture source tools/fixtures/student_twin.ts and tools/probe/student_twin_dump.ts).
import { Tensor } from '../../src/engine/tensor.js';
import type { GraphModule } from '../../src/io/onnx/index.js';
import { attributes } from '../../src/io/onnx/proto.js';
import { quantLayers } from '../../src/quant/prepare.js';
import type { ActFakeQuant } from '../../src/quant/fake_quantize.js';

/** The replayable description of `student` traced on x (the twin.json fields nodes, ints, floats, bits, acts, eps). */
export function twinGraph(student: GraphModule, x: Tensor) {
  const edges = student.traceEdges(x);
  const nodes = (student.proto.graph!.node ?? []).map((n) => {
    const attrs: Record<string, unknown> = {};
    for (const [k, v] of attributes(n)) if (typeof v === 'number' || typeof v === 'string' || Array.isArray(v)) attrs[k] = v;
    return { op: n.opType, name: n.name, inputs: n.input, outputs: n.output, attrs, path: student.nodeToModule.get(n.name ?? '') ?? null };
  });
  const ints: Record<string, number[]> = {};
  for (const [k, e] of edges) if (!e.float && e.ints) ints[k] = e.ints;
  for (const n of student.proto.graph!.node ?? []) {
    const v = n.opType === 'Constant' ? attributes(n).get('value') : undefined;
    if (v && typeof v === 'object' && 'data' in v && !(v instanceof Tensor)) ints[n.output![0]!] = [...v.data].map(Number);
  }
  const floats = [...edges].filter(([, e]) => e.float).map(([k]) => k);
  const bits: Record<string, number> = {};
  for (const l of quantLayers(student)) if (l.weightBits !== null) bits[l.path] = l.weightBits;
  const acts: Record<string, { lo: number; hi: number; bits: number }> = {};
  for (const [p, m] of student.namedModules()) if ((m as ActFakeQuant).observerEnabled === false) { const a = m as ActFakeQuant; const [lo, hi] = a.range(); acts[p] = { lo, hi, bits: a.bits }; }
  const eps: Record<string, number> = {};
  for (const [p, m] of student.namedModules()) { const e = (m as unknown as { eps?: number }).eps; if (typeof e === 'number') eps[p] = e; }
  return { nodes, ints, floats, bits, acts, eps };
}
