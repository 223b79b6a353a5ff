// End-of-run export: save the final student's ExportSpec into the run directory, write the QDQ and
// fake-quant FP32 ONNX files (through `lrq export`'s handler, so both paths produce identical files),
// and — when an eval set is given — score the QDQ file in onnxruntime next to lrq's own figure.
// Rule: onnxruntime's number is reported as measured, never replaced by ours.

import { join } from 'node:path';
import type { GraphModule } from '../io/onnx/index.js';
import type { Dataset, Normalization } from '../io/datasets/index.js';
import { ortEvaluate } from '../io/onnx/ort.js';
import { writeExportSpec } from '../report/run_dir.js';
import { runExport } from '../cli/commands/export.js';
import type { QuantizeConfig } from './config.js';
import { buildExportSpec } from './artifacts.js';
import { pct } from '../io/percent.js';

export interface ExportRunOptions {
  teacherPath: string;
  student: GraphModule;
  normalization: Normalization;
  cfg: QuantizeConfig;
  /** Eval set to score the exported QDQ model on in onnxruntime (optional). */
  evalSet?: Dataset | null;
}

export interface ExportRunResult {
  files: string[];
  /** onnxruntime top-1 (percent) of the QDQ export on the eval set, when one was given. */
  ortTop1: number | null;
  qdqBytes: number;
  fp32Bytes: number;
}

/** Write export_spec.*, model.qdq.onnx and model.fq-fp32.onnx into runDir; optionally score the QDQ file in ORT. */
export async function exportRun(runDir: string, o: ExportRunOptions): Promise<ExportRunResult> {
  const metadata: Record<string, string> = {
    normalize_mean: o.normalization.mean.join(','),
    normalize_std: o.normalization.std.join(','),
    'lrq.method': o.cfg.method,
    'lrq.wbits': String(o.cfg.wbits),
    'lrq.abits': String(o.cfg.abits),
  };
  writeExportSpec(runDir, o.teacherPath, buildExportSpec(o.student, metadata));
  const results = await runExport({ run: runDir, print: false });
  const qdq = results.find((r) => r.form === 'qdq')!;
  let ortTop1: number | null = null;
  if (o.evalSet) {
    const r = await ortEvaluate(qdq.path, o.evalSet, {});
    ortTop1 = pct(r.top1);
  }
  return { files: results.map((r) => r.path), ortTop1, qdqBytes: qdq.size.quantizedModelBytes, fp32Bytes: qdq.size.fp32Bytes };
}

/** Default export file of a run directory. */
export function qdqPath(runDir: string): string {
  return join(runDir, 'model.qdq.onnx');
}
