// lrq's public library API (`import { quantize } from 'lrq'`): the whole job as one call, and the layers
// under it for people who build their own loop. Rule: everything exported here is documented and stable;
// internals (backends' kernels, graph editing) stay behind their packages.

export { quantize, describeTeacher, type QuantizeOptions, type QuantizeSummary } from './method/quantize.js';
export { resolveConfig, presetValues, PAPER_PRESET, FAST_PRESET, BASE_DEFAULTS, type QuantizeConfig } from './method/config.js';
export { evaluate, type EvalResult, type EvaluateOptions } from './method/evaluate.js';
export { bnsLoss, amaLoss, kdLoss, dkdLoss, dkdRamp } from './method/losses/index.js';
export { buildExportSpec } from './method/artifacts.js';
export { loadOnnx, GraphModule } from './io/onnx/index.js';
export { ortEvaluate, ortRun } from './io/onnx/ort.js';
export { exportQdq, type ExportForm, type ExportResult } from './io/onnx_export/index.js';
export { readCifarBinary, readIdx, readImageFolder, ImageDataset, type Dataset, type Normalization } from './io/datasets/index.js';
export { readSafetensors, writeSafetensors } from './io/safetensors.js';
export { prepareQat, setCalibration, setFakeQuant, quantLayers, makeQConfig, type QConfig } from './quant/index.js';
export { Generator } from './models/generator.js';
export { writeReport } from './report/index.js';
export * as engine from './engine/index.js';
export * as nn from './nn/index.js';
