// lrq vs PyTorch on one student step of a small W4A4 depthwise + channel-shuffle network (issue 19): the
// loss (CE + DKD), logits and every parameter's gradient equal a PyTorch twin's (tools/probe/student_twin.py,
// fixture test/fixtures/student_twin_shufflenet.json), so a collapse of such a student is not an lrq bug.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { TWIN_MODEL, twinStudent } from '../../tools/fixtures/student_twin.js';
import { studentLoss } from './step.js';

const FIXTURE = new URL('../../test/fixtures/student_twin_shufflenet.json', import.meta.url).pathname;
interface Fixture { loss: number; logits: number[]; grads: Record<string, { norm: number; sum: number; first: number[] }> }

test('W4A4 ShuffleNetV2 (fixture) student: loss, logits and all gradients equal PyTorch\'s', { skip: !existsSync(TWIN_MODEL) && 'fixture missing' }, () => {
  const ref = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Fixture;
  const { parts, student, x, y, t } = twinStudent();
  const { loss } = studentLoss(parts, x, y, t, 1);
  const logits = student.forward(x).data;
  loss.backward();
  assert.ok(Math.abs(loss.item() - ref.loss) < 1e-5 * ref.loss, `loss ${loss.item()} vs PyTorch ${ref.loss}`);
  logits.forEach((v, i) => assert.ok(Math.abs(v - ref.logits[i]!) < 1e-4, `logit ${i}: ${v} vs ${ref.logits[i]}`));
  const names = [...student.namedParameters()].filter(([, p]) => p.grad).map(([n]) => n);
  assert.deepEqual(names.sort(), Object.keys(ref.grads).sort());
  for (const [n, p] of student.namedParameters()) {
    const r = ref.grads[n]!, g = p.grad!.data;
    let sq = 0, s = 0;
    for (const v of g) { sq += v * v; s += v; }
    const tol = 1e-4 * r.norm + 1e-7;
    assert.ok(Math.abs(Math.sqrt(sq) - r.norm) <= tol, `${n}: ‖g‖ ${Math.sqrt(sq)} vs ${r.norm}`);
    assert.ok(Math.abs(s - r.sum) <= tol * Math.sqrt(g.length), `${n}: Σg ${s} vs ${r.sum}`);
    r.first.forEach((v, i) => assert.ok(Math.abs(g[i]! - v) <= tol, `${n}[${i}]: ${g[i]} vs ${v}`));
  }
});
