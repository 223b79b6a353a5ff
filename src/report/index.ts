// Public surface of the report package: the run-directory contract, the HTML report and the PNG grid.
export { writeReport, renderReport } from './report.js';
export { synthGrid } from './png.js';
export * from './run_dir.js';
