// CI subset of the fuzzer (tools/fuzz; `npm run fuzz` runs the full set): fixed-seed ONNX and dataset
// mutants through the importer and `lrq eval` must each end in a one-line error or a valid result —
// no crash, hang, stack trace or memory blow-up.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runFuzz } from '../tools/fuzz/run.js';

const ROOT = new URL('../', import.meta.url).pathname;
const skip = !existsSync(join(ROOT, '../shared/data/models/akamaster_cifar10/resnet20_cifar10_akamaster.onnx')) && 'shared data not found';

test('fuzz subset (seed 7): 150 ONNX + 50 dataset mutants, 4 CLI runs: no crash, hang or stack trace', { skip }, async () => {
  const s = await runFuzz({ seed: 7, onnx: 150, data: 50, idx: 0, cli: 4, workers: 2, timeoutMs: 60000, memMb: 3072 });
  assert.deepEqual(s.failures.map((f) => `${f.id} [${f.mutation}] ${f.outcome}: ${f.message}`), []);
});
