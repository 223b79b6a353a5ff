// `npm run bench:engine [-- --json] [--threads N] [--iters N] [--rounds R] [--batch N] [--only a,b] [--no-torch]
// [--no-224] [--batch224 N] [--iters224 N]`:
// times the engine workloads (bench/engine/workloads.ts) and, when /usr/bin/python3 has torch, the same
// workloads in PyTorch with the same thread count (tools/bench/engine_torch.py), run one after the other
// so they never compete for cores (peak RSS per side: each process's maxRSS after the row). Each round times ours then torch; a workload's time is the median of
// its iterations, and with R rounds the best round's median (rounds alternate the two sides, so a burst
// of load from other processes does not land on one side only). ratio = ours / torch (≤ 1: we are faster).
// Then the 224² LRQ steps (ResNet-18, MobileNetV2, batch --batch224, default 16): each side in its own
// process (lrq_step_224.ts, tools/bench/lrq_step_torch224.py), one after the other, so each peak RSS is
// that step's alone; skipped with a hint when bench/fixtures/fullsize/ is absent, or with --no-224.

import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

interface Row {
  workload: string;
  ours_ms: number;
  torch_ms: number | null;
  ratio: number | null;
  gflops: number | null;
  threads: number;
  backend: string;
  peak_rss_mb: number;
  torch_rss_mb: number | null;
}

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

const json = flag('json');
const threads = Number(arg('threads', process.env['LRQ_THREADS'] ?? String(availableParallelism())));
const iters = Number(arg('iters', '10'));
const warmup = Number(arg('warmup', '3'));
const batch = Number(arg('batch', '32'));
const rounds = Number(arg('rounds', '1'));
const only = arg('only', '').split(',').filter(Boolean);
const python = process.env['LRQ_PYTHON'] ?? '/usr/bin/python3';

// The addon reads LRQ_THREADS when it loads, so set it before the engine is imported.
process.env['LRQ_THREADS'] = String(threads);
const { backend } = await import('../../src/engine/backend.js');
await import('../../src/engine/ops/registerBackends.js');
const { workloads } = await import('./workloads.js');

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Torch medians and maxRSS so far by workload name, or null when python/torch is unavailable (or --no-torch). */
function torchTimes(): Map<string, { ms: number; rss: number }> | null {
  if (flag('no-torch')) return null;
  const probe = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
  if (probe.status !== 0) return null;
  const script = fileURLToPath(new URL('../../tools/bench/engine_torch.py', import.meta.url));
  const r = spawnSync(python, [script, '--threads', String(threads), '--iters', String(iters), '--warmup', String(warmup),
    '--batch', String(batch), ...(only.length ? ['--only', only.join(',')] : [])], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads) } });
  if (r.status !== 0) {
    process.stderr.write(`bench: torch side failed: ${r.stderr.split('\n').slice(-3).join(' ')}\n`);
    return null;
  }
  const m = new Map<string, { ms: number; rss: number }>();
  for (const line of r.stdout.split('\n')) {
    if (!line.trim()) continue;
    const o = JSON.parse(line) as { workload: string; torch_ms: number; peak_rss_mb: number };
    m.set(o.workload, { ms: o.torch_ms, rss: o.peak_rss_mb });
  }
  return m;
}

const be = backend();
const work = workloads(batch).filter((w) => !only.length || only.includes(w.name));
const rows: Row[] = work.map((w) => ({ workload: w.name, ours_ms: Infinity, torch_ms: null, ratio: null, gflops: 0,
  threads: be.threads(), backend: be.name, peak_rss_mb: 0, torch_rss_mb: null }));
