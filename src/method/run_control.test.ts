// Run control from the outside, in child processes: Ctrl-C stops at an iteration boundary with a checkpoint,
// one line saying how to resume and exit 130, and the resumed run ends bit-identical to an uninterrupted one;
// a second Ctrl-C exits at once and leaves the directory readable; one process per run directory (a live
// lock names its holder, a stale one is taken over); --resume with changed options lists the differences.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LrqError } from '../engine/errors.js';
import { readSafetensors } from '../io/safetensors.js';
import { loadCheckpoint } from './checkpoint.js';
import { quantize, type QuantizeOptions } from './quantize.js';
import { LOCK_FILE } from './run_lock.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const MODEL = join(ROOT, '../shared/data/models/akamaster_cifar10/resnet20_cifar10_akamaster.onnx');
const skip = !existsSync(MODEL) && 'shared data not found';
const CLI = join(ROOT, 'bin/lrq.js');
const tmp = () => mkdtempSync(join(tmpdir(), 'lrq-rc-'));

const TINY = { epochs: 2, itersPerEpoch: 40, batchSize: 8, warmupEpochs: 1, calibEpochs: 1, lrSteps: [1], dkdWarmup: 1, seed: 5 };
const tinyArgs = (out: string, every = 1000) => ['quantize', '--model', MODEL, '--out', out, '--range-mode', 'plain-ema', '--epochs', '2', '--iters-per-epoch', '40',
  '--batch-size', '8', '--warmup-epochs', '1', '--calib-epochs', '1', '--lr-steps', '1', '--dkd-warmup', '1', '--seed', '5',
  '--checkpoint-every', String(every), '--no-progress', '--no-export', '--no-report'];
const tiny = (out: string, extra: Partial<QuantizeOptions> = {}): QuantizeOptions => ({ model: MODEL, out, rangeMode: 'plain-ema', checkpointEvery: 1000, progress: false, export: false, report: false, ...TINY, ...extra });

