// Classification accuracy of a model on a labelled dataset: top-1, top-5, per-class accuracy and the
// confusion matrix. Rule: runs under noGrad in eval mode and restores the model's mode afterwards;
// ties in the logits go to the lowest class index (torch.argmax on CPU).

import { noGrad, type Tensor } from '../engine/tensor.js';
import { LrqError } from '../engine/errors.js';
import type { Module } from '../nn/module.js';
import { type Dataset, batches } from '../io/datasets/dataset.js';

/** Result of evaluate(): fractions in [0, 1] and raw counts. */
export interface EvalResult {
  /** Samples evaluated. */
  n: number;
  /** Top-1 and top-5 accuracy (fractions). */
  top1: number;
  top5: number;
  /** Correct top-1 / top-5 counts. */
  correct1: number;
  correct5: number;
  /** Top-1 accuracy of each true class (NaN for a class with no samples). */
  perClass: number[];
  /** confusion[true][predicted] counts. */
  confusion: number[][];
}

/** Accumulates predictions batch by batch (shared by evaluate and ortEvaluate). */
export class EvalAccumulator {
  private n = 0;
  private c1 = 0;
  private c5 = 0;
  readonly confusion: number[][];

  constructor(readonly numClasses: number) {
    this.confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  }

  /** Add a batch of logits [rows, cols] (row-major) with their labels. */
  add(logits: ArrayLike<number>, rows: number, cols: number, labels: ArrayLike<number>): void {
    if (cols < this.numClasses) throw new LrqError(`evaluate: the model outputs ${cols} classes but the dataset has ${this.numClasses}`);
    if (logits.length !== rows * cols) throw new LrqError(`evaluate: logits hold ${logits.length} values, expected ${rows}×${cols}`);
    const k = Math.min(5, cols);
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      const y = labels[r]!;
      const ly = logits[o + y]!;
      // rank of the true class: how many logits beat it (ties broken toward lower index)
      let above = 0, arg = 0;
      for (let j = 0; j < cols; j++) {
        const v = logits[o + j]!;
        if (v > ly || (v === ly && j < y)) above++;
        if (v > logits[o + arg]!) arg = j;
      }
      if (Number.isNaN(ly)) above = cols;
      if (above === 0) this.c1++;
      if (above < k) this.c5++;
      if (arg < this.numClasses) this.confusion[y]![arg]!++;
      this.n++;
    }
  }

  /** The totals so far. */
  result(): EvalResult {
    const perClass = this.confusion.map((row, i) => {
      const tot = row.reduce((a, b) => a + b, 0);
      return tot ? row[i]! / tot : NaN;
    });
    return { n: this.n, top1: this.n ? this.c1 / this.n : 0, top5: this.n ? this.c5 / this.n : 0, correct1: this.c1, correct5: this.c5, perClass, confusion: this.confusion };
  }
}

/** Index of the largest value of each row of a [rows, cols] row-major array (ties to the lower index). */
export function argmaxRows(v: ArrayLike<number>, rows: number, cols: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let j = 1; j < cols; j++) if (v[r * cols + j]! > v[r * cols + best]!) best = j;
    out[r] = best;
  }
  return out;
}

/** Options of evaluate. */
export interface EvaluateOptions {
  batchSize?: number;
  /** Evaluate only the first `limit` samples. */
  limit?: number;
  /** Called after each batch with the samples done so far. */
  onProgress?: (done: number, total: number) => void;
}

type Classifier = Module & { forward(x: Tensor): Tensor };

/** Top-1/top-5 accuracy, per-class accuracy and confusion of argmax(model(x)) over the dataset. */
export function evaluate(model: Classifier, dataset: Dataset, opts: EvaluateOptions = {}): EvalResult {
  const batchSize = opts.batchSize ?? 250;
  const total = Math.min(dataset.size, opts.limit ?? Infinity);
  if (total <= 0) throw new LrqError('evaluate: the dataset is empty');
  const acc = new EvalAccumulator(dataset.numClasses);
  const wasTraining = model.training;
  model.eval();
  try {
    noGrad(() => {
      for (let s = 0; s < total; s += batchSize) {
        const { x, y } = dataset.batch(s, Math.min(total, s + batchSize));
        const logits = model.forward(x);
        if (logits.ndim !== 2 || logits.shape[0] !== y.length) {
          throw new LrqError(`evaluate: model output has shape [${logits.shape.join(', ')}], expected [${y.length}, classes]`);
        }
        acc.add(logits.data, logits.shape[0]!, logits.shape[1]!, y);
        opts.onProgress?.(Math.min(total, s + batchSize), total);
      }
    });
  } finally {
    model.train(wasTraining);
  }
  return acc.result();
}

export { batches };
