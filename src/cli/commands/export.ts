// `lrq export --run <dir> [--out file.onnx]`: the run's final student as QDQ ONNX (opset 21, UINT4 where
// bits ≤ 4) plus the fake-quant FP32 form beside it; results (paths, size report) go to <run>/export.json.

import { basename, dirname, join } from 'node:path';
import { LrqError } from '../../engine/errors.js';
import { exportQdq, type ExportForm, type ExportResult } from '../../io/onnx_export/export.js';
import { exportDeploy } from '../../io/onnx_export/deploy_export.js';
import { readExportSpec, writeRunJson } from '../../report/run_dir.js';

export interface ExportCommandOptions {
  run?: string;
  /** Path of the QDQ file; the other forms are written beside it (default <run>/model.qdq.onnx). */
  out?: string;
  /** Forms to write (default qdq and fakequant-fp32). */
  forms?: ExportForm[];
  /** Print a summary on stdout (default true). */
  print?: boolean;
}

const SUFFIX: Record<ExportForm, string> = { qdq: 'qdq', qdq8: 'qdq8', 'fakequant-fp32': 'fq-fp32', emulate: 'emulate', int8: 'int8' };

/** The file of each form in a run directory: model.<suffix>.onnx. */
export function formFile(runDir: string, form: ExportForm): string {
  return join(runDir, `model.${SUFFIX[form]}.onnx`);
}

/** Export every requested form of the run's final student; returns the per-form results. */
export async function runExport(opts: ExportCommandOptions): Promise<ExportResult[]> {
  if (!opts.run) throw new LrqError('export: --run <dir> is required');
  const { model, spec } = readExportSpec(opts.run);
  const deploy = spec.scheme === 'deploy';
  const forms = opts.forms ?? (deploy ? ['int8'] : ['qdq', 'fakequant-fp32']);
  const main = deploy ? 'int8' : 'qdq';
  const mainPath = opts.out ?? formFile(opts.run, main);
  const base = basename(mainPath).replace(new RegExp(`(\\.${SUFFIX[main]})?\\.onnx$`), '');
  const results: ExportResult[] = [];
  for (const form of forms) {
    const path = form === main ? mainPath : join(dirname(mainPath), `${base}.${SUFFIX[form]}.onnx`);
    results.push(form === 'int8' ? await exportDeploy(model, spec, path) : await exportQdq(model, spec, path, { form }));
  }
  writeRunJson(opts.run, 'export.json', results);
  if (opts.print !== false) {
    for (const r of results) {
      const s = r.size;
      process.stdout.write(`${r.form.padEnd(15)} ${r.path}  (${(r.fileBytes / 1024).toFixed(1)} KiB, opset ${r.opset}, ${r.weights.length} weights, ${r.activations.length} activations)\n`);
      if (r.fusion) process.stdout.write(`onnxruntime kernels: ${Object.entries(r.fusion.ops).filter(([op]) => op.startsWith('QLinear') || op === 'QGemm').map(([op, n]) => `${n} ${op}`).join(', ')}${r.fusion.floatLayers.length ? `; still float: ${r.fusion.floatLayers.join(', ')}` : '; no float Conv/Gemm left'}\n`);
      if (r.form === 'qdq' || r.form === 'int8') process.stdout.write(`size: FP32 ${(s.fp32Bytes / 1024).toFixed(1)} KiB → quantized ${(s.quantizedModelBytes / 1024).toFixed(1)} KiB (${s.compression.toFixed(2)}×; weights ${(s.fp32WeightBytes / 1024).toFixed(1)} → ${(s.packedWeightBytes / 1024).toFixed(1)} KiB packed)\n`);
    }
  }
  return results;
}
