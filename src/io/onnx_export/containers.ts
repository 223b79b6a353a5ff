// Integer storage types ("containers") for QuantizeLinear/DequantizeLinear and their raw_data packing.
// Rule: TensorProto.DataType numbers follow onnx.proto (UINT4 = 21, INT4 = 22 — verified against
// onnxruntime 1.30, which saturates dtype 21 at 15 and dtype 22 at 7); 4-bit values are packed two per
// byte, low nibble first, as ONNX requires.

import { LrqError } from '../../engine/errors.js';

export interface Container {
  name: 'UINT4' | 'INT4' | 'UINT8' | 'INT8' | 'UINT16' | 'INT16' | 'INT32';
  /** TensorProto.DataType value. */
  dataType: number;
  bits: 4 | 8 | 16 | 32;
  min: number;
  max: number;
}

export const UINT4: Container = { name: 'UINT4', dataType: 21, bits: 4, min: 0, max: 15 };
export const INT4: Container = { name: 'INT4', dataType: 22, bits: 4, min: -8, max: 7 };
export const UINT8: Container = { name: 'UINT8', dataType: 2, bits: 8, min: 0, max: 255 };
export const INT8: Container = { name: 'INT8', dataType: 3, bits: 8, min: -128, max: 127 };
export const UINT16: Container = { name: 'UINT16', dataType: 4, bits: 16, min: 0, max: 65535 };
export const INT16: Container = { name: 'INT16', dataType: 5, bits: 16, min: -32768, max: 32767 };
/** Bias codes of integer kernels (scale s_x·s_w, zero point 0). */
export const INT32: Container = { name: 'INT32', dataType: 6, bits: 32, min: -2147483648, max: 2147483647 };

/**
 * Containers to try for a k-bit grid, narrowest first: the 4-bit types exist only at opset ≥ 21, 16-bit
 * Q/DQ also needs opset 21; the fake-quant FP32 form (opset ≥ 13) has 8-bit containers only.
 */
export function containersFor(bits: number, opset: number): Container[] {
  const all = bits <= 4 ? [UINT4, UINT8, UINT16] : bits <= 8 ? [UINT8, UINT16] : [UINT16];
  return all.filter((c) => opset >= 21 || c.bits === 8);
}

/** Raw little-endian bytes of integer values in a container (4-bit: two per byte, low nibble first). */
export function packInts(values: ArrayLike<number>, c: Container): Uint8Array {
  const n = values.length;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!Number.isInteger(v) || v < c.min || v > c.max) throw new LrqError(`export: value ${v} does not fit ${c.name} [${c.min}, ${c.max}]`);
  }
  if (c.bits === 4) {
    const out = new Uint8Array(Math.ceil(n / 2));
    for (let i = 0; i < n; i++) out[i >> 1]! |= (values[i]! & 0xf) << ((i & 1) * 4);
    return out;
  }
  const out = new Uint8Array(n * (c.bits / 8));
  const dv = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (c.bits === 8) dv.setUint8(i, v & 0xff);
    else if (c.bits === 32) dv.setInt32(i * 4, v, true);
    else dv.setUint16(i * 2, v & 0xffff, true);
  }
  return out;
}

/** Inverse of packInts (used by tests and the size report). */
export function unpackInts(raw: Uint8Array, n: number, c: Container): number[] {
  const out = new Array<number>(n);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let i = 0; i < n; i++) {
    let u: number;
    if (c.bits === 4) u = (raw[i >> 1]! >> ((i & 1) * 4)) & 0xf;
    else if (c.bits === 8) u = dv.getUint8(i);
    else if (c.bits === 32) {
      out[i] = dv.getInt32(i * 4, true);
      continue;
    } else u = dv.getUint16(i * 2, true);
    const half = 2 ** (c.bits - 1);
    out[i] = c.min < 0 && u >= half ? u - 2 * half : u;
  }
  return out;
}

/** Storage bytes of n values in a container. */
export function packedBytes(n: number, c: Container): number {
  return Math.ceil((n * c.bits) / 8);
}
