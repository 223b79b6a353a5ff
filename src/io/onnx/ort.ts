// onnxruntime-node as an independent oracle: run any ONNX file (including Q/DQ models the importer does
// not cover) and evaluate it on a dataset. Rule: ORT failures become one-line LrqErrors naming the file.

import * as ort from 'onnxruntime-node';
import { Tensor } from '../../engine/tensor.js';
import { LrqError } from '../../engine/errors.js';
import type { Dataset } from '../datasets/dataset.js';
import { EvalAccumulator, type EvalResult } from '../../method/evaluate.js';
import { readModelProto, toNum } from './proto.js';

const sessions = new Map<string, Promise<ort.InferenceSession>>();

function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}

/**
 * Session options a model asks for in its metadata: `lrq.onnxruntime_session_config` = "k=v;k=v"
 * (lrq's fake-quant FP32 export needs session.disable_quant_qdq=1), as onnxruntime's `extra` entries.
 */
export function sessionOptionsFor(meta: Record<string, string>): ort.InferenceSession.SessionOptions {
  const cfg = meta['lrq.onnxruntime_session_config'];
  if (!cfg) return {};
  const extra: Record<string, Record<string, string>> = {};
  for (const kv of cfg.split(';').filter(Boolean)) {
    const [k, v] = kv.split('=');
    const dot = k!.indexOf('.');
    (extra[k!.slice(0, dot)] ??= {})[k!.slice(dot + 1)] = v ?? '';
  }
  return { extra };
}

/** metadata_props of an ONNX file. */
function metadataOf(onnxPath: string): Record<string, string> {
  const proto = readModelProto(onnxPath);
  return Object.fromEntries((proto.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
}

/** A cached onnxruntime session for a model file (with the session config its metadata asks for). */
export function ortSession(onnxPath: string): Promise<ort.InferenceSession> {
  let s = sessions.get(onnxPath);
  if (!s) {
    // clear errors for missing / corrupt files before ORT's own
    const proto = readModelProto(onnxPath);
    const meta = Object.fromEntries((proto.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
    s = ort.InferenceSession.create(onnxPath, sessionOptionsFor(meta)).catch((e: unknown) => {
      sessions.delete(onnxPath);
      throw new LrqError(`onnxruntime cannot load '${onnxPath}': ${oneLine(e)}`);
    });
    sessions.set(onnxPath, s);
  }
  return s;
}

/** y = model(x) through onnxruntime (first input, first output), as an engine float32 tensor. */
export async function ortRun(onnxPath: string, x: Tensor): Promise<Tensor> {
  const s = await ortSession(onnxPath);
  const input = new ort.Tensor('float32', Float32Array.from(x.data), [...x.shape]);
  let out: ort.InferenceSession.OnnxValueMapType;
  try {
    out = await s.run({ [s.inputNames[0]!]: input });
  } catch (e) {
    throw new LrqError(`onnxruntime failed on '${onnxPath}' with input [${x.shape.join(', ')}]: ${oneLine(e)}`);
  }
  const y = out[s.outputNames[0]!] as ort.Tensor;
  return new Tensor(Float32Array.from(y.data as Float32Array), y.dims.map(Number));
}

/** Batch size fixed by the model's input (a positive first dim), else null (dynamic). */
function fixedBatch(onnxPath: string): number | null {
  const g = readModelProto(onnxPath).graph!;
  const inits = new Set((g.initializer ?? []).map((t) => t.name));
  const inp = (g.input ?? []).find((i) => !inits.has(i.name));
  const d0 = inp?.type?.tensorType?.shape?.dim?.[0];
  const v = d0?.dimValue !== undefined && d0?.dimValue !== null ? toNum(d0.dimValue) : 0;
  return v > 0 ? v : null;
}

/** Top-1/top-5/per-class/confusion of argmax(ORT(onnxPath)(x)) over the dataset. */
export async function ortEvaluate(onnxPath: string, dataset: Dataset, opts: { batchSize?: number; limit?: number } = {}): Promise<EvalResult> {
  const fixed = fixedBatch(onnxPath);
  const bs = fixed ?? opts.batchSize ?? 500;
  const total = Math.min(dataset.size, opts.limit ?? Infinity);
  if (total <= 0) throw new LrqError('evaluate: the dataset is empty');
  const acc = new EvalAccumulator(dataset.numClasses);
  for (let s = 0; s < total; s += bs) {
    const e = Math.min(total, s + bs);
    let { x, y } = dataset.batch(s, e);
    if (fixed && e - s < fixed) {
      // a model with a fixed batch: pad the last batch with zeros and ignore the padded rows
      const padded = new Float32Array((x.size / (e - s)) * fixed);
      padded.set(x.data);
      x = new Tensor(padded, [fixed, ...x.shape.slice(1)]);
    }
    const logits = await ortRun(onnxPath, x);
    const cols = logits.shape[logits.ndim - 1]!;
    acc.add(logits.data.subarray(0, (e - s) * cols), e - s, cols, y);
  }
  return acc.result();
}

/** Latency of one onnxruntime run: median and spread over timed runs after warm-up runs (ms). */
export interface OrtLatency {
  batch: number;
  threads: number;
  medianMs: number;
  p10Ms: number;
  p90Ms: number;
}

/**
 * Median wall time of `runs` onnxruntime runs of `onnxPath` on a random input of [batch, …inputShape]
 * (all graph optimizations, `threads` intra-op threads), after `warmup` runs.
 */
export async function ortLatency(onnxPath: string, inputShape: readonly number[], batch: number, opts: { threads?: number; runs?: number; warmup?: number } = {}): Promise<OrtLatency> {
  const threads = opts.threads ?? 2, runs = opts.runs ?? 30, warmup = opts.warmup ?? 5;
  const meta = metadataOf(onnxPath);
  const s = await ort.InferenceSession.create(onnxPath, { ...sessionOptionsFor(meta), intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  try {
    const n = batch * inputShape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    let seed = 12345;
    for (let i = 0; i < n; i++) data[i] = ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 4 - 2;
    const feeds = { [s.inputNames[0]!]: new ort.Tensor('float32', data, [batch, ...inputShape]) };
    for (let i = 0; i < warmup; i++) await s.run(feeds);
    const t: number[] = [];
    for (let i = 0; i < runs; i++) {
      const a = performance.now();
      await s.run(feeds);
      t.push(performance.now() - a);
    }
    t.sort((a, b) => a - b);
    const at = (q: number) => t[Math.min(t.length - 1, Math.floor(q * t.length))]!;
    return { batch, threads, medianMs: at(0.5), p10Ms: at(0.1), p90Ms: at(0.9) };
  } finally {
    await s.release();
  }
}
