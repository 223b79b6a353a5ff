// The deployment promise: a deploy-scheme student exported as model.int8.onnx becomes integer kernels in
// onnxruntime (read from its optimized model: every quantized Conv a QLinearConv, the classifier a QGemm, no
// float Conv left) and scores what lrq scores for it (top-1 within 0.1 points). Low-bit weights on int8
// containers fuse the same way; activations below 8 bits add a uint8 Clip to their 2^k levels between the
// integer kernels (W4A4 runs as integer as W8A8).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { onnx } from '../io/onnx/proto.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noGrad } from '../engine/tensor.js';
import { loadOnnx } from '../io/onnx/index.js';
import { ortEvaluate } from '../io/onnx/ort.js';
import { exportDeploy } from '../io/onnx_export/deploy_export.js';
import { exportQdq } from '../io/onnx_export/export.js';
import { prepareQat, setCalibration } from '../quant/prepare.js';
import { makeQConfig } from '../quant/qconfig.js';
import { openDataset } from './data.js';
import { evaluate } from './evaluate.js';
import { buildExportSpec } from './artifacts.js';
import { LrqError } from '../engine/errors.js';
import * as ortRuntime from 'onnxruntime-node';

const ROOT = new URL('../../', import.meta.url).pathname;
const MODELS = join(ROOT, '../shared/data/models');
const TEST = join(ROOT, '../shared/data/cifar10/cifar10-test-yoongikim-jpeg-q75.bin');
const CASES = [
  { name: 'ResNet-20 (akamaster)', file: join(MODELS, 'akamaster_cifar10/resnet20_cifar10_akamaster.onnx'), mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], convs: 19, extra: { QLinearAdd: 9, QLinearAveragePool: 1 } },
  { name: 'ShuffleNetV2 x0.5', file: join(MODELS, 'chenyaofo_cifar10/shufflenetv2_x0_5_cifar10_chenyaofo.onnx'), mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201], convs: 56, extra: { QLinearConcat: 16 } },
] as const;

/** Op counts of onnxruntime's optimized graph of `file` at `level` ('all' adds the NHWC layout pass). */
async function optimizedOps(file: string, level: 'extended' | 'all'): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'lrq-opt-'));
  try {
    const s = await ortRuntime.InferenceSession.create(file, { graphOptimizationLevel: level, optimizedModelFilePath: join(dir, 'o.onnx'), logSeverityLevel: 3 });
    await s.release();
    const ops: Record<string, number> = {};
    for (const n of onnx.ModelProto.decode(readFileSync(join(dir, 'o.onnx'))).graph!.node!) ops[n.opType ?? ''] = (ops[n.opType ?? ''] ?? 0) + 1;
    return ops;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function calibrated(file: string, wbits: number, abits: number, ds: ReturnType<typeof openDataset>) {
  const student = loadOnnx(file);
  prepareQat(student, makeQConfig({ weightBits: wbits, actBits: abits, rangeMode: 'plain-ema', scheme: 'deploy' }));
  student.eval();
  const cal = ds.spread(256);
  noGrad(() => { for (let s = 0; s < 256; s += 64) student.forward(cal.batch(s, s + 64).x); });
  setCalibration(student, false);
  // move the weights a little so the export must carry the student's values, not the original initializers
  for (const p of student.parameters()) for (let i = 0; i < p.data.length; i += 7) p.data[i] = p.data[i]! * 1.01;
  return student;
}

for (const c of CASES) {
  for (const [wbits, abits] of (c.convs === 56 ? [[8, 8], [4, 4]] : [[8, 8], [4, 8], [4, 4]]) as [number, number][]) {
    test(`${c.name} W${wbits}A${abits} deploy export: onnxruntime runs ${c.convs} QLinearConv + QGemm, no float Conv; its top-1 = lrq's ±0.1 on 1,000 images`, { skip: !(existsSync(c.file) && existsSync(TEST)) && 'shared data not found' }, async () => {
      const ds = openDataset(TEST, { normalization: { mean: [...c.mean], std: [...c.std] }, size: [32, 32], numClasses: 10 });
      const student = calibrated(c.file, wbits, abits, ds);
      const dir = mkdtempSync(join(tmpdir(), 'lrq-dep-'));
      try {
        const res = await exportDeploy(c.file, buildExportSpec(student, {}), join(dir, 'm.int8.onnx'));
        const ops = res.fusion!.ops;
        assert.equal(ops['QLinearConv'], c.convs, JSON.stringify(ops));
        assert.equal(ops['QGemm'], 1);
        for (const [op, n] of Object.entries(c.extra)) assert.equal(ops[op], n, `${op}: ${JSON.stringify(ops)}`);
        assert.deepEqual(res.fusion!.floatLayers, [], 'a quantized layer still runs as a float Conv/Gemm');
        assert.equal(ops['Conv'] ?? 0, 0);
        assert.ok(res.weights.every((w) => w.container === 'INT8'));
        // below 8 bits the 2^k-level clamp is a Clip on the uint8 tensor between the integer kernels
        if (abits < 8) assert.ok((ops['Clip'] ?? 0) > 0 && res.activations.filter((a) => a.bits < 8).every((a) => a.clip[1] !== null), JSON.stringify(ops));
        if (c.convs === 56) {
          // channel shuffles folded into the convs (no Gather, no Transpose), the shape arithmetic constants; in
          // onnxruntime's NHWC graph (level 'all') only the input's and the pooled vector's layout Transposes remain
          const g = onnx.ModelProto.decode(readFileSync(res.path)).graph!.node!;
          assert.equal(g.filter((n) => n.opType === 'Transpose' || n.opType === 'Gather' || n.opType === 'Shape').length, 0);
          const nhwc = await optimizedOps(res.path, 'all');
          assert.ok((nhwc['Transpose'] ?? 0) <= 2, `layout Transposes: ${JSON.stringify(nhwc)}`);
          assert.equal(nhwc['QLinearGlobalAveragePool'], 1, JSON.stringify(nhwc));
          assert.equal(nhwc['DequantizeLinear'] ?? 0, 0, JSON.stringify(nhwc));
        } else {
          // the option-A shortcut Slices/Pads run on uint8: no DequantizeLinear is left in the graph
          assert.equal(ops['DequantizeLinear'] ?? 0, 0, JSON.stringify(ops));
        }
        const evalSet = ds.spread(1000);
        const ours = evaluate(student, evalSet);
        const ort = await ortEvaluate(res.path, evalSet);
        assert.ok(Math.abs(ort.top1 - ours.top1) * 100 <= 0.1 + 1e-9, `onnxruntime ${ort.top1 * 100}% vs lrq ${ours.top1 * 100}%`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}

test('paper forms refuse a deploy spec, the int8 form a paper spec', { skip: !(existsSync(CASES[0].file) && existsSync(TEST)) && 'shared data not found' }, async () => {
  const c = CASES[0];
  const ds = openDataset(TEST, { normalization: { mean: [...c.mean], std: [...c.std] }, size: [32, 32], numClasses: 10 });
  const student = calibrated(c.file, 4, 4, ds);
  const dir = mkdtempSync(join(tmpdir(), 'lrq-dep-'));
  try {
    const spec = buildExportSpec(student, {});
    await assert.rejects(exportQdq(c.file, spec, join(dir, 'x.onnx'), { form: 'qdq' }), (e: unknown) => e instanceof LrqError && /deploy-scheme run exports as int8/.test(e.message));
    await assert.rejects(exportDeploy(c.file, { ...spec, scheme: 'paper' }, join(dir, 'y.onnx')), (e: unknown) => e instanceof LrqError && /paper scheme/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
