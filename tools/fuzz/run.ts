// `npm run fuzz`: seeded ONNX and dataset mutants through the importer and `lrq eval`. Cases run
// in-process in a few long-lived workers (tools/fuzz/worker.ts) under a per-case timeout and an RSS
// cap enforced from here (kill + respawn); a sample also runs through the real CLI in a child process
// each, checking exit status and that stderr is one `lrq: …` line. Rule: every case must end in a
// one-line error or a valid result — a crash, hang, stack trace or memory blow-up is a failure,
// printed with the id that reproduces it (`npm run fuzz -- --case <id>`).

import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CaseReport } from './worker.js';
import { materialize } from './mutate.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** Options of runFuzz. */
export interface FuzzOptions {
  seed: number;
  onnx: number;
  data: number;
  idx: number;
  /** Cases (taken evenly from the ONNX, dataset and IDX lists) also run through the CLI in a child process. */
  cli: number;
  workers: number;
  /** Per-case wall-clock limit (ms); in-process cases and CLI runs alike. */
  timeoutMs: number;
  /** Per-process resident-memory cap (MB). */
  memMb: number;
  /** Run only these case ids. */
  cases?: string[];
  log?: (s: string) => void;
}

/** One case's final record: an in-process outcome plus watchdog outcomes (hang, memory, died). */
export interface FuzzRecord extends Omit<CaseReport, 'outcome'> {
  outcome: CaseReport['outcome'] | 'hang' | 'memory' | 'died' | 'cli-ok' | 'cli-fail';
  where: 'worker' | 'cli';
  peakMb: number;
}

export interface FuzzSummary {
  records: FuzzRecord[];
  failures: FuzzRecord[];
  wallMs: number;
}

const FAIL = new Set(['crash', 'hang', 'memory', 'died', 'cli-fail']);

