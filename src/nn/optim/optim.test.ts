// Optimizers against torch.optim trajectories (test/fixtures/nn_optim.json, tools/fixtures/nn_optim.py),
// state-dict resume, and the multi-step LR schedule.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Tensor, tensor } from '../../engine/tensor.js';
import { Parameter } from '../module.js';
import { SGD } from './sgd.js';
import { Adam } from './adam.js';
import { multiStepLr } from './lr_scheduler.js';
import type { Optimizer } from './optimizer.js';
import { Rng } from '../../engine/random.js';
import { withBackend } from '../../engine/testing.js';
import { availableBackends } from '../../engine/backend.js';
import '../../engine/ops/registerBackends.js';

interface Case {
  name: string; kind: 'sgd' | 'adam'; opts: Record<string, unknown>;
  init: number[][]; grads: number[][][]; after: number[][][]; finalState: Record<string, number[] | number>[];
}
const fx = JSON.parse(readFileSync(new URL('../../../test/fixtures/nn_optim.json', import.meta.url), 'utf8')) as {
  shapes: number[][]; steps: number; lrChangeAtStep: number; lrChangeFactor: number; cases: Case[];
};

function build(c: Case, params: Parameter[]): Optimizer<{ lr: number }> {
  const o = c.opts;
  if (c.kind === 'sgd') {
    return new SGD(params, { lr: o['lr'] as number, momentum: (o['momentum'] as number) ?? 0, dampening: (o['dampening'] as number) ?? 0,
      nesterov: (o['nesterov'] as boolean) ?? false, weightDecay: (o['weight_decay'] as number) ?? 0 });
  }
  return new Adam(params, { lr: o['lr'] as number, betas: (o['betas'] as [number, number]) ?? [0.9, 0.999], eps: (o['eps'] as number) ?? 1e-8,
    weightDecay: (o['weight_decay'] as number) ?? 0 });
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

function runSteps(c: Case, opt: Optimizer<{ lr: number }>, params: Parameter[], from: number, to: number): void {
  for (let s = from; s < to; s++) {
    if (s === fx.lrChangeAtStep) for (const g of opt.paramGroups) g.lr *= fx.lrChangeFactor;
    params.forEach((p, k) => { p.grad = tensor(c.grads[s]![k]!, p.shape); });
    opt.step();
    params.forEach((p, k) => close(p.data, c.after[s]![k]!, 1e-6, `${c.name} step ${s} param ${k}`));
  }
}

for (const c of fx.cases) {
  test(`${c.name} matches torch.optim for ${fx.steps} steps (lr changed per group mid-way)`, () => {
    const params = c.init.map((v, k) => new Parameter(tensor(v, fx.shapes[k]!)));
    const opt = build(c, params);
    runSteps(c, opt, params, 0, fx.steps);
    const sd = opt.stateDict();
    c.finalState.forEach((st, k) => {
      for (const [key, v] of Object.entries(st)) {
        const mine = sd.state[k]![key];
        if (typeof v === 'number') assert.equal(mine, v, `${c.name} state ${k}.${key}`);
        else close((mine as Tensor).data, v, 1e-6, `${c.name} state ${k}.${key}`);
      }
    });
  });

  test(`${c.name} resumes from stateDict() and continues the torch trajectory`, () => {
    const params = c.init.map((v, k) => new Parameter(tensor(v, fx.shapes[k]!)));
    const opt = build(c, params);
    runSteps(c, opt, params, 0, 4);
    const sd = opt.stateDict();
    // A fresh optimizer over fresh parameters holding the step-4 values continues identically.
    const params2 = params.map((p) => new Parameter(p.clone()));
    const opt2 = build(c, params2);
    opt2.loadStateDict(sd);
    assert.equal(opt2.paramGroups[0]!.lr, opt.paramGroups[0]!.lr);
    runSteps(c, opt2, params2, 4, fx.steps);
  });
}

test('zeroGrad clears grads and parameters without grads are skipped', () => {
  const p = new Parameter(tensor([1, 2]));
  const q = new Parameter(tensor([3]));
  const opt = new SGD([p, q], { lr: 1, momentum: 0.9 });
  p.grad = tensor([1, 1]);
  opt.step();
  assert.deepEqual(p.toArray(), [0, 1]);
  assert.deepEqual(q.toArray(), [3]);
  assert.equal(opt.state.has(q), false);
  opt.zeroGrad();
  assert.equal(p.grad, null);
});

test('parameter groups keep their own lr', () => {
  const p = new Parameter(tensor([1])), q = new Parameter(tensor([1]));
  const opt = new SGD([{ params: [p] }, { params: [q], lr: 0.5 }], { lr: 0.1 });
  p.grad = tensor([1]);
  q.grad = tensor([1]);
  opt.step();
  assert.ok(Math.abs(p.data[0]! - 0.9) < 1e-7 && Math.abs(q.data[0]! - 0.5) < 1e-7);
  assert.throws(() => new SGD([p], { lr: 0.1, nesterov: true }), /Nesterov/);
});

test('multiStepLr counts milestones with epoch ≥ m (GDFQ: epoch + 1 > s)', () => {
  const ms = [100, 200, 300];
  const gdfq = (e: number) => 1e-4 * 0.1 ** ms.filter((s) => e + 1 > s).length;
  for (const e of [0, 99, 100, 101, 199, 200, 299, 300, 399]) assert.equal(multiStepLr(1e-4, ms, 0.1, e), gdfq(e));
  assert.equal(multiStepLr(1, ms, 0.1, 99), 1);
  assert.ok(Math.abs(multiStepLr(1, ms, 0.1, 250) - 0.01) < 1e-15);
});

test('Adam: the native float32 update gives the same bits as the TypeScript loop', { skip: !availableBackends().includes('onednn') && 'oneDNN addon not built' }, () => {
  const rng = new Rng(7);
  const init = rng.normal([70_000]);
  const grads = Array.from({ length: 4 }, () => rng.normal([70_000], 0, 3));
  const run = (be: 'reference' | 'onednn', wd: number, b1: number) =>
    withBackend(be, () => {
      const p = new Parameter(new Tensor(init.data.slice(), init.shape));
      const opt = new Adam([p], { lr: 2e-3, betas: [b1, 0.999], weightDecay: wd });
      for (const g of grads) {
        p.grad = new Tensor(g.data.slice(), g.shape);
        opt.step();
      }
      const st = opt.state.get(p)!;
      return [p.data, (st['exp_avg'] as Tensor).data, (st['exp_avg_sq'] as Tensor).data];
    });
  for (const [wd, b1] of [[0, 0.5], [1e-4, 0.9]] as const) {
    const want = run('reference', wd, b1), got = run('onednn', wd, b1);
    ['param', 'exp_avg', 'exp_avg_sq'].forEach((what, k) => {
      const a = got[k]!, b = want[k]!;
      let diff = 0;
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) diff++;
      assert.equal(diff, 0, `wd ${wd} β1 ${b1}: ${what} differs in ${diff} of ${a.length} elements`);
    });
  }
});
