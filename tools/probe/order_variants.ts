// Probe: one naive-calibrated ShuffleNetV2 deploy student (WB/AB env bits) exported once per VARIANTS entry to
// /tmp/dep/shuf_cap<v>.onnx, printing each file's Concat input counts and onnxruntime's fused ops.
import { noGrad } from '../../src/engine/tensor.js';
import { loadOnnx } from '../../src/io/onnx/index.js';
import { exportDeploy } from '../../src/io/onnx_export/deploy_export.js';
import { prepareQat, setCalibration } from '../../src/quant/prepare.js';
import { makeQConfig } from '../../src/quant/qconfig.js';
import { openDataset } from '../../src/method/data.js';
import { buildExportSpec } from '../../src/method/artifacts.js';
import { readFileSync } from 'node:fs';
import { onnx } from '../../src/io/onnx/proto.js';
import { mkdirSync } from 'node:fs';
mkdirSync('/tmp/dep', { recursive: true });
const model = '/work/shared/data/models/chenyaofo_cifar10/shufflenetv2_x0_5_cifar10_chenyaofo.onnx';
const ds = openDataset('/work/shared/data/cifar10/cifar10-test-yoongikim-jpeg-q75.bin', { normalization: { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] }, size: [32, 32], numClasses: 10 });
const student = loadOnnx(model);
prepareQat(student, makeQConfig({ weightBits: Number(process.env.WB ?? 8), actBits: Number(process.env.AB ?? 8), rangeMode: 'plain-ema', scheme: 'deploy' }));
student.eval();
const cal = ds.spread(256);
noGrad(() => { for (let s = 0; s < 256; s += 64) student.forward(cal.batch(s, s + 64).x); });
setCalibration(student, false);
const spec = buildExportSpec(student, {});
for (const v of (process.env.VARIANTS ?? '99').split(',')) {
  process.env.LRQ_FATE_CAP = v;
  const out = `/tmp/dep/shuf_cap${v}.onnx`;
  const r = await exportDeploy(model, spec, out);
  const m = onnx.ModelProto.decode(readFileSync(out));
  const cat = m.graph!.node!.filter((n) => n.opType === 'Concat').map((n) => n.input!.length);
  console.log(v, 'concat inputs', cat.join(','), 'sum', cat.reduce((a, b) => a + b, 0), 'ops', JSON.stringify(r.fusion?.ops));
}
