// The reference backend: every kernel of the Backend interface in plain TypeScript loops (the oracle
// the native backend is tested against). Importing this module registers it as 'reference'.

import { type Backend, registerBackend } from '../../backend.js';
import { conv2d, conv2dBackwardData, conv2dBackwardWeights } from './conv.js';
import { matmul } from './matmul.js';
import { batchMoments, batchMomentsBackward, batchNormInfer, batchNormInferBackward, batchNormTrain, batchNormTrainBackward } from './batchnorm.js';
import { affine, binary, unary, unaryBackward } from './elementwise.js';
import { max, sum } from './reduce.js';
import { broadcastTo, concat, pad, slice, sliceBackward, transpose } from './layout.js';
import { avgPool2d, avgPool2dBackward, maxPool2d, maxPool2dBackward, upsampleNearest, upsampleNearestBackward } from './pool.js';
import { gatherRows, logSoftmax, scatterAddRows, softmax } from './rows.js';
import { fakeQuant, lsqBackward, rowMinMax, selectMask } from './quant.js';
import { bernoulliFill } from '../../random.js';

/** The plain-TypeScript backend (single-threaded). The onednn backend spreads this and overrides. */
export const referenceBackend: Backend = {
  name: 'reference',
  threads: () => 1,
  conv2d, conv2dBackwardData, conv2dBackwardWeights,
  matmul,
  batchNormTrain, batchNormInfer, batchNormTrainBackward, batchNormInferBackward, batchMoments, batchMomentsBackward,
  unary, unaryBackward, binary, affine,
  sum, max, broadcastTo, transpose, slice, sliceBackward, pad, concat,
  avgPool2d, avgPool2dBackward, maxPool2d, maxPool2dBackward, upsampleNearest, upsampleNearestBackward,
  logSoftmax, softmax, gatherRows, scatterAddRows,
  fakeQuant, rowMinMax, lsqBackward, bernoulliMask: bernoulliFill, selectMask,
};

registerBackend('reference', () => referenceBackend);
