// Config resolution: base ← method ← preset (per bit width) ← explicit options, and its errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from './config.js';
import { LrqError } from '../engine/errors.js';

const base = { model: 'm.onnx', out: 'runs/x' };

test('fast preset: student LR 3e-4 when the narrower of weights/activations has 4 bits, else the paper 1e-4', () => {
  assert.equal(resolveConfig({ ...base, preset: 'fast', wbits: 4, abits: 4 }).lrS, 3e-4);
  assert.equal(resolveConfig({ ...base, preset: 'fast', wbits: 4, abits: 8 }).lrS, 3e-4);
  assert.equal(resolveConfig({ ...base, preset: 'fast', wbits: 5, abits: 5 }).lrS, 1e-4);
  assert.equal(resolveConfig({ ...base, preset: 'fast', wbits: 8, abits: 8 }).lrS, 1e-4);
  assert.equal(resolveConfig({ ...base, preset: 'fast' }).lrS, 3e-4); // default bits are 4/4
  assert.equal(resolveConfig({ ...base, preset: 'fast', wbits: 3, abits: 3 }).lrS, 1e-4);
  assert.equal(resolveConfig({ ...base, preset: 'fast', wbits: 8, abits: 2 }).lrS, 1e-4);
  assert.equal(resolveConfig({ ...base, preset: 'fast', wbits: 3, abits: 8 }).lrS, 1e-4);
  // the rest of the preset is unchanged below 4 bits
  const low = resolveConfig({ ...base, preset: 'fast', wbits: 3, abits: 3 });
  assert.equal(low.bnsWeight, 1);
  assert.equal(low.epochs, 16);
});

test('explicit options win over the preset; paper keeps the paper values', () => {
  assert.equal(resolveConfig({ ...base, preset: 'fast', wbits: 3, abits: 3, lrS: 5e-4 }).lrS, 5e-4);
  assert.equal(resolveConfig({ ...base, preset: 'fast', lrS: 1e-4 }).lrS, 1e-4);
  const paper = resolveConfig({ ...base, preset: 'paper', wbits: 4, abits: 4 });
  assert.equal(paper.lrS, 1e-4);
  assert.equal(paper.bnsWeight, 0.1);
  assert.equal(paper.epochs, 400);
  assert.equal(resolveConfig(base).epochs, 400); // no preset = paper
});

test('unknown preset and out-of-range bits are one-line errors naming the option', () => {
  assert.throws(() => resolveConfig({ ...base, preset: 'slow' as never }), (e: unknown) => e instanceof LrqError && /--preset slow/.test((e as Error).message));
  assert.throws(() => resolveConfig({ ...base, preset: 'fast', wbits: 9 }), (e: unknown) => e instanceof LrqError && /--wbits 9/.test((e as Error).message));
});
