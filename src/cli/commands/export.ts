// `lrq export --run <dir> [--out file.onnx]`: the run's final student as QDQ ONNX (opset 21, UINT4 where
// bits ≤ 4) plus the fake-quant FP32 form beside it; results (paths, size report) go to <run>/export.json.

import { basename, dirname, join } from 'node:path';
import { LrqError } from '../../engine/errors.js';
import { exportQdq, type ExportForm, type ExportResult } from '../../io/onnx_export/export.js';
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

const SUFFIX: Record<ExportForm, string> = { qdq: 'qdq', qdq8: 'qdq8', 'fakequant-fp32': 'fq-fp32', emulate: 'emulate' };

/** Export every requested form of the run's final student; returns the per-form results. */
export async function runExport(opts: ExportCommandOptions): Promise<ExportResult[]> {
  if (!opts.run) throw new LrqError('export: --run <dir> is required');
  const { model, spec } = readExportSpec(opts.run);
  const forms = opts.forms ?? ['qdq', 'fakequant-fp32'];
  const qdqPath = opts.out ?? join(opts.run, 'model.qdq.onnx');
  const base = basename(qdqPath).replace(/(\.qdq)?\.onnx$/, '');
  const results: ExportResult[] = [];
  for (const form of forms) {
    const path = form === 'qdq' ? qdqPath : join(dirname(qdqPath), `${base}.${SUFFIX[form]}.onnx`);
    results.push(await exportQdq(model, spec, path, { form }));
  }
  writeRunJson(opts.run, 'export.json', results);
  if (opts.print !== false) {
    for (const r of results) {
      const s = r.size;
      process.stdout.write(`${r.form.padEnd(15)} ${r.path}  (${(r.fileBytes / 1024).toFixed(1)} KiB, opset ${r.opset}, ${r.weights.length} weights, ${r.activations.length} activations)\n`);
      if (r.form === 'qdq') process.stdout.write(`size: FP32 ${(s.fp32Bytes / 1024).toFixed(1)} KiB → quantized ${(s.quantizedModelBytes / 1024).toFixed(1)} KiB (${s.compression.toFixed(2)}×; weights ${(s.fp32WeightBytes / 1024).toFixed(1)} → ${(s.packedWeightBytes / 1024).toFixed(1)} KiB packed)\n`);
    }
  }
  return results;
}
