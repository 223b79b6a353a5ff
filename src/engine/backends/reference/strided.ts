// Strided iteration shared by the layout, reduction and broadcasting kernels: an odometer over all axes
// but the last, tracking one flat offset per stride set, so each kernel runs a tight loop per row.
// Adjacent axes that are contiguous in every stride set are merged first (fewer, longer rows).

/** Merge adjacent axes i, i+1 whenever every stride set has strides[i] = strides[i+1]·shape[i+1]. */
export function coalesce(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    if (d === 1) continue; // size-1 axes contribute no offset
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k]![last] === s[i]! * d)) {
      outShape[last] = outShape[last]! * d;
      for (let k = 0; k < strides.length; k++) outStrides[k]![last] = strides[k]![i]!;
    } else {
      outShape.push(d);
      for (let k = 0; k < strides.length; k++) outStrides[k]!.push(strides[k]![i]!);
    }
  }
  if (outShape.length === 0) {
    outShape.push(1);
    for (const s of outStrides) s.push(0);
  }
  return { shape: outShape, strides: outStrides };
}

/**
 * Visit every row of `shape` (every index of all axes but the last). `body(offs, len, inner)` gets the
 * flat offset of the row start per stride set, the row length and the per-set stride along the row.
 * `offs` is reused between calls: read it, do not keep it.
 */
export function forEachRow(shape0: readonly number[], strides0: readonly (readonly number[])[],
  body: (offs: number[], len: number, inner: number[]) => void): void {
  for (const d of shape0) if (d === 0) return;
  const { shape, strides } = coalesce(shape0, strides0);
  const nd = shape.length;
  const k = strides.length;
  const len = shape[nd - 1]!;
  const inner = strides.map((s) => s[nd - 1]!);
  const offs = new Array<number>(k).fill(0);
  if (nd === 1) {
    body(offs, len, inner);
    return;
  }
  const idx = new Array<number>(nd - 1).fill(0);
  for (;;) {
    body(offs, len, inner);
    let ax = nd - 2;
    for (; ax >= 0; ax--) {
      idx[ax]!++;
      for (let j = 0; j < k; j++) offs[j]! += strides[j]![ax]!;
      if (idx[ax]! < shape[ax]!) break;
      for (let j = 0; j < k; j++) offs[j]! -= strides[j]![ax]! * shape[ax]!;
      idx[ax] = 0;
    }
    if (ax < 0) return;
  }
}

/** Strides of `shape` as seen from `outShape` under numpy broadcasting (0 along broadcast axes). */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const nd = outShape.length;
  const lead = nd - shape.length;
  const st = new Array<number>(nd).fill(0);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[lead + i] = shape[i] === 1 ? 0 : acc;
    acc *= shape[i]!;
  }
  return st;
}
