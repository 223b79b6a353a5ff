// Fuzz worker: a long-lived child of tools/fuzz/run.ts that runs many cases in-process, one at a time,
// and reports each outcome over IPC. The parent owns the timeout and memory watchdogs (it kills and
// respawns this process), so a hang or an allocation blow-up costs one case, not the run.
// Rule: an outcome is `error` only for what the CLI would print as one line (LrqError or ENOENT,
// single-line message); any other throw is a `crash`.

import { rmSync } from 'node:fs';
import { LrqError } from '../../src/engine/errors.js';
import { Tensor, noGrad } from '../../src/engine/tensor.js';
import { loadOnnx } from '../../src/io/onnx/index.js';
import { runEval } from '../../src/cli/commands/eval.js';
import { materialize, type Materialized } from './mutate.js';

/** What one case ended in. */
export type Outcome = 'result' | 'error' | 'crash' | 'skipped';
export interface CaseReport {
  id: string;
  mutation: string;
  outcome: Outcome;
  message: string;
  ms: number;
}

/** Longest one-line message accepted as a readable error. */
export const MAX_MESSAGE = 1000;

/** The user-facing error line the CLI would print for `e`, or null when the CLI would show a stack trace. */
export function userErrorLine(e: unknown): string | null {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (!(e instanceof LrqError) && code !== 'ENOENT') return null;
  const msg = (e as Error).message;
  if (!msg || msg.includes('\n') || msg.length > MAX_MESSAGE) return null;
  return msg;
}

async function runCase(c: Materialized): Promise<string> {
  if (c.mode === 'eval') {
    const { runtime, result } = await runEval({ model: c.model, data: c.data, batchSize: '10', print: false });
    return `${runtime} top-1 ${(result.top1 * 100).toFixed(1)}% on ${result.n}`;
  }
  if (c.mode === 'import') {
    const g = loadOnnx(c.model, { requireBatchNorm: false });
    const shape = g.inputShape.map((d, i) => d ?? (i === 0 ? 2 : 16));
    const n = shape.reduce((a, b) => a * b, 1);
    if (shape.length === 0 || n > 4e6) return `imported (input [${shape.join(', ')}] not run)`;
    const y = noGrad(() => g.forward(new Tensor(new Float32Array(n).fill(0.5), shape)));
    return `logits [${y.shape.join(', ')}]`;
  }
  throw new Error(`unknown case mode ${String(c.mode)}`);
}

class SkipCase extends Error {}

let current: { id: string; mutation: string; t0: number } | null = null;

function send(r: CaseReport): void {
  process.send!(r);
}

function crashReport(e: unknown): CaseReport | null {
  if (!current) return null;
  const err = e instanceof Error ? e : new Error(String(e));
  const frame = (err.stack ?? '').split('\n').find((l) => l.trim().startsWith('at ')) ?? '';
  return { id: current.id, mutation: current.mutation, outcome: 'crash', message: `${err.name}: ${err.message.split('\n')[0]!.slice(0, 300)} ${frame.trim()}`, ms: Date.now() - current.t0 };
}

// a rejection that escapes the case (an un-awaited promise) is a crash of the case that made it
for (const ev of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(ev, (e: unknown) => {
    const r = crashReport(e);
    if (r) send(r);
    process.exit(70);
  });
}

process.on('message', async (msg: { id: string; dir: string }) => {
  const t0 = Date.now();
  let c: Materialized;
  try {
    c = materialize(msg.id, msg.dir);
  } catch (e) {
    send({ id: msg.id, mutation: '?', outcome: 'crash', message: `generator failed: ${(e as Error).message}`, ms: 0 });
    return;
  }
  current = { id: c.id, mutation: c.mutation, t0 };
  let rep: CaseReport;
  try {
    const what = await runCase(c);
    rep = { id: c.id, mutation: c.mutation, outcome: 'result', message: what, ms: Date.now() - t0 };
  } catch (e) {
    if (e instanceof SkipCase) rep = { id: c.id, mutation: c.mutation, outcome: 'skipped', message: e.message, ms: 0 };
    else {
      const line = userErrorLine(e);
      rep = line !== null ? { id: c.id, mutation: c.mutation, outcome: 'error', message: line, ms: Date.now() - t0 } : crashReport(e)!;
    }
  }
  current = null;
  rmSync(msg.dir, { recursive: true, force: true });
  send(rep);
});

process.send!({ ready: true });
