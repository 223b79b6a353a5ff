// Latency of several ONNX files against the first (FP32), measured round by round in one process: each round
// times every file (the fastest of `per` back-to-back runs), so load from other processes on a shared machine
// hits all of them alike. Rule: a file's speed-up is the median over rounds of that round's FP32 ms / file ms,
// never a ratio of medians taken at different times.

import * as ort from 'onnxruntime-node';
import { readModelProto } from '../../src/io/onnx/proto.js';
import { sessionOptionsFor } from '../../src/io/onnx/ort.js';

export interface Interleaved {
  /** Median over rounds of each file's time (ms), in input order. */
  ms: number[];
  /** Median over rounds of FP32 ms / file ms, and its min and max. */
  speedup: number[];
  range: [number, number][];
}

/** Time `files` (files[0] the FP32 reference) at `batch`, 2 threads, level all, `rounds` rounds. */
export async function interleavedLatency(files: string[], inputShape: readonly number[], batch: number, rounds: number, per = 3): Promise<Interleaved> {
  const n = batch * inputShape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let seed = 12345;
  for (let i = 0; i < n; i++) data[i] = ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 4 - 2;
  const sessions = [];
  for (const f of files) {
    const meta = Object.fromEntries((readModelProto(f).metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
    sessions.push(await ort.InferenceSession.create(f, { ...sessionOptionsFor(meta), intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all' }));
  }
  try {
    const feeds = sessions.map((s) => ({ [s.inputNames[0]!]: new ort.Tensor('float32', data, [batch, ...inputShape]) }));
    for (let k = 0; k < sessions.length; k++) for (let i = 0; i < 3; i++) await sessions[k]!.run(feeds[k]!);
    const t: number[][] = files.map(() => []);
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < sessions.length; k++) {
        let best = Infinity;
        for (let i = 0; i < per; i++) {
          const a = performance.now();
          await sessions[k]!.run(feeds[k]!);
          best = Math.min(best, performance.now() - a);
        }
        t[k]!.push(best);
      }
    }
    const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;
    const ratios = t.map((tk) => tk.map((v, r) => t[0]![r]! / v));
    return { ms: t.map(med), speedup: ratios.map(med), range: ratios.map((x) => [Math.min(...x), Math.max(...x)] as [number, number]) };
  } finally {
    for (const s of sessions) await s.release();
  }
}
