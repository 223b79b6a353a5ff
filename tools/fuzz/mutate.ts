// Seeded mutants of ONNX files and datasets for the fuzz harness (tools/fuzz/run.ts). A case is named
// `<family>:<seed>:<index>`; its bytes depend only on that id, so any failure is reproduced from the id.
// Rule: byte noise (bit flips, truncation, random bytes, 0xff runs) and structured edits through the
// onnx-proto decoder (dims, dtypes, initializers, cycles, opsets, attributes) are both generated.

import { existsSync, mkdirSync, readFileSync, writeFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import { Rng } from '../../src/engine/random.js';
import { onnx, type ModelProto } from '../../src/io/onnx/proto.js';
import type onnxProto from 'onnx-proto';
import { encodePng } from '../../src/io/images.js';
import { gzipSync } from 'node:zlib';
import { greyModel } from '../../test/grey_model.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// the staged data sits beside the checkout (../shared/data); a git worktree elsewhere names it in LRQ_DATA
const DATA = process.env['LRQ_DATA'] ?? (existsSync(join(ROOT, '../shared/data')) ? join(ROOT, '../shared/data') : '/work/shared/data');

/** ONNX seed models: `eval` ones go through `lrq eval` on CIFAR-10, `import` ones through loadOnnx + forward. */
export const ONNX_SEEDS: { name: string; path: string; mode: 'eval' | 'import'; weight: number }[] = [
  { name: 'resnet20', path: join(DATA, 'models/akamaster_cifar10/resnet20_cifar10_akamaster.onnx'), mode: 'eval', weight: 4 },
  { name: 'shufflenet', path: join(DATA, 'models/chenyaofo_cifar10/shufflenetv2_x0_5_cifar10_chenyaofo.onnx'), mode: 'eval', weight: 2 },
  { name: 'ops_tiny', path: join(ROOT, 'test/fixtures/onnx_ops_tiny.onnx'), mode: 'import', weight: 2 },
  { name: 'ops_tiny11', path: join(ROOT, 'test/fixtures/onnx_ops_tiny_opset11.onnx'), mode: 'import', weight: 1 },
  { name: 'mbv2_tiny', path: join(ROOT, 'test/fixtures/onnx_mbv2_tiny.onnx'), mode: 'import', weight: 1 },
];
export const CIFAR_TEST = join(DATA, 'cifar10/cifar10-test-yoongikim-jpeg-q75.bin');
/** The model dataset mutants are evaluated with. */
export const DATA_MODEL = ONNX_SEEDS[0]!.path;

/** A materialized case: what to run and where its files are. */
export interface Materialized {
  id: string;
  /** Short name of the mutation (for the summary). */
  mutation: string;
  kind: 'onnx' | 'data' | 'idx';
  /** `eval`: runEval(model, data) (IDX cases too, with a grey 28×28 model); `import`: loadOnnx(model) + forward on a batch of the declared input. */
  mode: 'eval' | 'import';
  model: string;
  data: string;
}

/** A 32-bit seed for (seed, index) so neighbouring cases get unrelated streams. */
function caseRng(seed: number, index: number, salt: number): Rng {
  return new Rng(((seed * 1000003) ^ (index * 2654435761) ^ salt) >>> 0);
}

class R {
  constructor(readonly rng: Rng) {}
  int(n: number): number {
    return Math.floor(this.rng.random() * n);
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.rng.random() < p;
  }
}

// ---- byte-level noise -----------------------------------------------------------------------------

function bitFlips(r: R, b: Uint8Array): Uint8Array {
  const out = Uint8Array.from(b);
  const k = r.pick([1, 1, 2, 4, 8, 32, 256]);
  for (let i = 0; i < k; i++) out[r.int(out.length)]! ^= 1 << r.int(8);
  return out;
}
function truncate(r: R, b: Uint8Array): Uint8Array {
  const cut = r.chance(0.3) ? r.int(64) : r.chance(0.3) ? b.length - 1 - r.int(64) : r.int(b.length);
  return b.subarray(0, Math.max(0, cut));
}
function span(r: R, b: Uint8Array, fill: (i: number) => number): Uint8Array {
  const out = Uint8Array.from(b);
  const len = r.pick([1, 4, 16, 64, 1024, 8192]);
  const at = r.int(Math.max(1, out.length - len));
  for (let i = 0; i < len && at + i < out.length; i++) out[at + i] = fill(i);
  return out;
}
function insertDelete(r: R, b: Uint8Array): Uint8Array {
  const at = r.int(b.length);
  const len = r.pick([1, 3, 16, 200]);
  if (r.chance(0.5)) return Uint8Array.from([...b.subarray(0, at), ...b.subarray(Math.min(b.length, at + len))]);
  const ins = Array.from({ length: len }, () => r.int(256));
  return Uint8Array.from([...b.subarray(0, at), ...ins, ...b.subarray(at)]);
}

/** Byte-noise mutations shared by every file format. */
const BYTE_MUTATIONS: Record<string, (r: R, b: Uint8Array) => Uint8Array> = {
  bitflip: bitFlips,
  truncate,
  random_bytes: (r, b) => span(r, b, () => r.int(256)),
  ff_run: (r, b) => span(r, b, () => 0xff),
  zero_run: (r, b) => span(r, b, () => 0),
  insert_delete: insertDelete,
};

// ---- structured ONNX mutations --------------------------------------------------------------------

const DT = onnx.TensorProto.DataType;
const HUGE = [1e12, 2 ** 31, 2 ** 32 + 1, 2 ** 53, 2 ** 62, 2 ** 63, 65536 * 65536];
const BAD_INTS = [0, -1, -2, 1e9, -1e9, 2 ** 31, 2 ** 62, -(2 ** 63), 65537];

type Mut = (r: R, m: ModelProto) => void;
type AnyObj = Record<string, unknown>;

function inits(m: ModelProto): onnxProto.onnx.ITensorProto[] {
  return m.graph?.initializer ?? [];
}
function nodes(m: ModelProto): onnxProto.onnx.INodeProto[] {
  // a graph removed by an earlier mutation of the same case comes back empty, so later mutations still apply
  m.graph ??= { node: [] };
  m.graph.node ??= [];
  return m.graph.node;
}
function anyInit(r: R, m: ModelProto): onnxProto.onnx.ITensorProto | undefined {
  const t = inits(m);
  return t.length ? r.pick(t) : undefined;
}
/** Tensors held by Constant nodes' `value` attributes. */
function constTensors(m: ModelProto): onnxProto.onnx.ITensorProto[] {
  return nodes(m).flatMap((n) => (n.attribute ?? []).filter((a) => a.t).map((a) => a.t!));
}
function anyTensor(r: R, m: ModelProto): onnxProto.onnx.ITensorProto | undefined {
  const all = [...inits(m), ...constTensors(m)];
  return all.length ? r.pick(all) : undefined;
}

const ONNX_STRUCT: Record<string, Mut> = {
  // a tensor whose dims claim 10^12+ elements (data unchanged): must be refused before any allocation
  huge_dims: (r, m) => {
    const t = anyTensor(r, m);
    if (t) t.dims = r.pick([[1e6, 1e6], [r.pick(HUGE)], [65536, 65536, 3], [1e4, 1e4, 1e4, 1e4]]);
  },
  negative_dims: (r, m) => {
    const t = anyTensor(r, m);
    if (!t) return;
    const d = [...(t.dims ?? [1])].map(Number);
    d[r.int(Math.max(1, d.length))] = r.pick([-1, -3, -(2 ** 40), -(2 ** 63)]);
    t.dims = d;
  },
  wrong_dims: (r, m) => {
    const t = anyTensor(r, m);
    if (!t) return;
    const d = [...(t.dims ?? [])].map(Number);
    const how = r.int(5);
    if (how === 0) d.push(1);
    else if (how === 1) d.pop();
    else if (how === 2) d.reverse();
    else if (how === 3 && d.length) d[r.int(d.length)] = 0;
    else t.dims = [d.reduce((a, b) => a * b, 1)];
    if (how !== 4) t.dims = d;
  },
  // dims rearranged with the same element count (data length checks pass; shape checks must catch it)
  permuted_dims: (r, m) => {
    const t = anyTensor(r, m);
    if (!t || !t.dims || t.dims.length < 2) return;
    const d = t.dims.map(Number);
    const n = d.reduce((a, b) => a * b, 1);
    t.dims = r.chance(0.5) ? [n, 1] : [1, ...d.slice(1), d[0]!];
  },
  wrong_dtype: (r, m) => {
    const t = anyTensor(r, m);
    if (t) t.dataType = r.pick([0, DT.UINT8, DT.INT8, DT.INT64, DT.DOUBLE, DT.FLOAT16, DT.STRING, DT.BOOL, DT.COMPLEX64, DT.BFLOAT16, 21, 22, 23, 99, -1]);
  },
  short_raw: (r, m) => {
    const t = anyTensor(r, m);
    if (!t || !t.rawData || !t.rawData.length) return;
    t.rawData = t.rawData.subarray(0, r.pick([0, 1, t.rawData.length - 1, t.rawData.length >> 1]));
  },
  raw_to_typed: (r, m) => {
    const t = anyTensor(r, m);
    if (!t) return;
    t.rawData = new Uint8Array();
    if (r.chance(0.5)) t.floatData = [1, 2, 3];
  },
  external_data: (r, m) => {
    const t = anyInit(r, m);
    if (!t) return;
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    const loc = r.pick(['missing.bin', '../../../../../etc/hostname', '/dev/zero', '/proc/self/mem', '', '.', '/dev/null']);
    const kv = [{ key: 'location', value: loc }];
    if (r.chance(0.5)) kv.push({ key: 'offset', value: String(r.pick([-1, 1e15, 0, 3.5, NaN])) });
    if (r.chance(0.5)) kv.push({ key: 'length', value: String(r.pick([-8, 1e15, 12, 0, 'x'])) });
    t.externalData = kv;
  },
  missing_initializer: (r, m) => {
    const t = inits(m);
    if (t.length) t.splice(r.int(t.length), 1);
  },
  duplicate_initializer: (r, m) => {
    const t = anyInit(r, m);
    const u = anyInit(r, m);
    if (t && u && t !== u) u.name = t.name;
  },
  cycle: (r, m) => {
    const ns = nodes(m);
    if (ns.length < 2) return;
    const i = r.int(ns.length - 1), j = r.range(i, ns.length - 1);
    const ins = ns[i]!.input ?? [];
    const outs = ns[j]!.output ?? [];
    if (ins.length && outs.length) ins[r.int(ins.length)] = outs[0]!;
  },
  self_loop: (r, m) => {
    const n = r.pick(nodes(m));
    if (n.input?.length && n.output?.length) n.input[0] = n.output[0]!;
  },
  duplicate_output: (r, m) => {
    const a = r.pick(nodes(m)), b = r.pick(nodes(m));
    if (a.output?.length && b.output?.length) b.output[0] = a.output[0]!;
  },
  dangling_input: (r, m) => {
    const n = r.pick(nodes(m));
    if (n.input?.length) n.input[r.int(n.input.length)] = r.pick(['nowhere', '', 'input', n.name ?? 'x']);
  },
  drop_node: (r, m) => {
    const ns = nodes(m);
    ns.splice(r.int(ns.length), 1);
  },
  extra_inputs: (r, m) => {
    const n = r.pick(nodes(m));
    n.input = [...(n.input ?? []), ...Array.from({ length: r.range(1, 5) }, () => r.pick(['', 'input', ...(m.graph!.initializer ?? []).map((t) => t.name ?? '')]))];
  },
  no_inputs: (r, m) => {
    const n = r.pick(nodes(m));
    n.input = r.chance(0.5) ? [] : [''];
  },
  no_outputs: (r, m) => {
    const n = r.pick(nodes(m));
    n.output = r.chance(0.5) ? [] : [''];
  },
  op_swap: (r, m) => {
    const n = r.pick(nodes(m));
    n.opType = r.pick(['Conv', 'BatchNormalization', 'Relu', 'Gemm', 'MatMul', 'Add', 'Concat', 'Reshape', 'Slice', 'Pad', 'Gather', 'ConstantOfShape', 'Transpose', 'Flatten', 'Squeeze', 'Unsqueeze', 'Softmax', 'AveragePool', 'MaxPool', 'GlobalAveragePool', 'Constant', 'Shape', 'Cast', 'Clip', 'Pow', 'Identity', 'ReduceMean']);
  },
  op_unknown: (r, m) => {
    const n = r.pick(nodes(m));
    if (r.chance(0.5)) n.opType = r.pick(['NotAnOp', '', 'Loop', 'If', 'Scan', 'QuantizeLinear', 'Resize', 'Einsum', '\u0000\uffff']);
    else n.domain = r.pick(['com.microsoft', 'ai.onnx.ml', 'x']);
  },
  opset: (r, m) => {
    const v = r.pick([0, 1, 5, 6, 7, 9, 10, 11, 12, 13, 18, 21, 22, 99, 2 ** 31, 2 ** 53, 2 ** 62, -1, -(2 ** 63)]);
    if (r.chance(0.15)) m.opsetImport = [];
    else if (r.chance(0.15)) m.opsetImport = [{ domain: '', version: v }, { domain: 'ai.onnx', version: r.pick([1, 99]) }];
    else m.opsetImport = [{ domain: r.chance(0.8) ? '' : 'ai.onnx', version: v }];
    if (r.chance(0.2)) m.irVersion = r.pick([0, -1, 99, 2 ** 62]);
  },
  attr_value: (r, m) => {
    const withAttrs = nodes(m).filter((n) => n.attribute?.length);
    if (!withAttrs.length) return;
    const a = r.pick(r.pick(withAttrs).attribute!);
    const AT = onnx.AttributeProto.AttributeType;
    if (a.type === AT.INT) a.i = r.pick(BAD_INTS);
    else if (a.type === AT.INTS) {
      const v = [...(a.ints ?? [])].map(Number);
      const how = r.int(4);
      if (how === 0) a.ints = [];
      else if (how === 1) a.ints = [...v, r.pick(BAD_INTS)];
      else if (how === 2 && v.length) { v[r.int(v.length)] = r.pick(BAD_INTS); a.ints = v; }
      else a.ints = v.map(() => r.pick(BAD_INTS));
    } else if (a.type === AT.FLOAT) a.f = r.pick([NaN, Infinity, -Infinity, 0, -1, 1e38]);
    else if (a.type === AT.STRING) a.s = Buffer.from(r.pick(['SAME_UPPER', 'SAME_LOWER', 'VALID', 'reflect', 'edge', '', 'nonsense']));
    else if (a.type === AT.TENSOR && a.t) a.t.dims = r.pick([[1e6, 1e6], [-1], [0], [2, 2]]);
  },
  attr_type: (r, m) => {
    const withAttrs = nodes(m).filter((n) => n.attribute?.length);
    if (!withAttrs.length) return;
    const a = r.pick(r.pick(withAttrs).attribute!);
    a.type = r.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 99]) as onnxProto.onnx.AttributeProto.AttributeType; // 99: no such type, on purpose
  },
  attr_drop: (r, m) => {
    const withAttrs = nodes(m).filter((n) => n.attribute?.length);
    if (!withAttrs.length) return;
    const n = r.pick(withAttrs);
    n.attribute!.splice(r.int(n.attribute!.length), 1);
  },
  // windows that make no sense: stride 0, huge kernels and dilations, negative pads, group 0
  conv_attrs: (r, m) => {
    const convs = nodes(m).filter((n) => ['Conv', 'MaxPool', 'AveragePool'].includes(n.opType ?? ''));
    if (!convs.length) return;
    const n = r.pick(convs);
    const AT = onnx.AttributeProto.AttributeType;
    const name = r.pick(['strides', 'dilations', 'pads', 'kernel_shape', 'group']);
    const val = r.pick(BAD_INTS);
    const attr = name === 'group' ? { name, type: AT.INT, i: val } : { name, type: AT.INTS, ints: name === 'pads' ? [val, 0, val, 0] : [val, r.pick([1, val])] };
    n.attribute = [...(n.attribute ?? []).filter((a) => a.name !== name), attr];
  },
  // shape subgraph inputs (Reshape targets, Pad amounts, ConstantOfShape shapes) set to extreme values
  shape_values: (r, m) => {
    const ints = [...inits(m), ...constTensors(m)].filter((t) => t.dataType === DT.INT64);
    if (!ints.length) return;
    const t = r.pick(ints);
    const n = Math.max(1, (t.dims ?? []).map(Number).reduce((a, b) => a * b, 1));
    const buf = Buffer.alloc(8 * n);
    for (let i = 0; i < n; i++) buf.writeBigInt64LE(BigInt(r.pick([0, -1, 1, 1e6, 1e9, 2 ** 40, -(2 ** 40), 3, 7])), 8 * i);
    t.rawData = buf;
    t.int64Data = [];
  },
  graph_input: (r, m) => {
    const inp = m.graph!.input?.[0];
    const dims = inp?.type?.tensorType?.shape?.dim;
    if (!inp || !dims) return;
    const how = r.int(6);
    if (how === 0) dims[r.int(dims.length)] = { dimValue: r.pick([0, -1, 1e6, 2 ** 40, 65536]) };
    else if (how === 1) dims.pop();
    else if (how === 2) dims.push({ dimValue: 2 });
    else if (how === 3) dims[1] = { dimValue: r.pick([1, 4, 1000]) };
    else if (how === 4) m.graph!.input = [];
    else m.graph!.input = [inp, { ...inp, name: 'second' }];
  },
  graph_output: (r, m) => {
    const out = m.graph!.output?.[0];
    if (out) out.name = r.pick(['nowhere', '', 'input', ...(m.graph!.initializer ?? []).slice(0, 3).map((t) => t.name ?? '')]);
  },
  empty_graph: (r, m) => {
    const how = r.int(3);
    if (how === 0) m.graph!.node = [];
    else if (how === 1) m.graph!.output = [];
    else m.graph = null;
  },
  metadata: (r, m) => {
    const v = r.pick(['NaN,NaN,NaN', '0,0,0', '1,2', '', '[', '1e400,1,1', '-1,-1,-1', 'a,b,c', '0.5,0.5,0.5,0.5']);
    m.metadataProps = [{ key: 'normalize_mean', value: r.chance(0.5) ? v : '0.5,0.5,0.5' }, { key: 'normalize_std', value: r.chance(0.5) ? v : '0.25,0.25,0.25' }];
  },
};

