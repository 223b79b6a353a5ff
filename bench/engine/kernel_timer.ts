// Per-kernel timing of the active backend: wraps every backend method with a timer keyed by kernel name
// (plus the conv geometry for convolutions, or the op name for generic unary/binary kernels, split by
// shape with KT_SHAPES=1). Rule:
// measurement only — wrapped kernels return exactly what they returned before.

import { backend } from '../../src/engine/backend.js';

export interface KernelTimer {
  /** Start or stop accumulating (warm-up steps run untimed). */
  timing: boolean;
  /** Rows sorted by total time: [key, {ms, calls}]. */
  rows(): [string, { ms: number; calls: number }][];
  /** Print the top rows per step (ms and calls divided by `steps`) and the share outside kernels. */
  report(label: string, stepMs: number, steps: number, top?: number): void;
}

/** Instrument the active backend in place; t = Σ wall time inside each kernel key. */
export function instrumentBackend(): KernelTimer {
  const be = backend() as unknown as Record<string, unknown>;
  const stats = new Map<string, { ms: number; calls: number }>();
  const withShapes = !!process.env['KT_SHAPES'];
  const timer: KernelTimer = {
    timing: false,
    rows: () => [...stats.entries()].sort((a, b) => b[1].ms - a[1].ms),
    report(label, stepMs, steps, top = 30) {
      const rows = timer.rows();
      const inKernels = rows.reduce((s, [, r]) => s + r.ms / steps, 0);
      console.log(`${label}: ${stepMs.toFixed(1)} ms/step, kernels ${inKernels.toFixed(1)} ms, outside kernels ${(stepMs - inKernels).toFixed(1)} ms`);
      for (const [k, s] of rows.slice(0, top)) console.log(`${(s.ms / steps).toFixed(2).padStart(8)} ms  ${String(+(s.calls / steps).toFixed(1)).padStart(5)}×  ${k}`);
    },
  };
  for (const [k, v] of Object.entries(be)) {
    if (typeof v !== 'function' || k === 'threads') continue;
    const f = v as (...a: unknown[]) => unknown;
    be[k] = (...a: unknown[]): unknown => {
      if (!timer.timing) return f(...a);
      const t0 = performance.now();
      const r = f(...a);
      const dt = performance.now() - t0;
      let key = k;
      const g = a.find((x) => x && typeof x === 'object' && 'kh' in (x as object)) as Record<string, number> | undefined;
      if (g) key += ` ${g['n']}x${g['c']}x${g['h']}x${g['w']}→${g['oc']} k${g['kh']} s${g['strideH']} d${g['dilH']} g${g['groups']}`;
      else if (typeof a[0] === 'string') {
        key += ` ${a[0]}`;
        // KT_SHAPES=1 splits generic kernels by shape: binary(op, a, aShape, b, bShape, outShape)
        if (withShapes && Array.isArray(a[a.length - 1])) key += ` out ${JSON.stringify(a[a.length - 1])}` + (Array.isArray(a[2]) ? ` in ${JSON.stringify(a[2])} ${JSON.stringify(a[4])}` : '');
      }
      const s = stats.get(key) ?? { ms: 0, calls: 0 };
      s.ms += dt;
      s.calls++;
      stats.set(key, s);
      return r;
    };
  }
  return timer;
}
