// `lrq report <run-dir>`: write <run>/report.html from the run-directory files (see src/report/run_dir.ts).

import { LrqError } from '../../engine/errors.js';
import { writeReport } from '../../report/report.js';

export interface ReportCommandOptions {
  run?: string;
  print?: boolean;
}

/** Write the report of a run; returns the path of report.html. */
export async function runReport(opts: ReportCommandOptions): Promise<string> {
  if (!opts.run) throw new LrqError('report: a run directory is required');
  const path = writeReport(opts.run);
  if (opts.print !== false) process.stdout.write(`${path}\n`);
  return path;
}
