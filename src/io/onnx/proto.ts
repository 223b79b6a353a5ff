// Reading ONNX protobuf files (onnx-proto's generated schema on protobufjs) into plain values:
// tensors become Float32 engine tensors or integer arrays, attributes become numbers/arrays/strings.
// Rule: a missing, truncated or non-ONNX file is a one-line LrqError naming the file, never a crash.

import { readFileSync, existsSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import onnxProto from 'onnx-proto';
import { Tensor } from '../../engine/tensor.js';
import { LrqError } from '../../engine/errors.js';

export const onnx = onnxProto.onnx;
export type ModelProto = onnxProto.onnx.ModelProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;

/** An integer tensor (ONNX int64/int32/bool/…) kept as plain JS numbers: shape arithmetic never needs grads. */
export class IntTensor {
  constructor(readonly data: number[], readonly shape: readonly number[]) {}
  get size(): number {
    return this.data.length;
  }
}

/** A value flowing along a graph edge: a float tensor (differentiable) or an integer tensor. */
export type Value = Tensor | IntTensor;

const DT = onnx.TensorProto.DataType;

/** Long | number → number (int64 values past 2^53 lose precision, which only affects ±∞-like sentinels). */
export function toNum(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v && typeof (v as { toNumber?: unknown }).toNumber === 'function') return (v as { toNumber(): number }).toNumber();
  return Number(v);
}

/** Read and decode an .onnx file; every failure becomes a one-line LrqError naming the file. */
export function readModelProto(path: string): ModelProto {
  if (!existsSync(path)) throw new LrqError(`ONNX model '${path}' does not exist`);
  const st = statSync(path);
  if (st.isDirectory()) throw new LrqError(`ONNX model '${path}' is a directory, not a file`);
  // a device or pipe (/dev/zero) would be read forever
  if (!st.isFile()) throw new LrqError(`ONNX model '${path}' is not a regular file`);
  const bytes = readFileSync(path);
  if (bytes.length === 0) throw new LrqError(`ONNX model '${path}' is empty`);
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    throw new LrqError(`ONNX model '${path}' is corrupt or truncated (protobuf decode failed: ${why})`);
  }
  const g = model.graph;
  if (!g || !g.node || g.node.length === 0 || !g.output || g.output.length === 0) {
    throw new LrqError(`'${path}' is not an ONNX model (no graph with nodes and outputs; corrupt or truncated file?)`);
  }
  return model;
}

function rawView(raw: Uint8Array): DataView {
  return new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
}

/** Bytes of a tensor stored with data_location = EXTERNAL, read from a regular file beside the model
 *  (the ONNX spec's relative location; only the asked range is read, so /dev/zero or a huge file cannot
 *  exhaust memory). */
function externalBytes(t: TensorProto, modelPath: string): Uint8Array {
  const kv = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const loc = kv.get('location');
  const where = `${modelPath}: initializer '${t.name}'`;
  if (!loc) throw new LrqError(`${where} uses external data without a location`);
  if (isAbsolute(loc) || loc.split(/[\\/]/).includes('..')) throw new LrqError(`${where}: external data location '${loc}' must be a relative path inside the model's folder`);
  const file = resolve(dirname(modelPath), loc);
  if (!existsSync(file)) throw new LrqError(`${where}: external data file '${file}' does not exist`);
  const st = statSync(file);
  if (!st.isFile()) throw new LrqError(`${where}: external data '${file}' is not a regular file`);
  const int = (key: string, def: number): number => {
    const raw = kv.get(key);
    const v = raw === undefined ? def : Number(raw);
    if (!Number.isSafeInteger(v) || v < 0) throw new LrqError(`${where}: external data ${key} '${raw}' is not a non-negative integer`);
    return v;
  };
  const off = int('offset', 0);
  const len = kv.has('length') ? int('length', 0) : st.size - off;
  if (off + len > st.size || len < 0) throw new LrqError(`${where}: external data (offset ${off}, length ${len}) runs past the end of '${file}' (${st.size} bytes)`);
  const out = Buffer.alloc(len);
  const fd = openSync(file, 'r');
  try {
    if (readSync(fd, out, 0, len, off) !== len) throw new LrqError(`${where}: external data '${file}' is shorter than its header says`);
  } finally {
    closeSync(fd);
  }
  return out;
}

/** Largest element count a tensor may claim (2^31 − 1, the engine's array limit); checked before allocating. */
export const MAX_TENSOR_ELEMENTS = 2 ** 31 - 1;

/** Largest tensor a shape computation of the importer may build (2^28 elements = 1 GiB of float32). */
export const MAX_RUNTIME_ELEMENTS = 2 ** 28;

/** ∏ dims after checking each is a non-negative integer and the product is at most `limit`. */
export function checkedNumel(dims: readonly number[], what: () => string, limit = MAX_TENSOR_ELEMENTS): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new LrqError(`${what()} has an invalid dimension ${d} in shape [${dims.join(', ')}]`);
    n *= d;
  }
  if (n > limit) throw new LrqError(`${what()} claims ${n.toExponential(3)} elements (shape [${dims.join(', ')}]), more than the ${limit} supported`);
  return n;
}

