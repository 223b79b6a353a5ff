// Probe (not a test): naive-calibrated deploy-scheme student of a CIFAR model on real test images →
// lrq top-1, the int8 export's onnxruntime top-1, what onnxruntime fused, and latency vs FP32.
// Usage: node --import tsx tools/probe/deploy_probe.ts <model.onnx> <wbits> <abits> [mean,mean,mean std,std,std]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noGrad } from '../../src/engine/tensor.js';
import { loadOnnx } from '../../src/io/onnx/index.js';
import { ortEvaluate } from '../../src/io/onnx/ort.js';
import { exportDeploy } from '../../src/io/onnx_export/deploy_export.js';
import { prepareQat, setCalibration } from '../../src/quant/prepare.js';
import { makeQConfig } from '../../src/quant/qconfig.js';
import { openDataset } from '../../src/method/data.js';
import { evaluate } from '../../src/method/evaluate.js';
import { buildExportSpec } from '../../src/method/artifacts.js';

const [model, wb, ab, mean, std] = process.argv.slice(2);
const norm = { mean: (mean ?? '0.485,0.456,0.406').split(',').map(Number), std: (std ?? '0.229,0.224,0.225').split(',').map(Number) };
const ds = openDataset('/work/shared/data/cifar10/cifar10-test-yoongikim-jpeg-q75.bin', { normalization: norm, size: [32, 32], numClasses: 10 });
const evalSet = ds.spread(Number(process.env.N ?? 2000));
const student = loadOnnx(model!);
const teacher = loadOnnx(model!);
const t0 = Date.now();
const sum = prepareQat(student, makeQConfig({ weightBits: Number(wb), actBits: Number(ab), rangeMode: 'plain-ema', scheme: 'deploy' }));
student.eval();
const cal = ds.spread(256);
noGrad(() => { for (let s = 0; s < 256; s += 64) student.forward(cal.batch(s, s + 64).x); });
setCalibration(student, false);
console.log(`prepared in ${Date.now() - t0} ms; edges ${(sum as { edges?: Map<string, number> }).edges?.size}`);
const fp = evaluate(teacher, evalSet);
const ours = evaluate(student, evalSet);
const dir = mkdtempSync(join(tmpdir(), 'lrq-dp-'));
const res = await exportDeploy(model!, buildExportSpec(student, {}), join(dir, 'm.int8.onnx'));
const ort = await ortEvaluate(res.path, evalSet);
console.log(`FP ${(fp.top1 * 100).toFixed(2)}  lrq ${(ours.top1 * 100).toFixed(2)}  ort ${(ort.top1 * 100).toFixed(2)} on ${ours.n}`);
console.log('ops', JSON.stringify(res.fusion?.ops), 'float', res.fusion?.floatLayers);
console.log(res.path);
