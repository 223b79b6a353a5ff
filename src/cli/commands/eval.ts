// `lrq eval` handler: accuracy of an ONNX model on a labelled dataset — through lrq's own engine when
// its importer covers the graph, else (Q/DQ exports, unsupported ops) through onnxruntime.

import { LrqError } from '../../engine/errors.js';
import { loadOnnx, readModelProto, metadata } from '../../io/onnx/index.js';
import { ortEvaluate } from '../../io/onnx/ort.js';
import { parseTriple, resolveNormalization, type Normalization } from '../../io/datasets/index.js';
import { type ShorterCrop, defaultPreprocess } from '../../io/datasets/imageFolder.js';
import { evaluate, type EvalResult } from '../../method/evaluate.js';
import { openDataset } from '../../method/data.js';
import { pct, percent } from '../../io/percent.js';

const CIFAR10 = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

function intOpt(v: string | boolean | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new LrqError(`--${name} ${String(v)}: must be a positive integer`);
  return n;
}

/** --resize <n|none> and --interpolation for image folders (undefined: the default for the input size). */
function resizeOpt(v: string | boolean | undefined, interp: string | boolean | undefined, size: [number, number]): ShorterCrop | 'none' | undefined {
  if (interp !== undefined && interp !== 'antialias' && interp !== 'bilinear' && interp !== 'nearest') throw new LrqError(`--interpolation ${String(interp)}: use antialias, bilinear or nearest`);
  if (v === undefined) {
    if (interp === undefined) return undefined;
    const d = defaultPreprocess(size);
    if (d === 'none' || typeof d === 'string') throw new LrqError(`--interpolation ${interp}: a ${size[1]}×${size[0]} input is not resized by default; give --resize <shorter side> too`);
    return { ...d, interpolation: interp };
  }
  if (v === 'none') return 'none';
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new LrqError(`--resize ${String(v)}: give the shorter side in pixels (e.g. 256) or none`);
  return { shorter: n, interpolation: (interp ?? 'antialias') as ShorterCrop['interpolation'] };
}

/** Evaluate a model file on a dataset; print (unless `print: false`) and return top-1, top-5, per-class accuracy. */
export async function runEval(opts: Record<string, string | boolean | undefined>): Promise<{ runtime: 'lrq' | 'ort'; result: EvalResult }> {
  const modelPath = String(opts['model']);
  const dataPath = String(opts['data']);
  const batchSize = intOpt(opts['batchSize'], 'batch-size') ?? 250;
  const limit = intOpt(opts['limit'], 'limit');
  const proto = readModelProto(modelPath);
  const meta = metadata(proto);
  if ((opts['mean'] === undefined) !== (opts['std'] === undefined)) throw new LrqError(`--mean and --std go together (got only ${opts['mean'] !== undefined ? '--mean' : '--std'})`);
  const dims = proto.graph?.input?.[0]?.type?.tensorType?.shape?.dim ?? [];
  const chw = dims.slice(1).map((d) => Number(d.dimValue ?? 0));
  const channels = chw.length === 3 && chw[0]! > 0 ? chw[0]! : 3;
  const size: [number, number] = chw.length === 3 && chw[1]! > 0 && chw[2]! > 0 ? [chw[1]!, chw[2]!] : [32, 32];
  const given: Normalization | null = opts['mean'] && opts['std']
    ? { mean: parseTriple(String(opts['mean']), '--mean'), std: parseTriple(String(opts['std']), '--std') }
    : null;
  // one value per model input channel; a single value is broadcast (e.g. --mean 0.5 --std 0.5 for RGB)
  const normalization = resolveNormalization(meta, given, channels);
  const resize = resizeOpt(opts['resize'], opts['interpolation'], size);
  // --limit takes images spread over the file (test sets are often stored class by class)
  const ds = openDataset(dataPath, { normalization, size, channels, resize }).spread(limit ?? 0);

  const asked = opts['runtime'];
  if (asked !== undefined && asked !== 'lrq' && asked !== 'ort') throw new LrqError(`--runtime ${String(asked)}: use lrq or ort`);
  let runtime: 'lrq' | 'ort' = asked ?? 'lrq';
  let r: EvalResult;
  if (runtime === 'lrq') {
    try {
      const model = loadOnnx(modelPath, { requireBatchNorm: false }, proto);
      r = evaluate(model, ds, { batchSize });
    } catch (e) {
      if (asked === 'lrq' || !(e instanceof LrqError) || !/unsupported ONNX ops/.test(e.message)) throw e;
      runtime = 'ort';
      r = await ortEvaluate(modelPath, ds, { batchSize });
    }
  } else {
    r = await ortEvaluate(modelPath, ds, { batchSize });
  }
  const done = { runtime, result: r };
  if (opts['print'] === false) return done;
  if (opts['json']) {
    process.stdout.write(JSON.stringify({ model: modelPath, data: dataPath, runtime, n: r.n, top1: pct(r.top1), top5: pct(r.top5), perClass: r.perClass.map((v) => percent(v)) }) + '\n');
    return done;
  }
  const names = ds.classNames ?? (ds.numClasses === 10 ? CIFAR10 : undefined);
  const out = [
    `${modelPath} on ${dataPath} (${r.n} images, runtime ${runtime})`,
    `  top-1 ${(r.top1 * 100).toFixed(2)}%   top-5 ${(r.top5 * 100).toFixed(2)}%`,
    '  per class:',
    ...r.perClass.map((v, i) => `    ${String(i).padStart(3)} ${(names?.[i] ?? '').padEnd(12)} ${(v * 100).toFixed(2)}%`),
  ];
  process.stdout.write(out.join('\n') + '\n');
  return done;
}