/** Convert a TensorProto to a float32 Tensor (float types) or an IntTensor (integer and bool types). */
export function tensorFromProto(t: TensorProto, where: string, modelPath = ''): Value {
  const dims = (t.dims ?? []).map(toNum);
  // dims are checked first, and each data length against them before any array is allocated
  const n = checkedNumel(dims, () => `${where}: tensor '${t.name ?? ''}'`);
  let raw = t.rawData && t.rawData.length ? t.rawData : null;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) raw = externalBytes(t, modelPath);
  const dt = t.dataType ?? 0;
  const bad = (what: string): never => {
    throw new LrqError(`${where}: tensor '${t.name ?? ''}' ${what}`);
  };
  const check = (len: number, elem: number) => {
    if (len !== n) bad(`holds ${Number.isInteger(len) ? `${len} values` : `${len * elem} bytes`} but its shape [${dims.join(', ')}] needs ${n} (${elem}-byte elements; truncated file?)`);
  };
  if (dt === DT.FLOAT || dt === DT.DOUBLE) {
    const size = dt === DT.FLOAT ? 4 : 8;
    check(raw ? raw.byteLength / size : (dt === DT.FLOAT ? t.floatData ?? [] : t.doubleData ?? []).length, size);
    const out = new Float32Array(n);
    if (raw) {
      const v = rawView(raw);
      for (let i = 0; i < n; i++) out[i] = size === 4 ? v.getFloat32(i * 4, true) : v.getFloat64(i * 8, true);
    } else {
      const src = dt === DT.FLOAT ? t.floatData ?? [] : t.doubleData ?? [];
      for (let i = 0; i < n; i++) out[i] = src[i]!;
    }
    return new Tensor(out, dims);
  }
  const intSizes: Partial<Record<number, [number, (v: DataView, o: number) => number]>> = {
    [DT.INT64]: [8, (v, o) => Number(v.getBigInt64(o, true))],
    [DT.UINT64]: [8, (v, o) => Number(v.getBigUint64(o, true))],
    [DT.INT32]: [4, (v, o) => v.getInt32(o, true)],
    [DT.UINT32]: [4, (v, o) => v.getUint32(o, true)],
    [DT.INT16]: [2, (v, o) => v.getInt16(o, true)],
    [DT.UINT16]: [2, (v, o) => v.getUint16(o, true)],
    [DT.INT8]: [1, (v, o) => v.getInt8(o)],
    [DT.UINT8]: [1, (v, o) => v.getUint8(o)],
    [DT.BOOL]: [1, (v, o) => v.getUint8(o)],
  };
  const spec = intSizes[dt];
  if (!spec) bad(`has unsupported data type ${DT[dt] ?? dt} (only float, double and integer tensors are read)`);
  const [size, get] = spec!;
  const src: unknown[] = dt === DT.INT64 ? t.int64Data ?? [] : dt === DT.UINT64 || dt === DT.UINT32 ? t.uint64Data ?? [] : t.int32Data ?? [];
  check(raw ? raw.byteLength / size : src.length, size);
  const out = new Array<number>(n);
  if (raw) {
    const v = rawView(raw);
    for (let i = 0; i < n; i++) out[i] = get(v, i * size);
  } else {
    for (let i = 0; i < n; i++) out[i] = toNum(src[i]);
  }
  return new IntTensor(out, dims);
}

/** Attributes of a node as a name → plain value map (ints as numbers, strings decoded, tensors converted). */
export function attributes(node: NodeProto, modelPath = ''): Map<string, number | number[] | string | string[] | Value> {
  const AT = onnx.AttributeProto.AttributeType;
  const out = new Map<string, number | number[] | string | string[] | Value>();
  for (const a of node.attribute ?? []) {
    const name = a.name ?? '';
    switch (a.type) {
      case AT.INT: out.set(name, toNum(a.i)); break;
      case AT.FLOAT: out.set(name, a.f ?? 0); break;
      case AT.INTS: out.set(name, (a.ints ?? []).map(toNum)); break;
      case AT.FLOATS: out.set(name, [...(a.floats ?? [])]); break;
      case AT.STRING: out.set(name, Buffer.from(a.s ?? new Uint8Array()).toString('utf8')); break;
      case AT.STRINGS: out.set(name, (a.strings ?? []).map((s) => Buffer.from(s).toString('utf8'))); break;
      case AT.TENSOR: out.set(name, tensorFromProto(a.t ?? {}, `node '${node.name}' attribute '${name}'`, modelPath)); break;
      default: break; // graphs, sparse tensors, type protos: not used by the ops we import
    }
  }
  return out;
}

/** Model metadata_props as a plain record (e.g. normalization mean/std written by an exporter). */
export function metadata(model: ModelProto): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of model.metadataProps ?? []) if (p.key) out[p.key] = p.value ?? '';
  return out;
}