/** Several structured edits at once (interactions of the single ones). */
function multi(r: R, m: ModelProto): string[] {
  const names = Object.keys(ONNX_STRUCT);
  const k = r.range(2, 4);
  const done: string[] = [];
  for (let i = 0; i < k; i++) {
    const n = r.pick(names);
    ONNX_STRUCT[n]!(r, m);
    done.push(n);
  }
  return done;
}

const seedBytes = new Map<string, Uint8Array>();
function readSeed(path: string): Uint8Array {
  let b = seedBytes.get(path);
  if (!b) seedBytes.set(path, (b = readFileSync(path)));
  return b;
}

/** The ONNX mutant `onnx:seed:index`: its bytes and the mutation's name. */
export function onnxMutant(seed: number, index: number): { bytes: Uint8Array; mutation: string; seedModel: (typeof ONNX_SEEDS)[number] } {
  const r = new R(caseRng(seed, index, 0x0a11));
  const total = ONNX_SEEDS.reduce((a, s) => a + s.weight, 0);
  let w = r.int(total);
  const seedModel = ONNX_SEEDS.find((s) => (w -= s.weight) < 0)!;
  const src = readSeed(seedModel.path);
  // a third byte noise, the rest structured (single or combined) edits through the decoder
  if (r.chance(1 / 3)) {
    const name = r.pick(Object.keys(BYTE_MUTATIONS));
    return { bytes: BYTE_MUTATIONS[name]!(r, src), mutation: `bytes.${name}`, seedModel };
  }
  const m = onnx.ModelProto.decode(src);
  let mutation: string;
  if (r.chance(0.15)) mutation = `multi(${multi(r, m).join('+')})`;
  else {
    const name = r.pick(Object.keys(ONNX_STRUCT));
    ONNX_STRUCT[name]!(r, m);
    mutation = name;
  }
  let bytes = onnx.ModelProto.encode(m).finish();
  // now and then a structured edit is followed by a little byte noise
  if (r.chance(0.1)) bytes = bitFlips(r, bytes);
  return { bytes, mutation, seedModel };
}

