// `npm run bench:engine [-- --json] [--threads N] [--iters N] [--rounds R] [--batch N] [--only a,b] [--no-torch]`:
// times the engine workloads (bench/engine/workloads.ts) and, when /usr/bin/python3 has torch, the same
// workloads in PyTorch with the same thread count (tools/bench/engine_torch.py), run one after the other
// so they never compete for cores. Each round times ours then torch; a workload's time is the median of
// its iterations, and with R rounds the best round's median (rounds alternate the two sides, so a burst
// of load from other processes does not land on one side only). ratio = ours / torch (≤ 1: we are faster).

import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

interface Row {
  workload: string;
  ours_ms: number;
  torch_ms: number | null;
  ratio: number | null;
  gflops: number | null;
  threads: number;
  backend: string;
  peak_rss_mb: number;
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

/** Torch medians by workload name, or null when python/torch is unavailable (or --no-torch). */
function torchTimes(): Map<string, number> | null {
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
  const m = new Map<string, number>();
  for (const line of r.stdout.split('\n')) {
    if (!line.trim()) continue;
    const o = JSON.parse(line) as { workload: string; torch_ms: number };
    m.set(o.workload, o.torch_ms);
  }
  return m;
}

const be = backend();
const work = workloads(batch).filter((w) => !only.length || only.includes(w.name));
const rows: Row[] = work.map((w) => ({ workload: w.name, ours_ms: Infinity, torch_ms: null, ratio: null, gflops: 0,
  threads: be.threads(), backend: be.name, peak_rss_mb: 0 }));
let torchAvailable = false;
for (let round = 0; round < rounds; round++) {
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
    if (t !== undefined) r.torch_ms = Math.min(r.torch_ms ?? Infinity, t);
  }
}
for (const r of rows) if (r.torch_ms !== null) r.ratio = r.ours_ms / r.torch_ms;

if (json) {
  for (const r of rows) process.stdout.write(JSON.stringify(r) + '\n');
} else {
  const f = (v: number | null, d = 1): string => (v === null ? '—' : v.toFixed(d));
  const head = ['workload', 'ours ms', 'torch ms', 'ratio', 'GFLOP/s', 'threads', 'backend', 'peak RSS MB'];
  const body = rows.map((r) => [r.workload, f(r.ours_ms), f(r.torch_ms), f(r.ratio, 2), f(r.gflops), String(r.threads), r.backend, String(r.peak_rss_mb)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  for (const b of body) console.log(line(b));
  console.log(`batch ${batch}, median of ${iters} (after ${warmup} warm-up)${rounds > 1 ? `, best of ${rounds} rounds` : ''}; fwdbwd = train-mode BN, loss = output.sum(), ` +
    `all parameter grads (+ input grad for ResNet/LKA); GFLOP/s counts conv/linear work (fwd+bwd ≈ 3× fwd)` +
    (torchAvailable ? '' : '; torch not available'));
}
