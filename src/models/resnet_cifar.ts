// The akamaster CIFAR ResNet (He et al. 2016, CIFAR variant): conv3×3(3→16)+BN+ReLU, three stages of n
// basic blocks at 16/32/64 channels (stride 2 entering stages 2 and 3, "option A" parameter-free
// shortcut), global average pool, Linear(64→classes). Parameter names match the shipped safetensors:
// stem.weight, stem_bn.*, blocks.{i}.c1.weight, blocks.{i}.b1.*, blocks.{i}.c2.weight, blocks.{i}.b2.*, fc.*.

import { Module, Sequential } from '../nn/module.js';
import { Conv2d, BatchNorm2d, Linear, ReLU, GlobalAvgPool, Flatten } from '../nn/layers/index.js';
import { defaultRng, normal, fans } from '../nn/init.js';
import { add, pad, slice } from '../engine/ops/index.js';
import { Tensor } from '../engine/tensor.js';
import { LrqError } from '../engine/errors.js';
import type { Rng } from '../engine/random.js';
import { readSafetensors } from '../io/safetensors.js';

export interface ResNetCifarOptions {
  numClasses?: number;
  /** Generator for the fresh (kaiming-normal, as akamaster's _weights_init) weights. */
  rng?: Rng;
}

/** Option-A shortcut: x[:, :, ::2, ::2] (when strided) zero-padded with (cout − cin)/2 channels on each side. */
export class OptionAShortcut extends Module {
  constructor(public readonly stride: number, public readonly padChannels: number) {
    super();
  }
  override forward(x: Tensor): Tensor {
    let y = x;
    if (this.stride !== 1) y = slice(slice(y, 2, null, null, this.stride), 3, null, null, this.stride);
    if (this.padChannels) y = pad(y, [[0, 0], [this.padChannels, this.padChannels], [0, 0], [0, 0]]);
    return y;
  }
}

/** y = ReLU(BN2(conv2(ReLU(BN1(conv1(x))))) + shortcut(x)). */
export class BasicBlock extends Module {
  constructor(cin: number, cout: number, stride: number, rng: Rng) {
    super();
    this.registerModule('c1', new Conv2d(cin, cout, 3, { stride, padding: 1, bias: false, rng }));
    this.registerModule('b1', new BatchNorm2d(cout));
    this.registerModule('relu1', new ReLU());
    this.registerModule('c2', new Conv2d(cout, cout, 3, { padding: 1, bias: false, rng }));
    this.registerModule('b2', new BatchNorm2d(cout));
    this.registerModule('relu2', new ReLU());
    this.registerModule('shortcut', new OptionAShortcut(stride, (cout - cin) / 2));
  }

  override forward(x: Tensor): Tensor {
    // Children are looked up by name so quantization can swap them (setSubmodule).
    const m = (k: string) => this.getSubmodule(k) as unknown as { forward(x: Tensor): Tensor };
    const h = m('relu1').forward(m('b1').forward(m('c1').forward(x)));
    const y = m('b2').forward(m('c2').forward(h));
    return m('relu2').forward(add(y, m('shortcut').forward(x)));
  }
}

/** CIFAR ResNet-(6n+2): logits = fc(features(x)), features = global-avg-pooled 64-d vector. */
export class ResNetCifar extends Module {
  readonly depth: number;
  readonly numClasses: number;

  constructor(depth: number, opts: ResNetCifarOptions = {}) {
    super();
    if ((depth - 2) % 6 !== 0 || depth < 8) throw new LrqError(`ResNetCifar: depth ${depth} is not 6n+2`);
    const n = (depth - 2) / 6;
    this.depth = depth;
    this.numClasses = opts.numClasses ?? 10;
    const rng = opts.rng ?? defaultRng();
    this.registerModule('stem', new Conv2d(3, 16, 3, { padding: 1, bias: false, rng }));
    this.registerModule('stem_bn', new BatchNorm2d(16));
    this.registerModule('stem_relu', new ReLU());
    const blocks: BasicBlock[] = [];
    let cin = 16;
    for (const [stage, cout] of [16, 32, 64].entries()) {
      for (let b = 0; b < n; b++) {
        blocks.push(new BasicBlock(cin, cout, stage > 0 && b === 0 ? 2 : 1, rng));
        cin = cout;
      }
    }
    this.registerModule('blocks', new Sequential(...blocks));
    this.registerModule('pool', new GlobalAvgPool());
    this.registerModule('flatten', new Flatten());
    this.registerModule('fc', new Linear(64, this.numClasses, { rng }));
    // akamaster's _weights_init: kaiming_normal_ (fan_in, gain √2) on every Conv2d and Linear weight.
    for (const [, mod] of this.namedModules()) {
      if (mod instanceof Conv2d || mod instanceof Linear) {
        const w = mod.weight;
        w.data.set(normal(rng, w.shape, 0, Math.sqrt(2 / fans(w.shape).fanIn)).data);
      }
    }
  }

  private run(name: string, x: Tensor): Tensor {
    return (this.getSubmodule(name) as unknown as { forward(x: Tensor): Tensor }).forward(x);
  }

  /** The penultimate feature: global-average-pooled output of the last stage, [N, 64]. */
  features(x: Tensor): Tensor {
    let h = this.run('stem_relu', this.run('stem_bn', this.run('stem', x)));
    h = this.run('blocks', h);
    return this.run('flatten', this.run('pool', h));
  }

  /** Logits and the penultimate feature from one pass. */
  forwardWithFeatures(x: Tensor): { logits: Tensor; features: Tensor } {
    const features = this.features(x);
    return { logits: this.run('fc', features), features };
  }

  /** Logits [N, classes] of normalized NCHW input [N, 3, 32, 32]. */
  override forward(x: Tensor): Tensor {
    return this.forwardWithFeatures(x).logits;
  }
}

/** ResNet-20 (n = 3, 269,722 parameters for 10 classes). */
export function resnet20(opts: ResNetCifarOptions = {}): ResNetCifar {
  return new ResNetCifar(20, opts);
}

/** ResNet-32 (n = 5, 464,154 parameters for 10 classes). */
export function resnet32(opts: ResNetCifarOptions = {}): ResNetCifar {
  return new ResNetCifar(32, opts);
}

/** Build a CIFAR ResNet from an akamaster-layout safetensors file (depth and classes read from its tensors). */
export function loadResnetCifar(path: string): { model: ResNetCifar; metadata: Record<string, string> } {
  const { tensors, metadata } = readSafetensors(path);
  const nBlocks = new Set([...tensors.keys()].filter((k) => k.startsWith('blocks.')).map((k) => k.split('.')[1])).size;
  const fc = tensors.get('fc.weight');
  if (!fc || nBlocks === 0 || nBlocks % 3 !== 0) throw new LrqError(`${path}: not an akamaster CIFAR ResNet (fc.weight or blocks.* missing)`);
  const model = new ResNetCifar(2 * nBlocks + 2, { numClasses: fc.shape[0]! });
  try {
    model.loadStateDict(tensors);
  } catch (e) {
    throw new LrqError(`${path}: ${(e as Error).message}`);
  }
  return { model, metadata };
}

