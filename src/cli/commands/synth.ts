// `lrq synth --run <dir>`: a PNG grid of synthetic images per class. Images come from `sample` (the
// caller's generator, e.g. loaded from the run's checkpoint) or, without one, from the run's synth.bin.

import { LrqError } from '../../engine/errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { synthGrid } from '../../report/png.js';
import { readSynth } from '../../report/run_dir.js';

/** A generator sampler: images (NCHW float32, normalized space) for the given class labels. */
export type Sampler = (labels: Int32Array, seed: number) => Promise<{ images: Float32Array; shape: [number, number, number, number] }>;

export interface SynthCommandOptions {
  run?: string;
  /** Images per class (string from the CLI or a number). */
  perClass?: string | number;
  out?: string;
  seed?: string | number;
  /** Number of classes to sample when `sample` is given (default: 10). */
  classes?: number;
  sample?: Sampler;
  mean?: number[];
  std?: number[];
  print?: boolean;
}

/** Write the grid PNG; returns its path. */
export async function runSynth(opts: SynthCommandOptions): Promise<string> {
  if (!opts.run) throw new LrqError('synth: --run <dir> is required');
  const perClass = Number(opts.perClass ?? 8);
  const seed = Number(opts.seed ?? 0);
  if (!Number.isInteger(perClass) || perClass < 1) throw new LrqError(`synth: --per-class ${opts.perClass}: must be a positive integer`);
  if (!Number.isInteger(seed)) throw new LrqError(`synth: --seed ${opts.seed}: must be an integer`);
  const out = opts.out ?? 'grid.png';
  let png: Buffer;
  if (opts.sample) {
    const classes = opts.classes ?? 10;
    const labels = Int32Array.from({ length: classes * perClass }, (_, i) => Math.floor(i / perClass));
    const { images, shape } = await opts.sample(labels, seed);
    const mean = opts.mean ?? new Array(shape[1]).fill(0);
    const std = opts.std ?? new Array(shape[1]).fill(1);
    png = synthGrid(images, shape, labels, mean, std, perClass);
  } else {
    const s = readSynth(opts.run);
    if (!s) throw new LrqError(`synth: ${opts.run} has no synth.json/synth.bin and no generator sampler was given`);
    png = synthGrid(s.images, s.shape, s.labels, opts.mean ?? s.mean, opts.std ?? s.std, perClass);
  }
  writeFileAtomic(out, png);
  if (opts.print !== false) process.stdout.write(`${out}\n`);
  return out;
}
