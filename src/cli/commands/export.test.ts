// CLI handlers export/report/synth on a run directory that holds only the contract files (no training):
// the spec of a W4A8 ResNet-20 with fixed activation ranges, synthetic images, and an eval.json.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { readModelProto } from '../../io/onnx/proto.js';
import { writeExportSpec, writeRunJson, writeSynth } from '../../report/run_dir.js';
import { runExport } from './export.js';
import { runReport } from './report.js';
import { runSynth } from './synth.js';
import { runEval } from './eval.js';
import { loadOnnx } from '../../io/onnx/index.js';
import { LrqError } from '../../engine/errors.js';

const MODEL = new URL('../../../../shared/data/models/akamaster_cifar10/resnet20_cifar10_akamaster.onnx', import.meta.url).pathname;
const TEST = new URL('../../../../shared/data/cifar10/cifar10-test-yoongikim-jpeg-q75.bin', import.meta.url).pathname;

test('export → export.json → report shows the size; synth renders synth.bin', { skip: !existsSync(MODEL) && 'shared model not found' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lrq-cli-'));
  try {
    const nodes = readModelProto(MODEL).graph!.node!;
    writeExportSpec(dir, MODEL, {
      weights: new Map(nodes.filter((n) => n.opType === 'Conv' || n.opType === 'Gemm').map((n) => [n.input![1]!, { bits: 4 }])),
      activations: new Map(nodes.filter((n) => n.opType === 'Relu').map((n) => [n.name!, { bits: 6, lo: 0, hi: 4 }])),
    });
    const res = await runExport({ run: dir, print: false });
    assert.deepEqual(res.map((r) => r.form), ['qdq', 'fakequant-fp32']);
    assert.ok(existsSync(join(dir, 'model.qdq.onnx')) && existsSync(join(dir, 'model.fq-fp32.onnx')));
    const q = readModelProto(join(dir, 'model.qdq.onnx'));
    // 6-bit activations live in UINT8 containers with zero point 256 − 2^6 = 192 (top level at 255).
    const zps = q.graph!.initializer!.filter((t) => t.name!.endsWith('_Relu_output_0_zero_point') || /Relu(_1)?_output_0_zero_point$/.test(t.name!));
    assert.equal(zps.length, 19);
    for (const t of zps) { assert.equal(t.dataType, 2); assert.equal(t.rawData![0], 192); }
    assert.equal(JSON.parse(readFileSync(join(dir, 'export.json'), 'utf8')).length, 2);

    // `lrq eval` on the INT4 Q/DQ export: lrq's importer names the Q/DQ ops (before it would decode an INT4
    // initializer and fail on its data type), and eval falls back to onnxruntime.
    assert.throws(() => loadOnnx(join(dir, 'model.qdq.onnx'), { requireBatchNorm: false }), /unsupported ONNX ops: .*DequantizeLinear/);
    if (existsSync(TEST)) {
      const ev = await runEval({ model: join(dir, 'model.qdq.onnx'), data: TEST, limit: '20', print: false });
      assert.deepEqual([ev.runtime, ev.result.n], ['ort', 20]);
      // --runtime lrq refuses the fallback; the FP source model runs in lrq's engine and agrees with onnxruntime
      await assert.rejects(runEval({ model: join(dir, 'model.qdq.onnx'), data: TEST, limit: '20', runtime: 'lrq', print: false }), /unsupported ONNX ops/);
      const [own, ort] = [await runEval({ model: MODEL, data: TEST, limit: '40', print: false }), await runEval({ model: MODEL, data: TEST, limit: '40', runtime: 'ort', print: false })];
      assert.deepEqual([own.runtime, ort.runtime, own.result.n], ['lrq', 'ort', 40]);
      assert.equal(own.result.top1, ort.result.top1);
    }

    writeRunJson(dir, 'eval.json', { dataset: 'test', images: 10, fp: { top1: 80, top5: 99, perClass: [80, 80], confusion: [[4, 1], [1, 4]] }, quant: { top1: 70, top5: 98, perClass: [60, 80], confusion: [[3, 2], [1, 4]] } });
    const html = readFileSync(await runReport({ run: dir, print: false }), 'utf8');
    assert.match(html, /Model size/);
    assert.match(html, new RegExp(`${res[0]!.size.compression.toFixed(1)}× smaller`));

    const images = Float32Array.from({ length: 6 * 3 * 4 * 4 }, (_, i) => Math.sin(i));
    writeSynth(dir, { images, shape: [6, 3, 4, 4], labels: [0, 1, 2, 0, 1, 2], mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
    const out = await runSynth({ run: dir, perClass: '2', out: join(dir, 'grid.png'), print: false });
    const png = PNG.sync.read(readFileSync(out));
    assert.equal(png.height, 3 * 64 + 4 * 2); // 4-px tiles upscaled ×16
    await assert.rejects(runSynth({ run: dir, perClass: '0' }), LrqError);
    await assert.rejects(runExport({ run: join(dir, 'missing') }), LrqError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
