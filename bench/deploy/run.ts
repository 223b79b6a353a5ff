// `npm run bench:deploy [-- --json] [--images N] [--models r20,shufflenet] [--configs paper:4:4,deploy:8:8,…] [--rounds R]`:
// onnxruntime latency (2 threads; FP32 and every file timed round by round, 30 rounds at batch 1, 15 at batch 64,
// speed-up = median of the per-round ratios, with its range) of the FP32 original and of every export form of data-free naive-calibrated students, measured in one invocation, with file size and
// onnxruntime top-1 on the CIFAR-10 test set. Students: ranges from 4 batches of an untrained generator (no
// training: latency and fusion do not depend on it; the accuracy column is the naive baseline's).
// With --json, one object per line: model, form, scheme, wbits, abits, batch, ms, fp32_ms, speedup, speedup_range, mb, top1, kernels.

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOnnx } from '../../src/io/onnx/index.js';
import { ortEvaluate } from '../../src/io/onnx/ort.js';
import { interleavedLatency } from './interleaved.js';
import { exportDeploy } from '../../src/io/onnx_export/deploy_export.js';
import { exportQdq, type ExportForm } from '../../src/io/onnx_export/export.js';
import { openDataset } from '../../src/method/data.js';
import { naiveCalibrate } from '../../src/method/naive.js';
import { buildExportSpec } from '../../src/method/artifacts.js';
import { describeTeacher } from '../../src/method/quantize.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}
const DATA = new URL('../../../shared/data/', import.meta.url).pathname;
const MODELS: Record<string, { file: string; mean: number[]; std: number[] }> = {
  r20: { file: join(DATA, 'models/akamaster_cifar10/resnet20_cifar10_akamaster.onnx'), mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  'r20-chenyaofo': { file: join(DATA, 'models/chenyaofo_cifar10/resnet20_cifar10_chenyaofo.onnx'), mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] },
  shufflenet: { file: join(DATA, 'models/chenyaofo_cifar10/shufflenetv2_x0_5_cifar10_chenyaofo.onnx'), mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] },
};
const json = process.argv.includes('--json');
const images = Number(arg('images', '10000'));
const models = arg('models', 'r20,shufflenet').split(',');
const configs = arg('configs', 'paper:4:4,deploy:8:8,deploy:4:8,deploy:4:4').split(',').map((c) => {
  const [scheme, w, a] = c.split(':');
  return { scheme: scheme as 'paper' | 'deploy', wbits: Number(w), abits: Number(a) };
});
// rounds of the interleaved timing (each: the fastest of 3 runs of every file) at batch 1 and 64
const rounds = (batch: number) => Number(arg('rounds', '0')) || (batch === 1 ? 30 : 15);
const evalData = arg('eval-data', join(DATA, 'cifar10/cifar10-test-yoongikim-jpeg-q75.bin'));
const dir = mkdtempSync(join(tmpdir(), 'lrq-bench-deploy-'));

interface Row { model: string; form: string; scheme: string; wbits: number | null; abits: number | null; batch: number; ms: number; fp32_ms: number; speedup: number; speedup_range: [number, number]; mb: number; top1: number | null; kernels?: string; float_layers?: number }
const rows: Row[] = [];
const r2 = (v: number) => Math.round(v * 100) / 100;