interface Done { code: number | null; signal: NodeJS.Signals | null; stderr: string; ms: number }
function start(args: string[]): { child: ChildProcess; done: Promise<Done> } {
  const t0 = Date.now();
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const done = new Promise<Done>((r) => child.on('close', (code, signal) => r({ code, signal, stderr, ms: Date.now() - t0 })));
  return { child, done };
}
/** Resolve once the run has written `n` iteration records to its log (it logs every 10th iteration). */
async function waitForIters(out: string, n: number, done: Promise<Done>): Promise<void> {
  let finished = false;
  void done.then(() => { finished = true; });
  for (;;) {
    if (finished) throw new Error('the run ended before it could be interrupted');
    try {
      const recs = readFileSync(join(out, 'log.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"type":"iter"'));
      if (recs.length >= n) return;
    } catch { /* not written yet */ }
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('Ctrl-C: checkpoint at the next iteration, one line on how to resume, exit 130; the resumed run equals an uninterrupted one', { skip }, async () => {
  const a = tmp(), b = tmp();
  try {
    await quantize(tiny(a));
    const { child, done } = start(tinyArgs(b));
    await waitForIters(b, 2, done); // past iteration 10: mid-epoch, between checkpoints
    child.kill('SIGINT');
    const r = await done;
    assert.equal(r.code, 130, `exit ${r.code} (${r.signal}): ${r.stderr}`);
    const last = r.stderr.trim().split('\n').at(-1)!;
    assert.match(last, /^lrq: stopped by SIGINT after iteration \d+ of 80; checkpoint written to .* — resume with: lrq quantize --model .* --out .* --resume$/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    const ck = loadCheckpoint(b);
    assert.ok(ck, 'a checkpoint was written on Ctrl-C');
    const pos = ck.state.epoch * 40 + ck.state.iter;
    assert.ok(pos > 10 && pos < 80, `checkpoint at iteration ${pos}`);
    assert.equal(existsSync(join(b, 'student.safetensors')), false, 'the run did not finish');
    assert.equal(existsSync(join(b, LOCK_FILE)), false, 'the lock is released on exit');
    await quantize({ model: MODEL, out: b, resume: true, progress: false, export: false, report: false });
    const wa = readSafetensors(join(a, 'student.safetensors')).tensors, wb = readSafetensors(join(b, 'student.safetensors')).tensors;
    for (const [k, t] of wa) assert.deepEqual(wb.get(k)!.data, t.data, `${k} differs after Ctrl-C at ${pos} + --resume`);
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
});

test('a second Ctrl-C exits at once; what is on disk stays readable', { skip }, async () => {
  const out = tmp();
  try {
    const { child, done } = start(tinyArgs(out));
    await waitForIters(out, 1, done);
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 5));
    const t0 = Date.now();
    child.kill('SIGINT');
    const r = await done;
    assert.ok(r.signal === 'SIGINT' || r.code === 130, `exit ${r.code} ${r.signal}`);
    assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms to exit after the second Ctrl-C`);
    JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    if (existsSync(join(out, 'checkpoint.safetensors'))) assert.ok(loadCheckpoint(out), 'a checkpoint present is whole');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('one process per run directory: a live run is named, a resume of it refused, a stale lock taken over', { skip }, async () => {
  const out = tmp();
  const { child, done } = start(tinyArgs(out, 5));
  try {
    await waitForIters(out, 2, done); // past iteration 10: checkpoints exist
    const inUse = (e: unknown) => e instanceof LrqError && new RegExp(`is in use by process ${child.pid}, running since `).test(e.message);
    await assert.rejects(quantize(tiny(out)), inUse);
    await assert.rejects(quantize({ model: MODEL, out, resume: true, progress: false }), inUse);
    child.kill('SIGKILL');
    await done;
    assert.ok(existsSync(join(out, LOCK_FILE)), 'SIGKILL leaves the lock behind');
    // The dead holder's lock is stale: --resume takes it over and finishes the run.
    const s = await quantize({ model: MODEL, out, resume: true, progress: false, export: false, report: false });
    assert.equal(s.epochs, 2);
    assert.equal(existsSync(join(out, LOCK_FILE)), false);
    // A lock naming a live process that is not ours (this test's own PID) is refused too.
    writeFileSync(join(out, LOCK_FILE), JSON.stringify({ pid: process.ppid, host: hostname(), startedAt: 'then', procStart: null, command: 'x' }));
    await assert.rejects(quantize({ model: MODEL, out, resume: true, progress: false }), (e: unknown) => e instanceof LrqError && /in use by process/.test(e.message));
  } finally {
    child.kill('SIGKILL');
    rmSync(out, { recursive: true, force: true });
  }
});

test('--resume with other bits, method or model bytes: one error listing every difference; mutable options pass', { skip }, async () => {
  const out = tmp();
  const copy = join(out, '..', `${out.split('/').at(-1)}-model.onnx`);
  try {
    await quantize(tiny(out, { epochs: 1, itersPerEpoch: 2, warmupEpochs: 0, lrSteps: [] }));
    await assert.rejects(quantize({ model: MODEL, out, resume: true, wbits: 3, method: 'gdfq', epochs: 1 }), (e: unknown) => {
      assert.ok(e instanceof LrqError);
      assert.match(e.message, /--resume with options that differ from the run's config\.json: --wbits 3 \(run: 4\); --method gdfq \(run: lrq\) — resume/);
      assert.doesNotMatch(e.message, /--epochs/, 'an option given with the run\'s own value is no difference');
      return true;
    });
    copyFileSync(MODEL, copy);
    const bytes = readFileSync(copy);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(copy, bytes);
    await assert.rejects(quantize({ model: copy, out, resume: true }), (e: unknown) => e instanceof LrqError && /model .*-model\.onnx sha256 [0-9a-f]{12}… \(run: [0-9a-f]{12}…\)/.test(e.message));
    await quantize({ model: MODEL, out, resume: true, evalLimit: 10, progress: false, export: false, report: false, checkpointEvery: 7 });
  } finally {
    rmSync(out, { recursive: true, force: true });
    rmSync(copy, { force: true });
  }
});