/** Resident set size of a process in MB (0 once it is gone). */
function rssMb(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Case ids of a run: onnx:S:0…, data:S:0…, idx:S:0…. */
export function caseIds(o: Pick<FuzzOptions, 'seed' | 'onnx' | 'data' | 'idx'>): string[] {
  const ids: string[] = [];
  for (let i = 0; i < o.onnx; i++) ids.push(`onnx:${o.seed}:${i}`);
  for (let i = 0; i < o.data; i++) ids.push(`data:${o.seed}:${i}`);
  for (let i = 0; i < o.idx; i++) ids.push(`idx:${o.seed}:${i}`);
  return ids;
}

const childEnv = { ...process.env, LRQ_THREADS: '1', LRQ_DEBUG: '' };

/** Run `ids` over `n` workers; each case gets `timeoutMs` and the worker at most `memMb` of RSS. */
async function runInWorkers(ids: string[], o: FuzzOptions, scratch: string): Promise<FuzzRecord[]> {
  const out: FuzzRecord[] = [];
  let next = 0;
  const RECYCLE = 150;
  const one = async (): Promise<void> => {
    while (next < ids.length) {
      // a fresh worker per RECYCLE cases (bounds leaks) or after a kill
      const w: ChildProcess = fork(WORKER, [], { execArgv: ['--import', 'tsx', '--max-old-space-size=2048'], env: childEnv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      let stderr = '';
      w.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
      await new Promise<void>((res, rej) => {
        w.once('message', () => res());
        w.once('exit', (code) => rej(new Error(`fuzz worker failed to start (exit ${code}): ${stderr}`)));
      });
      let done = 0;
      let alive = true;
      while (alive && done < RECYCLE && next < ids.length) {
        const id = ids[next++]!;
        const dir = join(scratch, id.replace(/:/g, '_'));
        const t0 = Date.now();
        let peak = 0;
        const rec = await new Promise<FuzzRecord>((res) => {
          const finish = (r: FuzzRecord) => {
            clearTimeout(timer);
            clearInterval(poll);
            w.removeAllListeners('message');
            w.removeAllListeners('exit');
            res(r);
          };
          const killed = (outcome: FuzzRecord['outcome'], message: string) => {
            alive = false;
            w.kill('SIGKILL');
            finish({ id, mutation: safeMutation(id), outcome, message, ms: Date.now() - t0, where: 'worker', peakMb: peak });
          };
          const timer = setTimeout(() => killed('hang', `no answer after ${o.timeoutMs} ms`), o.timeoutMs);
          const poll = setInterval(() => {
            peak = Math.max(peak, rssMb(w.pid));
            if (peak > o.memMb) killed('memory', `worker RSS ${peak.toFixed(0)} MB > ${o.memMb} MB`);
          }, 50);
          w.on('message', (r: CaseReport) => finish({ ...r, where: 'worker', peakMb: Math.max(peak, rssMb(w.pid)) }));
          w.on('exit', (code, sig) => {
            alive = false;
            finish({ id, mutation: safeMutation(id), outcome: 'died', message: `worker exited (${sig ?? code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`, ms: Date.now() - t0, where: 'worker', peakMb: peak });
          });
          w.send({ id, dir });
        });
        // a crash report sent from the worker's exit handler is followed by its exit: let it go
        if (rec.outcome === 'crash' && w.exitCode === null) await new Promise((r) => setTimeout(r, 20));
        if (w.exitCode !== null || w.signalCode !== null) alive = false;
        rmSync(dir, { recursive: true, force: true });
        out.push(rec);
        done++;
        if (FAIL.has(rec.outcome)) o.log?.(`  FAIL ${rec.id} ${rec.mutation}: ${rec.outcome} ${rec.message}`);
        if (out.length % 100 === 0) o.log?.(`  ${out.length}/${ids.length} cases`);
      }
      if (alive) w.kill();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.workers) }, one));
  return out;
}

function safeMutation(id: string): string {
  try {
    const d = mkdtempSync(join(tmpdir(), 'lrq-fuzz-m-'));
    const m = materialize(id, d).mutation;
    rmSync(d, { recursive: true, force: true });
    return m;
  } catch {
    return '?';
  }
}

/** `lrq eval` on one case in a child process: exit 0 with output, or non-zero with one `lrq: ` line. */
function runCli(id: string, o: FuzzOptions, scratch: string): Promise<FuzzRecord> {
  const dir = join(scratch, `cli_${id.replace(/:/g, '_')}`);
  const c = materialize(id, dir);
  const t0 = Date.now();
  return new Promise((res) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'eval', '--model', c.model, '--data', c.data, '--batch-size', '10'], { cwd: ROOT, env: childEnv });
    let so = '', se = '', peak = 0, why = '';
    p.stdout.on('data', (d: Buffer) => (so = (so + d.toString()).slice(-20000)));
    p.stderr.on('data', (d: Buffer) => (se = (se + d.toString()).slice(-20000)));
    const timer = setTimeout(() => ((why = `hang: no exit after ${o.timeoutMs} ms`), p.kill('SIGKILL')), o.timeoutMs);
    const poll = setInterval(() => {
      peak = Math.max(peak, rssMb(p.pid));
      if (peak > o.memMb) ((why = `memory: RSS ${peak.toFixed(0)} MB > ${o.memMb} MB`), p.kill('SIGKILL'));
    }, 50);
    p.on('close', (code, sig) => {
      clearTimeout(timer);
      clearInterval(poll);
      rmSync(dir, { recursive: true, force: true });
      const lines = se.trim() === '' ? [] : se.trim().split('\n');
      let bad = why;
      if (!bad && sig) bad = `killed by ${sig}`;
      if (!bad && code === 0 && !/top-1/.test(so)) bad = 'exit 0 without a result';
      if (!bad && code === 0 && lines.length) bad = `exit 0 but stderr: ${lines[0]}`;
      if (!bad && code !== 0 && (lines.length !== 1 || !lines[0]!.startsWith('lrq: '))) bad = `exit ${code}, stderr is ${lines.length} lines: ${lines.slice(0, 3).join(' | ').slice(0, 400)}`;
      const msg = bad || (code === 0 ? so.split('\n')[1]?.trim() ?? '' : lines[0]!);
      res({ id, mutation: c.mutation, outcome: bad ? 'cli-fail' : 'cli-ok', message: msg, ms: Date.now() - t0, where: 'cli', peakMb: peak });
    });
  });
}

/** Run the fuzz set described by `o` and return every record. */
export async function runFuzz(o: FuzzOptions): Promise<FuzzSummary> {
  const t0 = Date.now();
  const scratch = mkdtempSync(join(tmpdir(), 'lrq-fuzz-'));
  try {
    const ids = o.cases ?? caseIds(o);
    const records = await runInWorkers(ids, o, scratch);
    // CLI sample: spread over the ONNX, dataset and IDX cases
    const pool = ids;
    const k = Math.min(o.cli, pool.length);
    const cliIds = Array.from({ length: k }, (_, i) => pool[Math.floor((i * pool.length) / k)]!);
    let ci = 0;
    const cliOne = async () => {
      while (ci < cliIds.length) {
        const r = await runCli(cliIds[ci++]!, o, scratch);
        records.push(r);
        if (FAIL.has(r.outcome)) o.log?.(`  FAIL ${r.id} ${r.mutation}: cli ${r.message}`);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, o.workers) }, cliOne));
    return { records, failures: records.filter((r) => FAIL.has(r.outcome)), wallMs: Date.now() - t0 };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Summary lines: counts by kind and outcome, slowest case, peak memory, failures with reproducers. */