// ---- datasets -------------------------------------------------------------------------------------

const REC = 1 + 3072;
let cifarHead: Uint8Array | null = null;
/** The first 100 records of the CIFAR-10 test file, spread over classes by taking every 100th. */
function cifarRecords(): Uint8Array {
  if (!cifarHead) {
    const all = readFileSync(CIFAR_TEST);
    const out = new Uint8Array(100 * REC);
    for (let i = 0; i < 100; i++) out.set(all.subarray(i * 100 * REC, (i * 100 + 1) * REC), i * REC);
    cifarHead = out;
  }
  return cifarHead;
}
/** A [32, 32] RGB image from CIFAR record i (CHW planes → HWC). */
function cifarImage(i: number): { width: number; height: number; data: Uint8Array } {
  const rec = cifarRecords().subarray(i * REC + 1, (i + 1) * REC);
  const data = new Uint8Array(32 * 32 * 3);
  for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) data[3 * p + c] = rec[c * 1024 + p]!;
  return { width: 32, height: 32, data };
}
function toRgba(img: { width: number; height: number; data: Uint8Array }): Uint8Array {
  const n = img.width * img.height;
  const out = new Uint8Array(4 * n);
  for (let i = 0; i < n; i++) out.set([img.data[3 * i]!, img.data[3 * i + 1]!, img.data[3 * i + 2]!, 255], 4 * i);
  return out;
}
function jpegBytes(img: { width: number; height: number; data: Uint8Array }): Uint8Array {
  return jpeg.encode({ width: img.width, height: img.height, data: toRgba(img) }, 90).data;
}
function solid(w: number, h: number): { width: number; height: number; data: Uint8Array } {
  return { width: w, height: h, data: new Uint8Array(w * h * 3).fill(128) };
}

