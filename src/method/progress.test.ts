// Progress: the plain (non-TTY) early rate line and the epoch lines' ETA, on a fake clock and stream; the
// TTY bar's ETA from the same rate. Checks the arithmetic (rate since the first update, not since start).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Progress, fmtDuration } from './progress.js';

/** A stream stand-in that records writes; isTTY as given. */
function sink(isTTY: boolean): { stream: NodeJS.WriteStream; out: string[] } {
  const out: string[] = [];
  const stream = { isTTY, columns: 200, write: (s: string) => { out.push(s); return true; } } as unknown as NodeJS.WriteStream;
  return { stream, out };
}

const state = (epoch: number, iter: number) => ({ epoch, epochs: 4, iter, iters: 50, losses: { lossS: 1.5 } });

test('fmtDuration: m:ss under an hour, h:mm:ss above, --:-- when unknown', () => {
  assert.equal(fmtDuration(75), '1:15');
  assert.equal(fmtDuration(3 * 3600 + 2 * 60 + 5), '3:02:05');
  assert.equal(fmtDuration(NaN), '--:--');
  assert.equal(fmtDuration(Infinity), '--:--');
});

test('plain output: one early line after EARLY_LINE_AFTER iterations with their time and the ETA, measured from the first update', () => {
  const { stream, out } = sink(false);
  let t = 1_000_000;
  const p = new Progress(stream, true, () => t);
  t += 60_000; // model loading and FP evaluation before the first iteration: not part of the rate
  for (let i = 0; i <= Progress.EARLY_LINE_AFTER + 5; i++) {
    p.update(state(0, i));
    t += 2000; // 2 s an iteration
  }
  assert.equal(out.length, 1, out.join(''));
  // first update at iteration 1 (t0); 10 more iterations take 20 s; 200 − 11 = 189 left at 2 s each
  assert.equal(out[0], `10 iterations in 20.0 s (2.00 s each); ETA ${fmtDuration(378)} for the 189 left\n`);
});

test('epoch lines carry the ETA of the remaining epochs (none after the last)', () => {
  const { stream, out } = sink(false);
  let t = 0;
  const p = new Progress(stream, true, () => t);
  for (let e = 0; e < 4; e++) {
    for (let i = 0; i < 50; i++) {
      p.update(state(e, i));
      t += 1000;
    }
    t += 10_000; // the epoch's evaluation counts in the rate
    p.epochLine({ ...state(e, 49), lastTop1: 70 + e }, 60);
  }
  const epochs = out.filter((l) => l.startsWith('epoch '));
  assert.equal(epochs.length, 4);
  // after epoch 1: 49 iterations since the first update, in 50 + 10 s (the clock advanced after each of
  // the 50 updates, then the evaluation); 150 left → 150 / (49 / 60) s
  assert.equal(epochs[0], `epoch 1/4 lossS 1.500 top1 70.00% (60.0 s, ETA ${fmtDuration(150 / (49 / 60))})\n`);
  assert.match(epochs[3]!, /^epoch 4\/4 lossS 1\.500 top1 73\.00% \(60\.0 s\)\n$/);
});

test('TTY bar: ETA from the rate since the first update', () => {
  const { stream, out } = sink(true);
  let t = 5_000;
  const p = new Progress(stream, true, () => t);
  p.update(state(0, 0));
  t += 30_000; // 3 s an iteration over 10 iterations
  p.update(state(0, 10));
  const last = out[out.length - 1]!;
  assert.ok(last.includes(`ep 1/4 it 11/50 ETA ${fmtDuration((200 - 11) * 3)} lossS 1.500`), last);
});

test('reported evaluations: priced into the ETA (evaluations left × the latest one) and taken out of the iteration rate', () => {
  const { stream, out } = sink(false);
  let t = 0;
  const p = new Progress(stream, true, () => t);
  p.evaluation(() => { t += 30_000; }); // the full-precision evaluation before training: prices the 4 per-epoch ones
  for (let e = 0; e < 2; e++) {
    for (let i = 0; i < 50; i++) {
      p.update(state(e, i));
      t += 1000;
    }
    p.evaluation(() => { t += 10_000; });
    p.epochLine({ ...state(e, 49), lastTop1: 70 }, 60);
  }
  // early line: 10 iterations in 10 s; 189 left at 1 s + 4 evaluations (this epoch's included) at 30 s
  assert.equal(out[0], `10 iterations in 10.0 s (1.00 s each); ETA ${fmtDuration(189 + 4 * 30)} for the 189 left and 4 evaluations of ≈ 30 s\n`);
  // after epoch 1: 49 iterations in 60 − 10 s (the evaluation is not iteration time); 150 left + 3 evaluations at 10 s
  assert.equal(out[1], `epoch 1/4 lossS 1.500 top1 70.00% (60.0 s, ETA ${fmtDuration(150 / (49 / 50) + 3 * 10)})\n`);
  // after epoch 2: 99 iterations in 120 − 20 s; 100 left + 2 evaluations
  assert.equal(out[2], `epoch 2/4 lossS 1.500 top1 70.00% (60.0 s, ETA ${fmtDuration(100 / (99 / 100) + 2 * 10)})\n`);
});
