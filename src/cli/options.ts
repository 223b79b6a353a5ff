// The `lrq quantize` option table: one row per QuantizeConfig field, from which the commander flags,
// their --help text and the parsing are generated, so the CLI and the library API cannot drift apart.

import { InvalidArgumentError, Option } from 'commander';
import type { QuantizeConfig } from '../method/config.js';
import { BASE_DEFAULTS, FAST_PRESET, PAPER_PRESET, kebab, methodDefaults } from '../method/config.js';
import { RANGE_MODES } from '../quant/observer.js';

type Kind = 'int' | 'float' | 'bool' | 'string' | 'ints' | 'floats' | 'list';
interface Row { key: keyof QuantizeConfig; kind: Kind; help: string; choices?: string[] }

export const QUANTIZE_OPTIONS: Row[] = [
  { key: 'method', kind: 'string', choices: ['lrq', 'gdfq', 'lrq-recon'], help: 'lrq = long-range generator + AMA + DKD; gdfq = GDFQ generator, plain CE, KD (the baseline); lrq-recon = LRQ\'s generator, then block reconstruction (AdaRound + LSQ + QDrop) on a fixed set of its images' },
  { key: 'wbits', kind: 'int', help: 'weight bits, 2-8 (per-output-channel asymmetric)' },
  { key: 'abits', kind: 'int', help: 'activation bits, 2-8 (per-tensor, after every ReLU/ReLU6)' },
  { key: 'scheme', kind: 'string', choices: ['paper', 'deploy'], help: 'paper: GDFQ\'s graph (BN in FP, quantizers after ReLU; the published tables); deploy: BN folded, symmetric int8 weights, quantizers on every integer-kernel edge, exported as model.int8.onnx that onnxruntime runs in QLinearConv/QGemm/QLinearAdd (faster than FP32 at 8-bit activations)' },
  { key: 'firstLast8bit', kind: 'bool', help: 'keep the first conv and the last linear at 8 bits (off: quantized like the rest, as GDFQ)' },
  { key: 'rangeMode', kind: 'string', choices: [...RANGE_MODES], help: 'activation range observer (gdfq-ema: bias-corrected EMA β=0.9 as GDFQ; mse: plain EMA of each batch\'s MSE-optimal clipped range, not in GDFQ)' },
  { key: 'seed', kind: 'int', help: 'random seed (runs are reproducible bit for bit on one machine and backend)' },
  { key: 'epochs', kind: 'int', help: 'epochs (overrides the preset)' },
  { key: 'itersPerEpoch', kind: 'int', help: 'iterations per epoch' },
  { key: 'batchSize', kind: 'int', help: 'batch size of generator and student' },
  { key: 'warmupEpochs', kind: 'int', help: 'generator-only epochs before the student trains' },
  { key: 'calibEpochs', kind: 'int', help: 'epochs during which activation ranges are observed (frozen afterwards)' },
  { key: 'lrS', kind: 'float', help: 'student SGD learning rate' },
  { key: 'lrSCap', kind: 'string', choices: ['curvature', 'off'], help: 'curvature: at each student epoch\'s first batch, lower the student LR to half of Nesterov SGD\'s stability limit 2(1+m)/((1+2m)*lambda) when the loss\'s top Hessian eigenvalue lambda (power iteration, FP student) puts it past that (data-free; not in the paper); off: the schedule alone' },
  { key: 'lrG', kind: 'float', help: 'generator Adam learning rate' },
  { key: 'lrSteps', kind: 'ints', help: 'comma-separated epochs where both LRs are multiplied by 0.1' },
  { key: 'momentum', kind: 'float', help: 'student SGD momentum (Nesterov)' },
  { key: 'weightDecay', kind: 'float', help: 'student weight decay' },
  { key: 'emaDecay', kind: 'float', help: 'EMA of the student weights, avg = d*avg + (1-d)*w per step; the average is evaluated, saved and exported (0 = off, the paper)' },
  { key: 'select', kind: 'string', choices: ['final', 'synth-kl'], help: 'student to keep: final (the paper) or synth-kl, of the last --select-epochs epoch-end students the one with the lowest KL(teacher||student) on pair-mixed images from the final generator (data-free)' },
  { key: 'selectImages', kind: 'int', help: 'images in the --select synth-kl scoring set (generated, mixed in pairs)' },
  { key: 'selectEpochs', kind: 'int', help: '--select synth-kl candidates: the students after each of the last K epochs' },
  { key: 'selectTemperature', kind: 'float', help: 'temperature of the --select synth-kl KL' },
  { key: 'adamBetas', kind: 'floats', help: 'generator Adam betas, e.g. 0.5,0.999' },
  { key: 'latentDim', kind: 'int', help: 'generator latent dimension' },
  { key: 'lkaPositions', kind: 'list', help: 'LKA insertion points: after_l1,after_block1,after_block2 ("none" = plain GDFQ generator)' },
  { key: 'lkaForm', kind: 'string', choices: ['bare', 'van-attention'], help: 'LKA form: bare u⊙LKA(u), or VAN attention with 1x1 projections, GELU and residual' },
  { key: 'lkaResidual', kind: 'bool', help: 'residual LKA fallback u + u⊙a' },
  { key: 'bnsWeight', kind: 'float', help: 'weight of the BN-statistics loss in the generator loss (GDFQ: 0.1; fast preset 3, see docs/METHOD.md)' },
  { key: 'ama', kind: 'bool', help: 'additive angular margin on the generator CE (AMA)' },
  { key: 'amaVariant', kind: 'string', choices: ['norm-preserving', 'arcface'], help: 'AMA logits: norm-preserving (m=0 is plain CE) or normalized arcface (scale s)' },
  { key: 'amaMargin', kind: 'float', help: 'AMA margin m in radians' },
  { key: 'amaScale', kind: 'float', help: 'AMA scale s (arcface variant)' },
  { key: 'amaSign', kind: 'int', help: 'AMA margin sign: 1 (ArcFace, +m) or -1' },
  { key: 'distill', kind: 'string', choices: ['dkd', 'kd'], help: 'student distillation: decoupled KD or classic KD' },
  { key: 'ceWeight', kind: 'float', help: 'weight of the student CE on the sampled labels' },
  { key: 'kdTemperature', kind: 'float', help: 'classic KD temperature' },
  { key: 'kdAlpha', kind: 'float', help: 'classic KD weight' },
  { key: 'kdReduction', kind: 'string', choices: ['mean', 'batchmean'], help: 'classic KD reduction (mean = GDFQ quirk, element-wise)' },
  { key: 'dkdAlpha', kind: 'float', help: 'DKD target-class weight α' },
  { key: 'dkdBeta', kind: 'float', help: 'DKD non-target-class weight β' },
  { key: 'dkdTemperature', kind: 'float', help: 'DKD temperature' },
  { key: 'dkdWarmup', kind: 'int', help: 'DKD ramp length in epochs after the generator warm-up' },
  { key: 'mixStudent', kind: 'float', help: 'fraction of each student batch replaced by pair mixes x\'=l*x_i+(1-l)*x_(i+1), l~U(0.2,0.8), labelled and distilled by the teacher on x\' (not in the paper; 0 = off)' },
  { key: 'reconImages', kind: 'int', help: 'lrq-recon: calibration images drawn from the trained generator (real-data mode: from --calib-data)' },
  { key: 'reconIters', kind: 'int', help: 'lrq-recon: AdaRound/LSQ iterations per block' },
  { key: 'reconBatch', kind: 'int', help: 'lrq-recon: reconstruction batch size' },
  { key: 'reconDrop', kind: 'float', help: 'lrq-recon: QDrop probability of leaving an activation unquantized while reconstructing (0 = BRECQ)' },
  { key: 'reconRefineIters', kind: 'int', help: 'lrq-recon: Adam iterations refining each batch of 128 drawn images against BNS + CE before reconstruction (Genie-style; 0 = off)' },
  { key: 'reconRefineLr', kind: 'float', help: 'lrq-recon: learning rate of that refinement on the normalized pixels' },
  { key: 'evalData', kind: 'string', help: 'real test set (image folder, *-images-idx3-ubyte[.gz] or CIFAR-style .bin) evaluated after every epoch' },
  { key: 'calibData', kind: 'string', help: 'real-data mode: train the student on these images instead of the generator' },
  { key: 'mean', kind: 'floats', help: 'input normalization mean, one per input channel (e.g. 0.485,0.456,0.406, or 0.286 for grey; one value is broadcast); default: model metadata, else ImageNet\'s for RGB, none for grey' },
  { key: 'std', kind: 'floats', help: 'input normalization std' },
  { key: 'evalLimit', kind: 'int', help: 'evaluate on the first N test images only (0 = all)' },
  { key: 'checkpointEvery', kind: 'int', help: 'write a checkpoint every N iterations (and at every epoch end)' },
  { key: 'resume', kind: 'bool', help: 'continue the run in --out from its last checkpoint' },
  { key: 'export', kind: 'bool', help: 'export the quantized ONNX at the end (default on; --no-export)' },
  { key: 'report', kind: 'bool', help: 'write report.html at the end (default on; --no-report)' },
  { key: 'progress', kind: 'bool', help: 'progress bar on a TTY (default on; --no-progress)' },
];

