// What onnxruntime's QDQ optimizer can turn into integer kernels (onnxruntime 1.30, CPU): the op classes the
// deploy scheme plans its quantizers by, shared by the planner (src/quant/deploy.ts) and the exporter.
// Rule: one table, so training simulates exactly the Q/DQ points the export writes.

/** Ops with a quantized weight (DQ→op→Q becomes QLinearConv / QGemm / MatMulInteger). */
export const WEIGHTED_OPS: ReadonlySet<string> = new Set(['Conv', 'Gemm', 'MatMul']);

/** Activations that onnxruntime removes in front of a QuantizeLinear whose zero point is the container minimum. */
export const ACTIVATION_OPS: ReadonlySet<string> = new Set(['Relu', 'Clip']);

/**
 * Data-movement ops: every output value is an input value (or 0 for Pad), so the output stays on the input's
 * grid (Pad: its constant is assumed 0, which every GDFQ grid holds when lo ≤ 0 ≤ hi); onnxruntime drops a
 * DQ→op→Q pair with equal parameters around them. The export copies the input's
 * Q/DQ parameters onto the output; training needs nothing (the values are already quantized).
 */
export const PASS_OPS: ReadonlySet<string> = new Set([
  'Identity', 'Reshape', 'Flatten', 'Transpose', 'Squeeze',
  'Unsqueeze', 'Slice', 'Split', 'MaxPool', 'Pad', 'Dropout', 'DepthToSpace', 'SpaceToDepth', 'Tile', 'Expand',
  'Gather' /* of constant indices along a data axis (the export's channel-shuffle rewrite) */,
]);

/** Ops with an integer kernel that requantize (own output quantizer): QLinearAdd/Concat/AveragePool/… */
export const COMPUTE_OPS: ReadonlySet<string> = new Set(['Add', 'Concat', 'AveragePool', 'GlobalAveragePool']);