try {
  for (const name of models) {
    const m = MODELS[name];
    if (!m) throw new Error(`--models: unknown model '${name}' (use ${Object.keys(MODELS).join(', ')})`);
    const teacher = loadOnnx(m.file);
    const info = describeTeacher(teacher, { model: m.file, mean: undefined as never, std: undefined as never });
    const shape = teacher.inputShape.slice(1).map((d) => d ?? 1);
    const testSet = openDataset(evalData, { normalization: { mean: m.mean, std: m.std }, size: info.size, numClasses: info.numClasses }).spread(images);
    const files: { form: string; scheme: string; wbits: number | null; abits: number | null; path: string; kernels?: string; floatLayers?: number }[] = [
      { form: 'fp32', scheme: '-', wbits: null, abits: null, path: m.file },
    ];
    for (const c of configs) {
      // deploy: the scheme fixes the input quantizer to the normalized pixel range (src/quant/deploy.ts)
      const student = naiveCalibrate(loadOnnx(m.file), { wbits: c.wbits, abits: c.abits, scheme: c.scheme, normalization: { mean: m.mean, std: m.std }, numClasses: info.numClasses, imgSize: info.size[0], channels: info.channels });
      const spec = buildExportSpec(student, { normalize_mean: m.mean.join(','), normalize_std: m.std.join(',') });
      if (c.scheme === 'deploy') {
        const path = join(dir, `${name}-deploy-w${c.wbits}a${c.abits}.int8.onnx`);
        const r = await exportDeploy(m.file, spec, path);
        const k = Object.entries(r.fusion!.ops).filter(([op]) => op.startsWith('QLinear') || op === 'QGemm').map(([op, n]) => `${n} ${op}`).join(' + ');
        files.push({ form: 'int8', scheme: 'deploy', wbits: c.wbits, abits: c.abits, path, kernels: k, floatLayers: r.fusion!.floatLayers.length });
      } else {
        for (const form of ['qdq', 'qdq8', 'fakequant-fp32'] as ExportForm[]) {
          const path = join(dir, `${name}-paper-w${c.wbits}a${c.abits}.${form}.onnx`);
          await exportQdq(m.file, spec, path, { form });
          files.push({ form, scheme: 'paper', wbits: c.wbits, abits: c.abits, path });
        }
      }
    }
    const top1s = new Map<string, number>();
    for (const f of files) top1s.set(f.path, r2((await ortEvaluate(f.path, testSet)).top1 * 100));
    for (const batch of [1, 64]) {
      const lat = await interleavedLatency(files.map((f) => f.path), shape, batch, rounds(batch));
      for (const [k, f] of files.entries()) {
        const top1 = batch === 64 ? null : top1s.get(f.path)!;
        const row: Row = { model: name, form: f.form, scheme: f.scheme, wbits: f.wbits, abits: f.abits, batch, ms: r2(lat.ms[k]!), fp32_ms: r2(lat.ms[0]!), speedup: r2(lat.speedup[k]!), speedup_range: lat.range[k]!.map(r2) as [number, number], mb: r2(statSync(f.path).size / 1e6), top1, ...(f.kernels !== undefined ? { kernels: f.kernels, float_layers: f.floatLayers } : {}) };
        rows.push(row);
        if (json) process.stdout.write(JSON.stringify(row) + '\n');
        else process.stderr.write(`[bench:deploy] ${name} ${f.form} ${f.scheme} W${f.wbits ?? 32}A${f.abits ?? 32} batch ${batch}: ${row.ms} ms (${row.speedup}× FP32)\n`);
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

if (!json) {
  // top-1 is measured once per file (batch-1 pass); show it on both rows
  const top = new Map(rows.filter((r) => r.top1 !== null).map((r) => [`${r.model}|${r.form}|${r.scheme}|${r.wbits}|${r.abits}`, r.top1]));
  const head = ['model', 'form', 'scheme', 'bits', 'batch', 'ms', 'FP32 ms', 'speed-up', 'MB', `top-1 (${images})`, 'onnxruntime kernels'];
  const body = rows.map((r) => [r.model, r.form, r.scheme, r.wbits === null ? 'FP32' : `W${r.wbits}A${r.abits}`, String(r.batch), r.ms.toFixed(2), r.fp32_ms.toFixed(2), `${r.speedup.toFixed(2)}× (${r.speedup_range[0].toFixed(2)}–${r.speedup_range[1].toFixed(2)})`, r.mb.toFixed(2), String(top.get(`${r.model}|${r.form}|${r.scheme}|${r.wbits}|${r.abits}`) ?? ''), r.kernels ? `${r.kernels}${r.float_layers ? `; ${r.float_layers} float` : ''}` : '']);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  process.stdout.write([line(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...body.map(line)].join('\n') + '\n');
}