/** Big-endian CRC-32 as PNG chunks use it. */
function crc32(b: Uint8Array): number {
  let c = ~0;
  for (let i = 0; i < b.length; i++) {
    c ^= b[i]!;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
/** A PNG whose IHDR claims w×h (CRC fixed so the decoder believes it) over a 32×32 image's data. */
function lyingPng(w: number, h: number, extra?: (ihdr: Buffer) => void): Uint8Array {
  const png = Buffer.from(encodePng(cifarImage(0)));
  // signature (8) + length (4) + "IHDR" (4) + 13 data bytes + CRC (4)
  png.writeUInt32BE(w, 16);
  png.writeUInt32BE(h, 20);
  extra?.(png);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}
/** A JPEG whose SOF0 frame header claims w×h. */
function lyingJpeg(w: number, h: number): Uint8Array {
  const b = Buffer.from(jpegBytes(cifarImage(1)));
  for (let i = 2; i + 9 < b.length; i++) {
    if (b[i] === 0xff && (b[i + 1] === 0xc0 || b[i + 1] === 0xc2)) {
      b.writeUInt16BE(h & 0xffff, i + 5);
      b.writeUInt16BE(w & 0xffff, i + 7);
      break;
    }
  }
  return b;
}

/** Write a valid 10-class image folder (2 images per class) and return its file list. */
function imageFolder(dir: string, r: R, fmt: 'png' | 'jpg' | 'mixed'): string[] {
  const files: string[] = [];
  for (let c = 0; c < 10; c++) {
    mkdirSync(join(dir, `c${c}`), { recursive: true });
    for (let k = 0; k < 2; k++) {
      const img = cifarImage(c * 10 + k);
      const f = fmt === 'mixed' ? r.pick(['png', 'jpg']) : fmt;
      const p = join(dir, `c${c}`, `${k}.${f}`);
      writeFileSync(p, f === 'png' ? encodePng(img) : jpegBytes(img));
      files.push(p);
    }
  }
  return files;
}

type DataMut = (r: R, dir: string) => string;

const CIFAR_MUT: Record<string, DataMut> = {
  short_record: (r, dir) => write(dir, 'c.bin', cifarRecords().subarray(0, r.range(1, 20) * REC - r.range(1, REC - 1))),
  extra_bytes: (r, dir) => write(dir, 'c.bin', Uint8Array.from([...cifarRecords().subarray(0, 10 * REC), ...new Uint8Array(r.range(1, 3000))])),
  label_out_of_range: (r, dir) => {
    const b = Uint8Array.from(cifarRecords().subarray(0, 20 * REC));
    b[r.int(20) * REC] = r.pick([10, 11, 99, 255, 128]);
    return write(dir, 'c.bin', b);
  },
  zero_bytes: (_r, dir) => write(dir, 'c.bin', new Uint8Array()),
  one_record: (_r, dir) => write(dir, 'c.bin', cifarRecords().subarray(0, REC)),
  label_only: (_r, dir) => write(dir, 'c.bin', Uint8Array.of(3)),
  random_records: (r, dir) => write(dir, 'c.bin', Uint8Array.from({ length: 8 * REC }, (_, i) => (i % REC === 0 ? r.int(10) : r.int(256)))),
  ff_records: (_r, dir) => write(dir, 'c.bin', new Uint8Array(4 * REC).fill(0xff)),
  bytes: (r, dir) => {
    const name = r.pick(Object.keys(BYTE_MUTATIONS));
    return write(dir, 'c.bin', BYTE_MUTATIONS[name]!(r, cifarRecords().subarray(0, 20 * REC)));
  },
  directory: (_r, dir) => {
    mkdirSync(join(dir, 'c.bin'));
    return join(dir, 'c.bin');
  },
  missing: (_r, dir) => join(dir, 'nothing.bin'),
  dangling_symlink: (_r, dir) => {
    symlinkSync(join(dir, 'gone'), join(dir, 'c.bin'));
    return join(dir, 'c.bin');
  },
};

function write(dir: string, name: string, b: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, b);
  return p;
}

/** Corrupt one image of a valid folder in a given way. */
const IMAGE_MUT: Record<string, (r: R, file: string) => void> = {
  zero_bytes: (_r, f) => writeFileSync(f, new Uint8Array()),
  truncated: (r, f) => {
    const b = readFileSync(f);
    writeFileSync(f, b.subarray(0, r.pick([1, 4, 9, 33, 60, b.length >> 1, b.length - 1])));
  },
  bitflip: (r, f) => writeFileSync(f, bitFlips(r, readFileSync(f))),
  random_bytes: (r, f) => writeFileSync(f, span(r, readFileSync(f), () => r.int(256))),
  ff_run: (r, f) => writeFileSync(f, span(r, readFileSync(f), () => 0xff)),
  not_an_image: (r, f) => writeFileSync(f, r.pick(['hello', '\x89PNG', '\xff\xd8', 'GIF89a'])),
  wrong_size: (r, f) => {
    const [w, h] = r.pick([[33, 32], [32, 31], [16, 16], [1, 1], [64, 64], [32, 1], [1000, 1]]) as [number, number];
    writeFileSync(f, f.endsWith('.png') ? encodePng(solid(w, h)) : jpegBytes(solid(w, h)));
  },
  // headers that claim gigapixel images: the decoder must refuse before allocating
  huge_header: (r, f) => {
    const [w, h] = r.pick([[100000, 100000], [65535, 65535], [2 ** 31 - 1, 1], [1, 2 ** 31 - 1], [0, 32], [32, 0], [2 ** 32 - 1, 2 ** 32 - 1], [20000, 20000]]) as [number, number];
    writeFileSync(f, f.endsWith('.png') ? lyingPng(w, h) : lyingJpeg(w, h));
  },
  png_odd_format: (r, f) => {
    // IHDR bit depth / colour type the data does not match
    writeFileSync(f, lyingPng(32, 32, (b) => {
      b[24] = r.pick([1, 2, 4, 16, 7, 0]);
      b[25] = r.pick([0, 3, 4, 6, 5, 1]);
      if (r.chance(0.3)) b[28] = r.pick([1, 2]);
    }));
  },
  wrong_extension: (_r, f) => writeFileSync(f, f.endsWith('.png') ? jpegBytes(cifarImage(3)) : encodePng(cifarImage(3))),
  directory_named_image: (_r, f) => {
    writeFileSync(f + '.tmp', '');
    mkdirSync(f.replace(/\.(png|jpg)$/, '_d.png'), { recursive: true });
  },
};

const FOLDER_MUT: Record<string, (r: R, dir: string, files: string[]) => void> = {
  empty_class: (_r, dir) => mkdirSync(join(dir, 'c_empty')),
  no_classes: (_r, dir, files) => {
    for (const f of files) writeFileSync(f, '');
    for (let c = 0; c < 10; c++) mkdirSync(join(dir, `c${c}`), { recursive: true });
  },
  many_classes: (_r, dir) => {
    // more class folders than the model has outputs
    for (let c = 10; c < 13; c++) {
      mkdirSync(join(dir, `c${c}`));
      writeFileSync(join(dir, `c${c}`, 'x.png'), encodePng(cifarImage(c)));
    }
  },
  dangling_image_link: (_r, dir) => symlinkSync(join(dir, 'gone.png'), join(dir, 'c0', 'zz.png')),
};

/** The dataset mutant `data:seed:index` written under `dir`: the path to evaluate and the mutation's name. */
export function dataMutant(seed: number, index: number, dir: string): { path: string; mutation: string } {
  const r = new R(caseRng(seed, index, 0xda7a));
  mkdirSync(dir, { recursive: true });
  if (r.chance(0.35)) {
    const name = r.pick(Object.keys(CIFAR_MUT));
    return { path: CIFAR_MUT[name]!(r, dir), mutation: `cifar.${name}` };
  }
  const root = join(dir, 'folder');
  const files = imageFolder(root, r, r.pick(['png', 'jpg', 'mixed']));
  if (r.chance(0.15)) {
    const name = r.pick(Object.keys(FOLDER_MUT));
    FOLDER_MUT[name]!(r, root, files);
    return { path: root, mutation: `folder.${name}` };
  }
  const name = r.pick(Object.keys(IMAGE_MUT));
  const k = r.chance(0.8) ? 1 : r.range(2, 5);
  for (let i = 0; i < k; i++) IMAGE_MUT[name]!(r, r.pick(files));
  return { path: root, mutation: `image.${name}` };
}

/** IDX mutations: headers that lie (dims, rank, dtype, magic, counts), payload and label faults, gzip faults. */
const IDX_MUTATIONS = ['valid', 'dims_huge', 'dims_short', 'dims_long', 'rank', 'dtype', 'magic', 'label_count', 'label_range', 'zero_dim', 'truncated', 'empty',
  'labels_missing', 'labels_magic', 'gz_flip', 'gz_truncated', 'gz_trailer', 'gz_lie', 'gz_labels_flip', 'gz_garbage'] as const;

/**
 * IDX (MNIST) file pairs, 8 images of 28×28, named like the real files (optional train-/t10k- prefix, either
 * file gzip or plain), with one mutation from IDX_MUTATIONS; evaluated by `lrq eval` with a grey 28×28 model.
 */
export function idxMutant(seed: number, index: number, dir: string): { path: string; mutation: string } {
  const r = new R(caseRng(seed, index, 0x1d8));
  mkdirSync(dir, { recursive: true });
  const n = 8, h = 28, w = 28;
  const header = (magicType: number, dims: number[]) => {
    const b = Buffer.alloc(4 + 4 * dims.length);
    b.writeUInt16BE(0, 0);
    b[2] = magicType;
    b[3] = dims.length;
    dims.forEach((d, i) => b.writeUInt32BE(d >>> 0, 4 + 4 * i));
    return b;
  };
  let imgDims = [n, h, w], lblDims = [n], imgType = 0x08, lblRank = 1, payload = n * h * w;
  const mutation = r.pick(IDX_MUTATIONS);
  let magic0 = 0;
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  let imgGz = r.chance(0.5), lblGz = r.chance(0.5);
  if (mutation.startsWith('gz_')) imgGz = true;
  if (mutation === 'gz_labels_flip') lblGz = true;
  switch (mutation) {
    case 'dims_huge': imgDims = [r.pick([2 ** 32 - 1, 1e6, 60000]), r.pick([28, 65535]), r.pick([28, 65535])]; break;
    case 'dims_short': payload -= r.range(1, 700); break;
    case 'dims_long': payload += r.range(1, 700); break;
    case 'rank': imgDims = r.pick([[n], [n, h * w], [n, 1, h, w], [n, h, w, 1, 1, 1], []]); break;
    case 'dtype': imgType = r.pick([0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0x00, 0xff]); break;
    case 'magic': magic0 = r.pick([1, 0xffff, 0x0801]); break;
    case 'label_count': lblDims = [n + r.pick([-3, 1, 1000])]; break;
    case 'label_range': labels[r.int(n)] = r.pick([10, 255]); break;
    case 'labels_magic': lblRank = r.pick([0, 2, 3]); break;
    case 'zero_dim': imgDims = [0, h, w]; payload = 0; break;
    case 'truncated': payload = 0; break;
    case 'gz_lie': imgDims = [r.pick([n + 1, n - 1, 60000, 2 ** 32 - 1]), h, w]; break;
    default: break;
  }
  const img = Buffer.concat([header(imgType, imgDims), Buffer.from(Uint8Array.from({ length: Math.max(0, payload) }, () => r.int(256)))]);
  if (magic0) img.writeUInt16BE(magic0 & 0xffff, 0);
  const lblHeader = header(0x08, lblRank === 1 ? lblDims : new Array<number>(lblRank).fill(n));
  const lbl = Buffer.concat([lblHeader, Buffer.from(labels)]);
  let imgBytes: Uint8Array = imgGz ? gzipSync(img) : img;
  let lblBytes: Uint8Array = lblGz ? gzipSync(lbl) : lbl;
  const flip = (b: Uint8Array) => {
    const out = Uint8Array.from(b);
    const k = r.range(1, 6);
    for (let i = 0; i < k; i++) out[r.range(10, out.length - 1)]! ^= 1 << r.int(8);
    return out;
  };
  switch (mutation) {
    case 'empty': imgBytes = new Uint8Array(); break;
    case 'gz_flip': imgBytes = flip(imgBytes); break;
    case 'gz_truncated': imgBytes = imgBytes.subarray(0, r.range(0, imgBytes.length - 1)); break;
    case 'gz_trailer': {
      const b = Buffer.from(imgBytes);
      b.writeUInt32LE(r.pick([0, 1, 0xffffffff, b.readUInt32LE(b.length - 4) + 1]), b.length - 4);
      imgBytes = b;
      break;
    }
    case 'gz_labels_flip': lblBytes = flip(lblBytes); break;
    case 'gz_garbage': imgBytes = Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from(Uint8Array.from({ length: r.range(0, 200) }, () => r.int(256)))]); break;
    default: break;
  }
  const prefix = r.pick(['', 'train-', 't10k-']);
  const imgPath = join(dir, `${prefix}images-idx3-ubyte${imgGz ? '.gz' : ''}`);
  writeFileSync(imgPath, imgBytes);
  if (mutation !== 'labels_missing') writeFileSync(join(dir, `${prefix}labels-idx1-ubyte${lblGz ? '.gz' : ''}`), lblBytes);
  return { path: imgPath, mutation: `idx.${mutation}` };
}