export function summarize(s: FuzzSummary): string[] {
  const kinds = ['onnx', 'data', 'idx'];
  const outcomes = ['result', 'error', 'skipped', 'crash', 'hang', 'memory', 'died', 'cli-ok', 'cli-fail'];
  const lines = [`lrq fuzz: ${s.records.filter((r) => r.where === 'worker').length} in-process cases + ${s.records.filter((r) => r.where === 'cli').length} CLI runs in ${(s.wallMs / 1000).toFixed(1)} s`];
  for (const k of kinds) {
    const rs = s.records.filter((r) => r.id.startsWith(`${k}:`));
    if (!rs.length) continue;
    const by = outcomes.map((o) => [o, rs.filter((r) => r.outcome === o).length] as const).filter(([, n]) => n > 0);
    lines.push(`  ${k.padEnd(5)} ${String(rs.length).padStart(5)}: ${by.map(([o, n]) => `${o} ${n}`).join(', ')}`);
  }
  const w = s.records.filter((r) => r.where === 'worker');
  if (w.length) {
    const slow = w.reduce((a, b) => (b.ms > a.ms ? b : a));
    lines.push(`  slowest in-process case ${slow.id} (${slow.mutation}) ${slow.ms} ms; peak worker RSS ${Math.max(...w.map((r) => r.peakMb)).toFixed(0)} MB`);
  }
  const skipped = s.records.find((r) => r.outcome === 'skipped');
  if (skipped) lines.push(`  skipped: ${skipped.message}`);
  lines.push(s.failures.length ? `  ${s.failures.length} FAILURES:` : '  0 failures (no crash, hang, stack trace or memory blow-up)');
  for (const f of s.failures) lines.push(`    ${f.id} [${f.mutation}] ${f.outcome}: ${f.message}   (reproduce: npm run fuzz -- --case ${f.id})`);
  return lines;
}

function parseArgs(argv: string[]): FuzzOptions & { verbose: boolean } {
  const o: FuzzOptions & { verbose: boolean } = { seed: 1, onnx: 1000, data: 250, idx: 60, cli: 60, workers: 2, timeoutMs: 60000, memMb: 3072, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--seed') o.seed = Number(v());
    else if (a === '--onnx') o.onnx = Number(v());
    else if (a === '--data') o.data = Number(v());
    else if (a === '--idx') o.idx = Number(v());
    else if (a === '--cli') o.cli = Number(v());
    else if (a === '--workers') o.workers = Number(v());
    else if (a === '--timeout') o.timeoutMs = Number(v()) * 1000;
    else if (a === '--mem') o.memMb = Number(v());
    else if (a === '--case') (o.cases ??= []).push(v());
    else if (a === '--verbose') o.verbose = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write('npm run fuzz -- [--seed N] [--onnx N] [--data N] [--idx N] [--cli N] [--workers N] [--timeout s] [--mem MB] [--case id] [--verbose]\n  defaults: seed 1, 1000 ONNX, 250 dataset, 60 IDX and 60 CLI mutants, 2 workers, 60 s and 3072 MB per case\n');
      process.exit(0);
    } else throw new Error(`unknown option ${a} (use --seed, --onnx, --data, --idx, --cli, --workers, --timeout s, --mem MB, --case id, --verbose)`);
  }
  return o;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  let o: ReturnType<typeof parseArgs>;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`fuzz: ${(e as Error).message}\n`);
    process.exit(2);
  }
  if (o.cases) o.cli = o.cases.length;
  o.log = (s) => process.stderr.write(s + '\n');
  const s = await runFuzz(o);
  if (o.verbose || o.cases) for (const r of s.records) process.stdout.write(`${r.id} [${r.mutation}] ${r.where} ${r.outcome} ${r.ms} ms: ${r.message}\n`);
  process.stdout.write(summarize(s).join('\n') + '\n');
  process.exit(s.failures.length ? 1 : 0);
}
