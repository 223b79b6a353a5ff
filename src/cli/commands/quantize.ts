// `lrq quantize` handler: runs quantize() and prints the final summary (FP top-1, quantized top-1,
// drop, wall time, written files).

import { quantize, type QuantizeOptions } from '../../method/quantize.js';
import { fmtDuration } from '../../method/progress.js';

const pct = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(2)}%`);

/** Run a quantization job from parsed CLI options and print its summary. */
export async function runQuantize(opts: QuantizeOptions): Promise<void> {
  const s = await quantize(opts);
  const lines = [
    '',
    `summary  ${s.method} W${s.wbits}A${s.abits}  (${s.backend} backend)`,
    `  full-precision top-1   ${pct(s.fpTop1)}`,
    `  quantized top-1        ${pct(s.quantTop1)}  (top-5 ${pct(s.quantTop5)}; ${s.selectedEpoch === null ? 'final epoch' : `epoch ${s.selectedEpoch + 1}, selected data-free`})`,
    `  drop                   ${s.drop === null ? 'n/a' : `${s.drop.toFixed(2)} points`}`,
    `  best epoch top-1       ${pct(s.bestTop1)}${s.bestEpoch === null ? '' : ` (epoch ${s.bestEpoch + 1}; selected on the test set)`}`,
    `  training time          ${fmtDuration(s.trainSeconds)}   wall ${fmtDuration(s.wallSeconds)}`,
    `  run directory          ${s.runDir}`,
    ...s.exported.map((f) => `  wrote                  ${f}`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
