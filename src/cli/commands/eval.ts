// `lrq eval` handler: accuracy of an ONNX model on a labelled dataset — through lrq's own engine when
// its importer covers the graph, else (Q/DQ exports, unsupported ops) through onnxruntime.

import { LrqError } from '../../engine/errors.js';
import { loadOnnx, readModelProto, metadata } from '../../io/onnx/index.js';
import { ortEvaluate } from '../../io/onnx/ort.js';
import { DEFAULT_NORMALIZATION, normalizationFromMetadata, parseTriple, type Normalization } from '../../io/datasets/index.js';
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

/** Evaluate a model file on a dataset; print (unless `print: false`) and return top-1, top-5, per-class accuracy. */
export async function runEval(opts: Record<string, string | boolean | undefined>): Promise<{ runtime: 'lrq' | 'ort'; result: EvalResult }> {
  const modelPath = String(opts['model']);
  const dataPath = String(opts['data']);
  const batchSize = intOpt(opts['batchSize'], 'batch-size') ?? 250;
  const limit = intOpt(opts['limit'], 'limit');
  const proto = readModelProto(modelPath);
  const meta = metadata(proto);
  const normalization: Normalization = opts['mean'] && opts['std']
    ? { mean: parseTriple(String(opts['mean']), '--mean'), std: parseTriple(String(opts['std']), '--std') }
    : normalizationFromMetadata(meta) ?? DEFAULT_NORMALIZATION;
  const dims = proto.graph?.input?.[0]?.type?.tensorType?.shape?.dim ?? [];
  const hw = dims.slice(2).map((d) => Number(d.dimValue ?? 0));
  const size: [number, number] = hw.length === 2 && hw[0]! > 0 && hw[1]! > 0 ? [hw[0]!, hw[1]!] : [32, 32];
  // --limit takes images spread over the file (test sets are often stored class by class)
  const ds = openDataset(dataPath, { normalization, size }).spread(limit ?? 0);

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
