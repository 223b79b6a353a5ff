// safetensors read/write: 8-byte little-endian header length N, N bytes of JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__: {str: str}}, then the raw data.
// Every tensor is loaded as a float Tensor: F32 → float32, F64 → float64, and F16 / BF16 / integer /
// BOOL dtypes are converted to float32 (so I64 num_batches_tracked becomes a float scalar; exact below
// 2^24). Writing keeps float32/float64 and stores keys named `*num_batches_tracked` as I64, as PyTorch
// does. Files are written atomically (temp file + rename); corrupt input raises a one-line LrqError.

import { readFileSync } from 'node:fs';
import { Tensor } from '../engine/tensor.js';
import { LrqError } from '../engine/errors.js';
import { numel } from '../engine/dtype.js';
import { writeFileAtomic } from './atomic.js';

/** Bytes per element of each safetensors dtype we read. */
const ITEM_SIZE: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1, U16: 2, U32: 4, U64: 8,
};

export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/** IEEE half → number. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Decode `n` elements of `dtype` from little-endian bytes into float storage. */
function decode(dtype: string, bytes: Uint8Array, n: number): Float32Array | Float64Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'F64') {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
    return out;
  }
  const out = new Float32Array(n);
  switch (dtype) {
    case 'F32': for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true); break;
    case 'F16': for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true)); break;
    case 'BF16': {
      const tmp = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < n; i++) {
        tmp.setUint32(0, dv.getUint16(2 * i, true) << 16);
        out[i] = tmp.getFloat32(0);
      }
      break;
    }
    case 'I64': for (let i = 0; i < n; i++) out[i] = Number(dv.getBigInt64(8 * i, true)); break;
    case 'U64': for (let i = 0; i < n; i++) out[i] = Number(dv.getBigUint64(8 * i, true)); break;
    case 'I32': for (let i = 0; i < n; i++) out[i] = dv.getInt32(4 * i, true); break;
    case 'U32': for (let i = 0; i < n; i++) out[i] = dv.getUint32(4 * i, true); break;
    case 'I16': for (let i = 0; i < n; i++) out[i] = dv.getInt16(2 * i, true); break;
    case 'U16': for (let i = 0; i < n; i++) out[i] = dv.getUint16(2 * i, true); break;
    case 'I8': for (let i = 0; i < n; i++) out[i] = dv.getInt8(i); break;
    case 'U8': case 'BOOL': for (let i = 0; i < n; i++) out[i] = dv.getUint8(i); break;
  }
  return out;
}

/** Parse safetensors bytes (`source` names the file in error messages). */
export function parseSafetensors(buf: Uint8Array, source = 'safetensors'): SafetensorsFile {
  const bad = (why: string): never => {
    throw new LrqError(`${source}: not a valid safetensors file (${why})`);
  };
  if (buf.length < 8) bad(`${buf.length} bytes, too short for the header length`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hlen = dv.getBigUint64(0, true);
  if (hlen > BigInt(buf.length - 8)) bad(`header length ${hlen} exceeds the ${buf.length - 8} bytes after it`);
  const n = Number(hlen);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + n)));
  } catch (e) {
    bad(`header is not JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) bad('header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = buf.length - dataStart;
  const tensors = new Map<string, Tensor>();
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null) bad('__metadata__ is not an object');
      metadata = Object.fromEntries(Object.entries(info as object).map(([k, v]) => [k, String(v)]));
      continue;
    }
    const e = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) bad(`entry ${name} is not an object`);
    const dtype = e.dtype;
    if (typeof dtype !== 'string' || !(dtype in ITEM_SIZE)) bad(`tensor ${name} has unsupported dtype ${String(dtype)}`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) bad(`tensor ${name} has invalid shape ${JSON.stringify(shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0)) bad(`tensor ${name} has invalid data_offsets ${JSON.stringify(off)}`);
    const [b, end] = off as [number, number];
    const count = numel(shape as number[]);
    const bytes = count * ITEM_SIZE[dtype as string]!;
    if (end < b || end - b !== bytes) bad(`tensor ${name}: data_offsets [${b}, ${end}] do not hold ${count} × ${dtype}`);
    if (end > dataLen) bad(`tensor ${name}: data ends at byte ${end}, file has ${dataLen} data bytes (truncated?)`);
    const data = decode(dtype as string, buf.subarray(dataStart + b, dataStart + end), count);
    tensors.set(name, new Tensor(data, shape as number[]));
  }
  return { tensors, metadata };
}

/** Read a .safetensors file. */
export function readSafetensors(path: string): SafetensorsFile {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new LrqError(`${path}: cannot read safetensors file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseSafetensors(buf, path);
}

export interface WriteSafetensorsOptions {
  /** Keys stored as I64 (rounded) instead of floats; default: names ending in `num_batches_tracked`. */
  int64?: (name: string) => boolean;
}

/** Encode tensors (+ string metadata) as safetensors bytes; keys sorted, header padded to 8 bytes. */
export function serializeSafetensors(tensors: Map<string, Tensor> | Record<string, Tensor>, metadata: Record<string, string> = {},
  opts: WriteSafetensorsOptions = {}): Uint8Array {
  const isInt = opts.int64 ?? ((k: string) => k.endsWith('num_batches_tracked'));
  const entries = [...(tensors instanceof Map ? tensors : new Map(Object.entries(tensors)))].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header['__metadata__'] = metadata;
  let off = 0;
  const layout: { t: Tensor; dtype: string; begin: number }[] = [];
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new LrqError('safetensors: a tensor may not be named __metadata__');
    const dtype = isInt(name) ? 'I64' : t.dtype === 'float64' ? 'F64' : 'F32';
    const bytes = t.size * ITEM_SIZE[dtype]!;
    header[name] = { dtype, shape: [...t.shape], data_offsets: [off, off + bytes] };
    layout.push({ t, dtype, begin: off });
    off += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8);
  const hbytes = Buffer.from(json, 'utf-8');
  const out = new Uint8Array(8 + hbytes.length + off);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(hbytes.length), true);
  out.set(hbytes, 8);
  const base = 8 + hbytes.length;
  for (const { t, dtype, begin } of layout) {
    const d = t.data;
    const p = base + begin;
    if (dtype === 'I64') for (let i = 0; i < d.length; i++) dv.setBigInt64(p + 8 * i, BigInt(Math.round(d[i]!)), true);
    else if (dtype === 'F64') for (let i = 0; i < d.length; i++) dv.setFloat64(p + 8 * i, d[i]!, true);
    else for (let i = 0; i < d.length; i++) dv.setFloat32(p + 4 * i, d[i]!, true);
  }
  return out;
}

/** Write tensors to a .safetensors file atomically (temp file + rename). */
export function writeSafetensors(path: string, tensors: Map<string, Tensor> | Record<string, Tensor>, metadata: Record<string, string> = {},
  opts: WriteSafetensorsOptions = {}): void {
  writeFileAtomic(path, serializeSafetensors(tensors, metadata, opts));
}
