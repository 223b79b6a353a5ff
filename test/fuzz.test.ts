// CI subset of the fuzzer (tools/fuzz; `npm run fuzz` runs the full set): fixed-seed ONNX, dataset and IDX
// mutants through the importer and `lrq eval` must each end in a one-line error or a valid result —
// no crash, hang, stack trace or memory blow-up.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runFuzz } from '../tools/fuzz/run.js';
import { DATA_MODEL } from '../tools/fuzz/mutate.js';

const skip = !existsSync(DATA_MODEL) && `shared data not found (${DATA_MODEL}; set LRQ_DATA)`;

test('fuzz subset (seed 7): 150 ONNX + 50 dataset + 40 IDX mutants, 6 CLI runs: no crash, hang or stack trace', { skip }, async () => {
  const s = await runFuzz({ seed: 7, onnx: 150, data: 50, idx: 40, cli: 6, workers: 2, timeoutMs: 60000, memMb: 3072 });
  assert.deepEqual(s.failures.map((f) => `${f.id} [${f.mutation}] ${f.outcome}: ${f.message}`), []);
  // the IDX cases reach the reader: most end in its one-line errors, the unmutated ones in a result, one runs through the CLI
  const idx = s.records.filter((r) => r.id.startsWith('idx:'));
  assert.ok(idx.filter((r) => r.outcome === 'error' && /^IDX (images|labels) file/.test(r.message)).length >= 25, idx.map((r) => `${r.mutation} ${r.outcome}`).join(', '));
  assert.ok(idx.some((r) => r.outcome === 'result'));
  assert.ok(idx.some((r) => r.where === 'cli' && r.outcome === 'cli-ok'));
});
