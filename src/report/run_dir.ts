// The run-directory contract: what `lrq quantize` writes into runs/<name>/ and what export/report read.
// Rule: every file is plain JSON/JSONL or raw little-endian float32, readable without any training code;
// a missing optional file only hides a report section, a malformed one is a one-line LrqError.
//
//   config.json       the resolved QuantizeConfig (any JSON object; shown verbatim in the report)
//   log.jsonl         one object per line:
//                       {type:'iter',  epoch, iter, lossG?, lossS?, lossBNS?, lossCE?, lossKD?, lr?, …numbers}
//                       {type:'epoch', epoch, top1?, top5?, lossG?, lossS?, seconds?, …numbers}
//                       {type:'select', images, source, temperature, epoch, kl, scores:[{epoch, kl, kl1, disagree}]}
//                       {type:'lr-probe', epoch, lambda, cap, lrS}
//                     (top1/top5 in percent, of the quantized student on the eval set after that epoch;
//                     'select' only with --select synth-kl: the candidates' scores and the kept epoch;
//                     'lr-probe' at each student epoch's start with --lr-s-cap curvature: the loss curvature,
//                     the LR limit it gives and the LR the epoch trains with)
//   eval.json         EvalFile: FP teacher and quantized student on the eval set (top-1/5 %, per-class %, confusion)
//   layers.json       LayerRecord[]: one row per quantized conv/linear (weights) and per quantized activation
//   summary.json      SummaryFile: name, method, bits, start/end time, seconds, images/s, notes
//   synth.json + synth.bin   synthetic images from the final generator: float32 NCHW (normalized space)
//                     in synth.bin, {shape:[N,C,H,W], labels:number[], mean:number[], std:number[]} in synth.json
//   synth.png         alternatively a ready-made grid (used as is when synth.bin is absent)
//   export_spec.json + export_spec.bin   the ExportSpec of the final student (see writeExportSpec)
//   export.json       ExportResult[] written by `lrq export` (paths, forms, size report)
//   report.html       written by `lrq report`
//   epochs/student-eNNN.safetensors   with --select synth-kl: the student after epoch NNN (1-based), for
//                     the last --select-epochs epochs (student.safetensors is the kept one)
//   lock.json         PID, host and start time of the process running in this directory (removed at its exit)
//   checkpoint.safetensors, student.safetensors, student.best.safetensors, generator.safetensors
//                     weights (safetensors; read by --resume and `lrq export`/`lrq synth`)

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LrqError } from '../engine/errors.js';
import { readJsonl } from '../io/jsonl.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { ExportSpec } from '../io/onnx_export/spec.js';
import type { ExportResult } from '../io/onnx_export/export.js';

/** Accuracy of one model on the eval set. */
export interface EvalMetrics {
  /** Top-1 / top-5 accuracy in percent. */
  top1: number;
  top5: number;
  /** Per-class top-1 accuracy in percent, index = class id. */
  perClass: number[];
  /** confusion[true][predicted] = count. */
  confusion: number[][];
}

export interface EvalFile {
  /** Human name of the eval set, e.g. "CIFAR-10 test (JPEG q75)". */
  dataset: string;
  images: number;
  classes?: string[];
  fp: EvalMetrics;
  quant: EvalMetrics;
}

/** One per-layer row. A weight row has wbits/weightRange, an activation row abits/actRange. */
export interface LayerRecord {
  /** Module path (or ONNX name). */
  name: string;
  kind: 'conv' | 'linear' | 'act';
  wbits?: number;
  abits?: number;
  /** [min over channels of lo, max over channels of hi] of the weight grid. */
  weightRange?: [number, number];
  /** [lo, hi] of the activation quantizer. */
  actRange?: [number, number];
  /** Mean squared error between FP and fake-quantized values (weights: over the tensor; activations: on the last eval batch). */
  mse?: number;
  /** Parameter count (weight layers). */
  params?: number;
}

