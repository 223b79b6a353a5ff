// `lrq` command line: parses arguments with commander and dispatches to the command handlers in
// ./commands. User errors (LrqError, bad flags) print one line `lrq: …` and exit 1 — never a stack
// trace (set LRQ_DEBUG=1 to see one). Handlers are imported lazily so `--help` stays instant.

import { Command, CommanderError } from 'commander';
import { quantizeOptions, pickQuantizeConfig } from './options.js';
import { LrqError } from '../engine/errors.js';
import { lrqVersion } from './version.js';
import { InterruptedError } from '../method/interrupt.js';

const EXAMPLES = `
Examples:
  $ lrq quantize --model resnet20.onnx --out runs/r20-w4a4 --eval-data test_batch.bin   # fast preset, W4A4, ~30 min on 2 cores
  $ lrq quantize --model resnet20.onnx --out runs/r20-w4a4 --resume                     # continue after Ctrl-C
  $ lrq eval --model runs/r20-w4a4/model.qdq.onnx --data cifar10-test/ --runtime ort
  $ lrq report runs/r20-w4a4 && lrq synth --run runs/r20-w4a4 --out grid.png

Run 'lrq <command> --help' for a command's options.`;

const program = new Command();
program
  .name('lrq')
  .description('Data-free low-bit quantization of ONNX image classifiers (LRQ: long-range generator, AMA, DKD).')
  .version(lrqVersion(), '-V, --version', 'print the lrq version')
  .addHelpText('after', EXAMPLES)
  .option('--backend <name>', 'kernel backend: onednn or reference (default: onednn when built)')
  .option('--threads <n>', 'native kernel threads (default: all cores)')
  .hook('preAction', (cmd) => {
    const o = cmd.opts<{ backend?: string; threads?: string }>();
    if (o.backend) process.env['LRQ_BACKEND'] = o.backend;
    if (o.threads) process.env['LRQ_THREADS'] = o.threads;
  })
  .exitOverride()
  .configureOutput({ outputError: (str, write) => write(str.replace(/^error: /, 'lrq: ')) });

const quantize = program
  .command('quantize')
  .description('Quantize a pretrained ONNX classifier with synthetic data: train, evaluate, export, report.')
  .requiredOption('--model <file.onnx>', 'teacher model (ONNX with BatchNormalization nodes kept)')
  .requiredOption('--out <dir>', 'run directory, e.g. runs/r20-w4a4')
  .option('--preset <name>', 'schedule: fast (16×100 at batch 64, ~30 min on 2 cores; the default) or paper (400×200 at batch 200, the published schedule: 95–117 h on 2 cores)')
  .addHelpText('after', `
Examples:
  $ lrq quantize --model resnet20.onnx --out runs/r20-w4a4 --eval-data cifar10/test_batch.bin
  $ lrq quantize --model resnet20.onnx --out runs/r20-w3a3 --wbits 3 --abits 3 --method gdfq --seed 1
  $ lrq quantize --model resnet20.onnx --out runs/r20-real --calib-data cifar10/train5k.bin   # real-data reference
  $ lrq quantize --model resnet20.onnx --out runs/r20-w4a4 --resume    # after Ctrl-C: same --out, same options

Ctrl-C (or SIGTERM) stops at the next iteration, writes a checkpoint and prints how to resume; a second
Ctrl-C exits at once. One process per --out (a lock file). On --resume the run's own options are kept;
only --eval-data, --eval-limit, --checkpoint-every, --export, --report and --progress may change.`);
for (const o of quantizeOptions()) quantize.addOption(o);
quantize.action(async (opts: Record<string, unknown>) => {
  const { runQuantize } = await import('./commands/quantize.js');
  await runQuantize({ model: opts['model'] as string, out: opts['out'] as string, preset: opts['preset'] as 'paper' | 'fast', ...pickQuantizeConfig(opts) });
});

program
  .command('eval')
  .description('Top-1/top-5 and per-class accuracy of an ONNX model (FP, or exported Q/DQ through onnxruntime).')
  .requiredOption('--model <file.onnx>', 'model to evaluate')
  .requiredOption('--data <path>', 'image folder (one subfolder per class), MNIST-style *-images-idx3-ubyte[.gz] (labels file beside it) or CIFAR-style .bin of the model\'s C×H×W')
  .option('--mean <list>', 'normalization mean, one per model input channel (1 for grey; one value is broadcast); default: model metadata, else ImageNet\'s for RGB, none for grey')
  .option('--std <list>', 'normalization std, comma-separated like --mean')
  .option('--resize <n|none>', 'image folders: resize the shorter side to n, then centre-crop the model input (default: Resize(256)+CenterCrop(224) for 224² models, ⌊s/0.875⌋ for inputs ≥ 96 px, none below)')
  .option('--interpolation <name>', 'for --resize: antialias (PIL-style bilinear, default), bilinear (no antialias) or nearest')
  .option('--batch-size <n>', 'evaluation batch size', '250')
  .option('--limit <n>', 'evaluate the first N images only')
  .option('--runtime <name>', 'lrq (our engine) or ort (onnxruntime); default: lrq when it can import the graph')
  .option('--json', 'print one JSON object instead of the table (percentages rounded to 2 decimals)')
  .addHelpText('after', `
Examples:
  $ lrq eval --model resnet20.onnx --data cifar10/test_batch.bin
  $ lrq eval --model runs/r20-w4a4/model.qdq.onnx --data cifar10-test/ --runtime ort --json
  $ lrq eval --model fmnist.onnx --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz --mean 0.286 --std 0.353`)
  .action(async (opts: Record<string, string | boolean | undefined>) => {
    const { runEval } = await import('./commands/eval.js');
    await runEval(opts);
  });

program
  .command('export')
  .description('Export a finished run as QDQ ONNX (INT4/UINT4 where bits ≤ 4) and as fake-quant FP32 ONNX.')
  .requiredOption('--run <dir>', 'run directory written by lrq quantize')
  .option('--out <file.onnx>', 'output path (default: <run>/model.qdq.onnx)')
  .action(async (opts: Record<string, string | undefined>) => {
    const { runExport } = await import('./commands/export.js');
    await runExport(opts);
  });

program
  .command('report')
  .description('Write <run>/report.html: accuracies, curves, synthetic images, per-layer table.')
  .argument('<run-dir>', 'run directory')
  .action(async (dir: string) => {
    const { runReport } = await import('./commands/report.js');
    await runReport({ run: dir });
  });

program
  .command('synth')
  .description("Write a grid of synthetic images per class from a run's generator.")
  .requiredOption('--run <dir>', 'run directory')
  .option('--per-class <n>', 'images per class', '8')
  .option('--out <file.png>', 'output PNG', 'grid.png')
  .option('--seed <n>', 'latent seed', '0')
  .action(async (opts: Record<string, string | undefined>) => {
    const { runSynth } = await import('./commands/synth.js');
    await runSynth(opts);
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  if (e instanceof LrqError || (e as NodeJS.ErrnoException)?.code === 'ENOENT') {
    process.stderr.write(`lrq: ${(e as Error).message}\n`);
    if (process.env['LRQ_DEBUG']) console.error(e);
    process.exit(e instanceof InterruptedError ? e.exitCode : 1); // stopped by a signal: 128 + its number
  }
  throw e;
}
