// Probe: are two ONNX files' onnxruntime outputs equal? 512 CIFAR-10 test images (MEAN/STD env for the
// normalization), prints the largest |difference| and how many logits differ. Usage: node tools/probe/ort_same.mjs a.onnx b.onnx
import * as ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
const [a, b] = process.argv.slice(2);
const buf = readFileSync('/work/shared/data/cifar10/cifar10-test-yoongikim-jpeg-q75.bin');
const mean = (process.env.MEAN ?? '0.4914,0.4822,0.4465').split(',').map(Number), std = (process.env.STD ?? '0.2023,0.1994,0.201').split(',').map(Number);
const N = 512, x = new Float32Array(N * 3072);
for (let n = 0; n < N; n++) { const r = (n * 19) % 10000; for (let i = 0; i < 3072; i++) x[n * 3072 + i] = (buf[r * 3073 + 1 + i] / 255 - mean[Math.floor(i / 1024)]) / std[Math.floor(i / 1024)]; }
const run = async (f) => { const s = await ort.InferenceSession.create(f, { graphOptimizationLevel: 'all', intraOpNumThreads: 2 }); const o = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, [N, 3, 32, 32]) }); return o[s.outputNames[0]].data; };
const A = await run(a), B = await run(b);
let d = 0, diff = 0; for (let i = 0; i < A.length; i++) { d = Math.max(d, Math.abs(A[i] - B[i])); if (A[i] !== B[i]) diff++; }
console.log('max |diff|', d, 'unequal', diff, 'of', A.length);
