// Config resolution: base ← method ← preset ← explicit options, and its errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from './config.js';
import { LrqError } from '../engine/errors.js';

const base = { model: 'm.onnx', out: 'runs/x' };

test('fast preset: the paper\'s student LR 1e-4 at every bit width, BNS weight 3, 16 × 100 iterations', () => {
  for (const [wbits, abits] of [[4, 4], [4, 8], [5, 5], [8, 8], [3, 3], [8, 2]] as const) {
    const c = resolveConfig({ ...base, preset: 'fast', wbits, abits });
    assert.deepEqual([c.lrS, c.bnsWeight, c.epochs, c.itersPerEpoch, c.batchSize], [1e-4, 3, 16, 100, 64], `W${wbits}A${abits}`);
  }
});

test('explicit options win over the preset; paper keeps the paper values', () => {
  assert.equal(resolveConfig({ ...base, preset: 'fast', wbits: 3, abits: 3, lrS: 5e-4 }).lrS, 5e-4);
  assert.equal(resolveConfig({ ...base, preset: 'fast', lrS: 3e-4 }).lrS, 3e-4);
  const paper = resolveConfig({ ...base, preset: 'paper', wbits: 4, abits: 4 });
  assert.equal(paper.lrS, 1e-4);
  assert.equal(paper.bnsWeight, 0.1);
  assert.equal(paper.epochs, 400);
  assert.equal(resolveConfig(base).epochs, 16); // no preset = fast (the paper's schedule is days on a CPU)
  assert.equal(resolveConfig({ ...base, preset: 'paper' }).epochs, 400);
});

test('unknown preset and out-of-range bits are one-line errors naming the option', () => {
  assert.throws(() => resolveConfig({ ...base, preset: 'slow' as never }), (e: unknown) => e instanceof LrqError && /--preset slow/.test((e as Error).message));
  assert.throws(() => resolveConfig({ ...base, preset: 'fast', wbits: 9 }), (e: unknown) => e instanceof LrqError && /--wbits 9/.test((e as Error).message));
  for (const d of [1, -0.1, 1.5]) {
    assert.throws(() => resolveConfig({ ...base, emaDecay: d }), (e: unknown) => e instanceof LrqError && new RegExp(`--ema-decay ${d}: must be in \\[0, 1\\)`).test((e as Error).message));
  }
  assert.equal(resolveConfig(base).emaDecay, 0, 'the weight EMA is off unless asked for (not in the paper)');
});

test('--select: final unless asked; unknown choice, zero candidates or images, non-positive temperature are errors', () => {
  assert.equal(resolveConfig(base).select, 'final', 'the paper keeps the final student');
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ select: 'best' }, /--select best: use final or synth-kl/],
    [{ selectEpochs: 0 }, /--select-epochs 0: must be an integer/],
    [{ selectImages: 2.5 }, /--select-images 2.5: must be an integer/],
    [{ selectTemperature: 0 }, /--select-temperature 0: must be a positive number/],
  ];
  for (const [o, re] of bad) assert.throws(() => resolveConfig({ ...base, ...o }), (e: unknown) => e instanceof LrqError && re.test((e as Error).message), JSON.stringify(o));
});
