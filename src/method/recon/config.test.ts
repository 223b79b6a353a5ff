// lrq-recon in the method table: its preset (generator-only budget + reconstruction budget) sits between
// the shared preset and explicit options, its options are validated, and the CLI offers it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LrqError } from '../../engine/errors.js';
import { resolveConfig } from '../config.js';
import { QUANTIZE_OPTIONS } from '../../cli/options.js';

test('lrq-recon resolves to the long-range generator with its own fast schedule; explicit options win', () => {
  const c = resolveConfig({ model: 'm.onnx', out: 'o', method: 'lrq-recon' });
  assert.equal(c.method, 'lrq-recon');
  assert.deepEqual(c.lkaPositions, ['after_block1', 'after_block2']);
  assert.equal(c.ama, true);
  assert.equal(c.epochs * c.itersPerEpoch, 400);
  assert.equal(c.reconIters, 1000);
  assert.equal(c.reconRefineIters, 200);
  assert.equal(c.bnsWeight, 3); // the fast preset's generator loss
  const e = resolveConfig({ model: 'm.onnx', out: 'o', method: 'lrq-recon', epochs: 1, reconIters: 7, reconDrop: 0 });
  assert.equal(e.epochs, 1);
  assert.equal(e.reconIters, 7);
  assert.equal(e.reconDrop, 0);
  assert.equal(resolveConfig({ model: 'm.onnx', out: 'o', method: 'lrq' }).epochs, 16); // other methods untouched
});

test('lrq-recon options are validated with one-line errors', () => {
  assert.throws(() => resolveConfig({ model: 'm', out: 'o', method: 'lrq-recon', reconDrop: 1 }), (e) => e instanceof LrqError && /--recon-drop/.test(e.message));
  assert.throws(() => resolveConfig({ model: 'm', out: 'o', method: 'lrq-recon', reconIters: 0 }), (e) => e instanceof LrqError && /--recon-iters/.test(e.message));
  assert.throws(() => resolveConfig({ model: 'm', out: 'o', method: 'lrq-recon', select: 'synth-kl' }), (e) => e instanceof LrqError && /lrq-recon/.test(e.message));
});

test('the CLI offers --method lrq-recon and the reconstruction options', () => {
  const m = QUANTIZE_OPTIONS.find((r) => r.key === 'method')!;
  assert.ok(m.choices!.includes('lrq-recon'));
  for (const k of ['reconImages', 'reconIters', 'reconBatch', 'reconDrop', 'reconRefineIters', 'reconRefineLr']) assert.ok(QUANTIZE_OPTIONS.some((r) => r.key === k), k);
});