export interface SummaryFile {
  name: string;
  method: string;
  model: string;
  wbits: number;
  abits: number;
  startedAt?: string;
  finishedAt?: string;
  seconds?: number;
  epochs?: number;
  itersPerEpoch?: number;
  backend?: string;
  threads?: number;
  notes?: string[];
  /** Quantization scheme ('paper' | 'deploy'). */
  scheme?: string;
  /** Each exported file as measured in onnxruntime (see method/export_run.ts ExportedForm). */
  exports?: { file: string; form: string; purpose: string; bytes: number; top1: number | null; ms1: number | null; ms64: number | null; fp32Ms1: number | null; fp32Ms64: number | null; floatLayers?: string[]; kernels?: Record<string, number> }[];
  /** The file to deploy and why. */
  deploy?: { file: string; why: string } | null;
}

export interface SynthImages {
  images: Float32Array;
  shape: [number, number, number, number];
  labels: number[];
  mean: number[];
  std: number[];
}

/** Everything the report can show; absent files are undefined. */
export interface RunData {
  dir: string;
  config?: Record<string, unknown>;
  log: Record<string, unknown>[];
  eval?: EvalFile;
  layers?: LayerRecord[];
  summary?: SummaryFile;
  synth?: SynthImages;
  synthPng?: Buffer;
  exports?: ExportResult[];
}

