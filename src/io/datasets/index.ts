// Datasets: CIFAR binary files, image folders, normalization and batching into NCHW float32 tensors.
export { type Batch, type Dataset, ImageDataset, batches } from './dataset.js';
export { type CifarOptions, readCifarBinary } from './cifar.js';
export { type ImageFolderOptions, readImageFolder } from './imageFolder.js';
export {
  type Normalization, DEFAULT_NORMALIZATION, IDENTITY_NORMALIZATION, checkNormalization, defaultNormalization, fitNormalization, normalizationFromMetadata, normalizationTables, parseTriple,
  resolveNormalization,
} from './normalize.js';