function parser(row: Row): (v: string) => unknown {
  const flag = `--${kebab(row.key)}`;
  const num = (s: string, int: boolean) => {
    const v = Number(s);
    if (s.trim() === '' || !Number.isFinite(v) || (int && !Number.isInteger(v))) throw new InvalidArgumentError(`${flag}: '${s}' is not ${int ? 'an integer' : 'a number'}`);
    return v;
  };
  switch (row.kind) {
    case 'int': return (s) => num(s, true);
    case 'float': return (s) => num(s, false);
    case 'ints': return (s) => (s === '' ? [] : s.split(',').map((x) => num(x, true)));
    case 'floats': return (s) => s.split(',').map((x) => num(x, false));
    case 'list': return (s) => (s === 'none' || s === '' ? [] : s.split(','));
    default: return (s) => s;
  }
}

const show = (v: unknown): string => (Array.isArray(v) ? (v.length ? v.join(',') : 'none') : String(v));

/** The default of a row as --help shows it: per preset and per method where those differ. */
function defaultText(key: keyof QuantizeConfig): string {
  const base = BASE_DEFAULTS[key as keyof typeof BASE_DEFAULTS];
  if (base === undefined) return '';
  const paper = PAPER_PRESET[key] ?? base, fast = FAST_PRESET[key] ?? base;
  const lrq = methodDefaults('lrq')[key], gdfq = methodDefaults('gdfq')[key];
  if (lrq !== undefined || gdfq !== undefined) return ` [default: lrq ${show(lrq ?? base)}, gdfq ${show(gdfq ?? base)}]`;
  if (show(paper) !== show(fast)) return ` [default: paper ${show(paper)}, fast ${show(fast)}]`;
  return ` [default: ${show(base)}]`;
}

/** Commander options for every row (booleans get --x and --no-x). */
export function quantizeOptions(): Option[] {
  const out: Option[] = [];
  for (const row of QUANTIZE_OPTIONS) {
    const flag = `--${kebab(row.key)}`;
    const help = row.help + (['resume', 'export', 'report', 'progress', 'evalData', 'calibData', 'mean', 'std'].includes(row.key) ? '' : defaultText(row.key));
    if (row.kind === 'bool') {
      out.push(new Option(flag, help));
      out.push(new Option(`--no-${kebab(row.key)}`).hideHelp());
    } else {
      const o = new Option(`${flag} <value>`, help);
      if (row.choices) o.choices(row.choices);
      else o.argParser(parser(row) as (v: string, p: unknown) => unknown);
      out.push(o);
    }
  }
  return out;
}

/** Pick the QuantizeConfig fields out of commander's parsed options. */
export function pickQuantizeConfig(opts: Record<string, unknown>): Partial<QuantizeConfig> {
  const out: Record<string, unknown> = {};
  for (const row of QUANTIZE_OPTIONS) {
    const v = opts[row.key];
    if (v !== undefined) out[row.key] = row.key === 'amaSign' ? Number(v) : v;
  }
  return out as Partial<QuantizeConfig>;
}
