// Public surface of the ONNX exporter: the export spec contract, exportQdq and its size report.
export { exportQdq, runtimeCheck, LRQ_EXPORT_VERSION, FAKEQUANT_ORT_CONFIG, type ExportForm, type ExportOptions, type ExportResult, type WeightRecord, type ActRecord } from './export.js';
export { type ExportSpec, type WeightQuant, type ActQuant, gdfqGrid, gdfqCode, gdfqDequant, fakeQuantGdfq, channelMinMax, roundHalfEven } from './spec.js';
export { type SizeReport } from './size.js';