/** Write case `id` (`onnx:S:I`, `data:S:I` or `idx:S:I`) under `dir`; returns what to run. */
export function materialize(id: string, dir: string): Materialized {
  const [kind, s, i] = id.split(':') as ['onnx' | 'data' | 'idx', string, string];
  const seed = Number(s), index = Number(i);
  mkdirSync(dir, { recursive: true });
  if (kind === 'onnx') {
    const { bytes, mutation, seedModel } = onnxMutant(seed, index);
    const model = join(dir, 'model.onnx');
    writeFileSync(model, bytes);
    return { id, mutation: `${seedModel.name}/${mutation}`, kind, mode: seedModel.mode, model, data: tinyCifar(dir) };
  }
  if (kind === 'data') {
    const { path, mutation } = dataMutant(seed, index, dir);
    return { id, mutation, kind, mode: 'eval', model: DATA_MODEL, data: path };
  }
  const { path, mutation } = idxMutant(seed, index, dir);
  const model = join(dir, 'grey28.onnx');
  writeFileSync(model, greyModel());
  return { id, mutation, kind: 'idx', mode: 'eval', model, data: path };
}

/** 20 CIFAR test records (two per class) for evaluating an ONNX mutant. */
function tinyCifar(dir: string): string {
  const src = cifarRecords(), out = new Uint8Array(20 * REC);
  for (let i = 0; i < 20; i++) out.set(src.subarray(i * 5 * REC, (i * 5 + 1) * REC), i * REC);
  return write(dir, 'tiny.bin', out);
}
