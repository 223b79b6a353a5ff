// The int8 export's k-bit activation clamp on uint8 (intActivationQdq): QuantizeLinear then an integer Clip
// gives exactly the levels of the float clamp it replaces — clamp(round(x/scale), r, r + 2^k − 1) — for every k.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { intActivationQdq } from './qparams.js';
import { roundHalfEven } from './spec.js';

test('uint8 QuantizeLinear + integer Clip = the float k-bit clamp, 2^k levels, bottom level at 0 when lo ≤ 0', () => {
  for (const bits of [2, 3, 4, 5, 6, 7, 8]) {
    for (const [lo, hi] of [[0, 6.5], [-1.3, 2.1], [-0.01, 0.4], [0.2, 3]] as const) {
      if (lo > 0 && bits === 8) continue; // 256 levels above 0: no uint8 zero point (an error, as for every 8-bit export)
      const p = intActivationQdq(lo, hi, bits, 'test');
      const L = 2 ** bits - 1, r = p.grid.r;
      if (r <= 0) assert.equal(p.zeroPoint + r, 0, `bits ${bits} [${lo}, ${hi}]: bottom level not at 0`);
      const seen = new Set<number>();
      for (let i = 0; i <= 20000; i++) {
        const x = Math.fround(lo - 2 * (hi - lo) + (5 * (hi - lo) * i) / 20000);
        const rounded = roundHalfEven(Math.fround(x / p.scale));
        let u = Math.min(255, Math.max(0, rounded + p.zeroPoint)); // QuantizeLinear (saturating)
        if (p.clampLo !== null) u = Math.max(u, p.clampLo); // uint8 Clip
        if (p.clampHi !== null) u = Math.min(u, p.clampHi);
        const want = Math.min(r + L, Math.max(r, rounded)) + 0; // the float clamp's level (+ 0: no −0)
        assert.equal(u - p.zeroPoint, want, `bits ${bits} [${lo}, ${hi}] x=${x}`);
        seen.add(u);
      }
      assert.equal(seen.size, L + 1, `bits ${bits} [${lo}, ${hi}]: ${seen.size} levels`);
    }
  }
});
