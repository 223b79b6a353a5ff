// Storage types of the engine: float32 for real work, float64 only so gradient checks can use tiny
// finite-difference steps. Every kernel accepts both and returns the dtype of its first input.

export type DType = 'float32' | 'float64';
export type Data = Float32Array | Float64Array;

/** Allocate a zero-filled array of `n` elements of the given dtype. */
export function alloc(dtype: DType, n: number): Data {
  return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
}

/** Allocate an array like `like` (same dtype), of `n` elements. */
export function allocLike(like: Data, n: number): Data {
  return like instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
}

/** The dtype of a typed array. */
export function dtypeOf(d: Data): DType {
  return d instanceof Float64Array ? 'float64' : 'float32';
}

/** Number of elements of a shape: ∏ shape[i]. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** Row-major (C-order) strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= shape[i]!;
  }
  return st;
}

/** Human form of a shape for error messages: [2, 3, 4]. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