let torchAvailable = false;
for (let round = 0; round < (work.length ? rounds : 0); round++) {
  work.forEach((w, i) => {
    for (let k = 0; k < warmup; k++) w.step();
    const times: number[] = [];
    for (let k = 0; k < iters; k++) {
      const t0 = process.hrtime.bigint();
      w.step();
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const r = rows[i]!;
    r.ours_ms = Math.min(r.ours_ms, median(times));
    r.gflops = w.flops === null ? null : w.flops / r.ours_ms / 1e6;
    r.peak_rss_mb = Math.round(process.resourceUsage().maxRSS / 1024);
  });
  const torch = torchTimes();
  if (!torch) continue;
  torchAvailable = true;
  for (const r of rows) {
    const t = torch.get(r.workload);
    if (t === undefined) continue;
    r.torch_ms = Math.min(r.torch_ms ?? Infinity, t.ms);
    r.torch_rss_mb = Math.max(r.torch_rss_mb ?? 0, t.rss);
  }
}
for (const r of rows) if (r.torch_ms !== null) r.ratio = r.ours_ms / r.torch_ms;

if (json) {
  for (const r of rows) process.stdout.write(JSON.stringify(r) + '\n');
} else if (rows.length) {
  const f = (v: number | null, d = 1): string => (v === null ? '—' : v.toFixed(d));
  const head = ['workload', 'ours ms', 'torch ms', 'ratio', 'GFLOP/s', 'threads', 'backend', 'peak RSS MB', 'torch RSS MB'];
  const body = rows.map((r) => [r.workload, f(r.ours_ms), f(r.torch_ms), f(r.ratio, 2), f(r.gflops), String(r.threads), r.backend, String(r.peak_rss_mb), f(r.torch_rss_mb, 0)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  for (const b of body) console.log(line(b));
  console.log(`batch ${batch}, median of ${iters} (after ${warmup} warm-up)${rounds > 1 ? `, best of ${rounds} rounds` : ''}; fwdbwd = train-mode BN, loss = output.sum(), ` +
    `all parameter grads (+ input grad for ResNet/LKA); GFLOP/s counts conv/linear work (fwd+bwd ≈ 3× fwd); ` +
    `RSS = each process's maxRSS after the row (cumulative over the rows before it: use --only for one workload's)` +
    (torchAvailable ? '' : '; torch not available'));
}

// ---- the 224² LRQ steps, one process per side and model
interface Row224 { workload: string; batch: number; threads: number; ours_ms: number | null; torch_ms: number | null; ratio: number | null;
  ours_rss_mb: number | null; torch_rss_mb: number | null; rss_ratio: number | null }
const FULLSIZE = fileURLToPath(new URL('../fixtures/fullsize/', import.meta.url));
const batch224 = Number(arg('batch224', '16'));
const iters224 = arg('iters224', '1');
/** Run one side's step process; its JSON line, or null (failure reported on stderr). */
function side(cmd: string, args: string[]): Record<string, number> | null {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, LRQ_THREADS: String(threads), OMP_NUM_THREADS: String(threads) } });
  if (r.status !== 0) {
    process.stderr.write(`bench: ${args[0]} failed (${r.status ?? r.signal}): ${(r.stderr ?? '').split('\n').slice(-3).join(' ')}\n`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
}
const rows224: Row224[] = [];
const models224 = ['resnet18', 'mobilenet_v2'].filter((m) => !only.length || only.includes(`lrq_step_${m}_224`));
if (!flag('no-224') && models224.length) {
  const missing = models224.filter((m) => !existsSync(`${FULLSIZE}${m}.onnx`));
  if (missing.length) {
    process.stderr.write(`bench: 224² LRQ step rows skipped (${missing.join(', ')} not exported): run /usr/bin/python3 tools/bench/export_fullsize.py\n`);
  }
  for (const m of models224.filter((x) => !missing.includes(x))) {
    const ours = side(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./lrq_step_224.ts', import.meta.url)),
      '--model', `${FULLSIZE}${m}.onnx`, '--batch', String(batch224), '--iters', iters224, '--warmup', '1']);
    const torch = flag('no-torch') ? null : side(python, [fileURLToPath(new URL('../../tools/bench/lrq_step_torch224.py', import.meta.url)),
      '--model', m, '--batch', String(batch224), '--iters', iters224, '--warmup', '1', '--threads', String(threads)]);
    const q = (a: number | undefined, b: number | undefined): number | null => (a !== undefined && b !== undefined ? a / b : null);
    rows224.push({ workload: `lrq_step_${m}_224`, batch: batch224, threads, ours_ms: ours?.['ours_ms'] ?? null, torch_ms: torch?.['torch_ms'] ?? null,
      ratio: q(ours?.['ours_ms'], torch?.['torch_ms']), ours_rss_mb: ours?.['peak_rss_mb'] ?? null, torch_rss_mb: torch?.['peak_rss_mb'] ?? null,
      rss_ratio: q(ours?.['peak_rss_mb'], torch?.['peak_rss_mb']) });
  }
}
if (json) {
  for (const r of rows224) process.stdout.write(JSON.stringify(r) + '\n');
} else if (rows224.length) {
  const f = (v: number | null, d = 1): string => (v === null ? '—' : v.toFixed(d));
  const head = ['workload (own process)', 'ours ms', 'torch ms', 'ratio', 'ours RSS MB', 'torch RSS MB', 'RSS ratio'];
  const body = rows224.map((r) => [r.workload, f(r.ours_ms, 0), f(r.torch_ms, 0), f(r.ratio, 2), f(r.ours_rss_mb, 0), f(r.torch_rss_mb, 0), f(r.rss_ratio, 2)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log('');
  console.log(line(head));
  for (const b of body) console.log(line(b));
  console.log(`224² LRQ step (generator + student, W4A4, 1000 classes), batch ${batch224}, ${threads} threads, median of ${iters224} after 1 warm-up; ` +
    'peak RSS = each process\'s maxRSS (targets: time ratio ≤ 1.0, RSS ratio ≤ 1.5)');
}