function readJson<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    throw new LrqError(`${path}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
}

/** Read a run directory (LrqError if it does not exist or a file is malformed). */
export function readRunDir(dir: string): RunData {
  if (!existsSync(dir)) throw new LrqError(`run directory '${dir}' does not exist`);
  const data: RunData = { dir, log: readJsonl(join(dir, 'log.jsonl')) };
  data.config = readJson(join(dir, 'config.json'));
  data.eval = readJson(join(dir, 'eval.json'));
  data.layers = readJson(join(dir, 'layers.json'));
  data.summary = readJson(join(dir, 'summary.json'));
  data.exports = readJson(join(dir, 'export.json'));
  if (data.eval) validateEval(data.eval, join(dir, 'eval.json'));
  data.synth = readSynth(dir);
  if (!data.synth && existsSync(join(dir, 'synth.png'))) data.synthPng = readFileSync(join(dir, 'synth.png'));
  return data;
}

function validateEval(e: EvalFile, path: string): void {
  for (const k of ['fp', 'quant'] as const) {
    const m = e[k];
    if (!m || typeof m.top1 !== 'number' || !Array.isArray(m.perClass) || !Array.isArray(m.confusion)) throw new LrqError(`${path}: '${k}' needs top1, top5, perClass[] and confusion[][]`);
  }
}

/** Synthetic images saved by the run, or undefined. */
export function readSynth(dir: string): SynthImages | undefined {
  const meta = readJson<Omit<SynthImages, 'images'>>(join(dir, 'synth.json'));
  if (!meta) return undefined;
  const binPath = join(dir, 'synth.bin');
  if (!existsSync(binPath)) throw new LrqError(`${dir}: synth.json present but synth.bin missing`);
  const buf = readFileSync(binPath);
  const n = meta.shape.reduce((a, b) => a * b, 1);
  if (buf.length !== n * 4) throw new LrqError(`${binPath}: ${buf.length} bytes, shape [${meta.shape.join(', ')}] needs ${n * 4}`);
  if (meta.labels.length !== meta.shape[0]) throw new LrqError(`${dir}/synth.json: ${meta.labels.length} labels for ${meta.shape[0]} images`);
  const images = new Float32Array(n);
  for (let i = 0; i < n; i++) images[i] = buf.readFloatLE(i * 4);
  return { ...meta, images };
}

/** Write synth.json + synth.bin (images float32 NCHW in the normalized space). */
export function writeSynth(dir: string, s: SynthImages): void {
  const buf = Buffer.alloc(s.images.length * 4);
  s.images.forEach((v, i) => buf.writeFloatLE(v, i * 4));
  writeFileAtomic(join(dir, 'synth.bin'), buf);
  writeFileAtomic(join(dir, 'synth.json'), JSON.stringify({ shape: s.shape, labels: s.labels, mean: s.mean, std: s.std }) + '\n');
}

/** Write one of the JSON files of the contract (atomically). */
export function writeRunJson(dir: string, file: 'config.json' | 'eval.json' | 'layers.json' | 'summary.json' | 'export.json', value: unknown): void {
  writeFileAtomic(join(dir, file), JSON.stringify(value, null, 1) + '\n');
}

/** Format version of export_spec.json; readExportSpec refuses any other. */
export const EXPORT_SPEC_VERSION = 1;

interface SpecJson {
  version?: number;
  model: string;
  foldBn?: boolean;
  scheme?: 'paper' | 'deploy';
  folded?: { bn: string; conv: string; bias: number[] }[];
  metadata?: Record<string, string>;
  weights: Record<string, { bits: number; lo?: number[]; hi?: number[] }>;
  activations: Record<string, { bits: number; lo: number; hi: number }>;
  /** Initializer name → [offset, length] in float32 elements of export_spec.bin. */
  initializers: Record<string, [number, number]>;
}

/**
 * Save the final student's ExportSpec: JSON for names/bits/ranges, float32 values of updated initializers
 * in export_spec.bin. `model` is the original ONNX path the spec refers to.
 */
export function writeExportSpec(dir: string, model: string, spec: ExportSpec): void {
  const inits: Record<string, [number, number]> = {};
  let total = 0;
  for (const [name, v] of spec.initializers ?? []) { inits[name] = [total, v.length]; total += v.length; }
  const bin = Buffer.alloc(total * 4);
  for (const [name, v] of spec.initializers ?? []) v.forEach((x, i) => bin.writeFloatLE(x, (inits[name]![0] + i) * 4));
  const json: SpecJson = {
    version: EXPORT_SPEC_VERSION, model, foldBn: spec.foldBn, metadata: spec.metadata,
    ...(spec.scheme ? { scheme: spec.scheme } : {}),
    ...(spec.folded ? { folded: spec.folded.map((f) => ({ bn: f.bn, conv: f.conv, bias: [...f.bias] })) } : {}),
    weights: Object.fromEntries([...spec.weights].map(([k, w]) => [k, { bits: w.bits, lo: w.lo && [...w.lo], hi: w.hi && [...w.hi] }])),
    activations: Object.fromEntries(spec.activations),
    initializers: inits,
  };
  writeFileAtomic(join(dir, 'export_spec.bin'), bin);
  writeFileAtomic(join(dir, 'export_spec.json'), JSON.stringify(json) + '\n');
}

/** Load the ExportSpec saved by writeExportSpec; returns it with the original model path. */
export function readExportSpec(dir: string): { model: string; spec: ExportSpec } {
  const json = readJson<SpecJson>(join(dir, 'export_spec.json'));
  if (!json) throw new LrqError(`${dir}: no export_spec.json (is this a finished lrq run directory?)`);
  if (json.version !== EXPORT_SPEC_VERSION) throw new LrqError(`${dir}/export_spec.json: format version ${json.version ?? '(none)'}, this lrq reads version ${EXPORT_SPEC_VERSION} — re-run the quantization with this lrq`);
  if (typeof json.model !== 'string' || !existsSync(json.model)) throw new LrqError(`${dir}/export_spec.json: the run's source model '${String(json.model)}' no longer exists (the export edits that ONNX file)`);
  const binPath = join(dir, 'export_spec.bin');
  const bin = existsSync(binPath) ? readFileSync(binPath) : Buffer.alloc(0);
  const initializers = new Map<string, Float32Array>();
  for (const [name, [off, len]] of Object.entries(json.initializers ?? {})) {
    if ((off + len) * 4 > bin.length) throw new LrqError(`${binPath}: too short for initializer '${name}' (truncated file?)`);
    initializers.set(name, Float32Array.from({ length: len }, (_, i) => bin.readFloatLE((off + i) * 4)));
  }
  const f32 = (a?: number[]) => (a ? Float32Array.from(a) : undefined);
  return {
    model: json.model,
    spec: {
      initializers,
      weights: new Map(Object.entries(json.weights ?? {}).map(([k, w]) => [k, { bits: w.bits, lo: f32(w.lo), hi: f32(w.hi) }])),
      activations: new Map(Object.entries(json.activations ?? {})),
      foldBn: json.foldBn,
      metadata: json.metadata,
      ...(json.scheme ? { scheme: json.scheme } : {}),
      ...(json.folded ? { folded: json.folded.map((f) => ({ bn: f.bn, conv: f.conv, bias: Float32Array.from(f.bias) })) } : {}),
    },
  };
}
