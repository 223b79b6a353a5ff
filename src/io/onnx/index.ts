// Public entry of the ONNX importer: loadOnnx(path) → GraphModule, plus the pieces export needs.
// Rule: every user-facing failure (missing/corrupt file, unsupported op, no BN) is a one-line LrqError.

import { GraphModule, type GraphImportOptions } from './graph.js';
import { readModelProto } from './proto.js';

export { GraphModule, SUPPORTED_OPS, sanitizeName, type GraphForwardOptions, type GraphImportOptions } from './graph.js';
export { IntTensor, type Value, readModelProto, tensorFromProto, metadata, onnx } from './proto.js';
export { Clamp } from './modules.js';

/**
 * Read an .onnx file and build its GraphModule (eval mode, like a freshly loaded PyTorch model after .eval()).
 * A caller that has already parsed the file (for its metadata) passes the proto, so the file is read once.
 */
export function loadOnnx(path: string, opts: GraphImportOptions = {}, proto = readModelProto(path)): GraphModule {
  const g = new GraphModule(proto, path, opts);
  g.eval();
  return g;
}
