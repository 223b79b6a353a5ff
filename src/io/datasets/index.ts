// Datasets: CIFAR-style binary files, IDX (MNIST) files, image folders, per-channel normalization and
// batching into NCHW float32 tensors.
export { type Batch, type Dataset, ImageDataset, batches } from './dataset.js';
export { type CifarOptions, readCifarBinary } from './cifar.js';
export { type ImageFolderOptions, type ShorterCrop, defaultPreprocess, readImageFolder } from './imageFolder.js';
export { type IdxOptions, idxLabelsPath, isIdxImagesPath, readIdx } from './idx.js';
export {
  type Normalization, DEFAULT_NORMALIZATION, IDENTITY_NORMALIZATION, checkNormalization, defaultNormalization, fitNormalization, normalizationFromMetadata, normalizationTables, normalizedPixelRange, parseTriple,
  resolveNormalization,
} from './normalize.js';
