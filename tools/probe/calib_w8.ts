// Probe: data-free naive calibration of a deploy-scheme student (untrained-generator batches) with each range
// mode and batch count → int8 export → onnxruntime top-1 on the test set (all images by default).
// Usage: node --import tsx tools/probe/calib_w8.ts <model.onnx> <wbits> <abits> <mode:batches[:pixels],…> [mean std]
// (':pixels': the student knows the normalization, so the deploy scheme fixes its input quantizer to the
// normalized pixel range instead of observing the generator images')
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOnnx } from '../../src/io/onnx/index.js';
import { ortEvaluate } from '../../src/io/onnx/ort.js';
import { exportDeploy } from '../../src/io/onnx_export/deploy_export.js';
import { openDataset } from '../../src/method/data.js';
import { naiveCalibrate } from '../../src/method/naive.js';
import { buildExportSpec } from '../../src/method/artifacts.js';
import type { RangeMode } from '../../src/quant/observer.js';
import { normalizedPixelRange } from '../../src/io/datasets/index.js';

const [model, wb, ab, variants, mean, std] = process.argv.slice(2);
const norm = { mean: (mean ?? '0.485,0.456,0.406').split(',').map(Number), std: (std ?? '0.229,0.224,0.225').split(',').map(Number) };
const ds = openDataset('/work/shared/data/cifar10/cifar10-test-yoongikim-jpeg-q75.bin', { normalization: norm, size: [32, 32], numClasses: 10 }).spread(Number(process.env.N ?? 10000));
const dir = mkdtempSync(join(tmpdir(), 'lrq-cal-'));
try {
  console.log(`FP ${((await ortEvaluate(model!, ds)).top1 * 100).toFixed(2)} on ${ds.size}`);
  for (const v of variants!.split(',')) {
    const [mode, batches, pix] = v.split(':');
    const t0 = Date.now();
    const student = naiveCalibrate(loadOnnx(model!), { wbits: Number(wb), abits: Number(ab), scheme: 'deploy', rangeMode: mode as RangeMode, batches: Number(batches ?? 4), normalization: pix === 'pixels' ? norm : undefined, numClasses: 10, imgSize: 32, channels: 3 });
    const spec = buildExportSpec(student, {});
    const inp = spec.activations.get('input');
    if (inp) console.log(`  input range [${inp.lo.toFixed(3)}, ${inp.hi.toFixed(3)}] (normalized pixels span [${normalizedPixelRange(norm).map((v) => v.toFixed(3)).join(', ')}])`);
    const r = await exportDeploy(model!, spec, join(dir, `${mode}-${batches}-${pix ?? 'observed'}.onnx`));
    console.log(`${v}: onnxruntime top-1 ${((await ortEvaluate(r.path, ds)).top1 * 100).toFixed(2)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
