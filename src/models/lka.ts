// Large-kernel attention (VAN, Guo et al. 2022) as used by LRQ's long-range generator (spec §3.2).
// Bare LKA: a = Conv1×1(DW7×7_dil3(DW5×5(u))), out = u ⊙ a (names conv0, conv_spatial, conv1 as VAN's
// `LKA`); the residual fallback returns u + u ⊙ a. The van-attention form is VAN's `Attention`:
// x + proj_2(LKA(GELU(proj_1(x)))) with VAN init (weights N(0, 2/fan_out), fan_out = k·k·out/groups; zero bias).

import { Module } from '../nn/module.js';
import { Conv2d, GELU } from '../nn/layers/index.js';
import { defaultRng, normal } from '../nn/init.js';
import { add, mul } from '../engine/ops/index.js';
import { Tensor } from '../engine/tensor.js';
import type { Rng } from '../engine/random.js';
import type { DType } from '../engine/dtype.js';

export type LkaForm = 'bare' | 'van-attention';

export interface LkaOptions {
  /** 'bare' = VAN's LKA alone (default); 'van-attention' = with the 1×1 projections, GELU and residual. */
  form?: LkaForm;
  /** Residual fallback for the gate: u + u ⊙ a instead of u ⊙ a. */
  residual?: boolean;
  rng?: Rng;
  dtype?: DType;
}

/** VAN init of a conv: weight ~ N(0, √(2/fan_out)) with fan_out = kh·kw·out/groups, bias = 0. */
export function vanInitConv(conv: Conv2d, rng: Rng): void {
  const [kh, kw] = conv.kernelSize;
  const fanOut = (kh * kw * conv.outChannels) / conv.groups;
  conv.weight.data.set(normal(rng, conv.weight.shape, 0, Math.sqrt(2 / fanOut), conv.weight.dtype).data);
  conv.bias?.data.fill(0);
}

/** LKA(u) = u ⊙ Conv1×1(DW7×7_dil3(DW5×5(u))) (or u + u ⊙ … with residual); params 74·C + C² + 3·C. */
export class LKA extends Module {
  readonly channels: number;
  residual: boolean;
  /** DW5×5 (children are read from the registry so setSubmodule swaps take effect). */
  get conv0(): Conv2d {
    return this.getSubmodule('conv0') as Conv2d;
  }
  /** DW7×7, dilation 3. */
  get conv_spatial(): Conv2d {
    return this.getSubmodule('conv_spatial') as Conv2d;
  }
  /** 1×1 channel mixing. */
  get conv1(): Conv2d {
    return this.getSubmodule('conv1') as Conv2d;
  }

  constructor(channels: number, opts: LkaOptions = {}) {
    super();
    const rng = opts.rng ?? defaultRng();
    const dtype = opts.dtype;
    this.channels = channels;
    this.residual = opts.residual ?? false;
    this.registerModule('conv0', new Conv2d(channels, channels, 5, { padding: 2, groups: channels, rng, dtype }));
    this.registerModule('conv_spatial', new Conv2d(channels, channels, 7, { padding: 9, dilation: 3, groups: channels, rng, dtype }));
    this.registerModule('conv1', new Conv2d(channels, channels, 1, { rng, dtype }));
  }

  override forward(u: Tensor): Tensor {
    const a = this.conv1.forward(this.conv_spatial.forward(this.conv0.forward(u)));
    const gated = mul(u, a);
    return this.residual ? add(u, gated) : gated;
  }
}

/** VAN's Attention: x + proj_2(LKA(GELU(proj_1(x)))), VAN-initialized. */
export class LKAAttention extends Module {
  /** Input 1×1 projection. */
  get proj_1(): Conv2d {
    return this.getSubmodule('proj_1') as Conv2d;
  }
  get activation(): GELU {
    return this.getSubmodule('activation') as GELU;
  }
  get spatial_gating_unit(): LKA {
    return this.getSubmodule('spatial_gating_unit') as LKA;
  }
  /** Output 1×1 projection. */
  get proj_2(): Conv2d {
    return this.getSubmodule('proj_2') as Conv2d;
  }

  constructor(channels: number, opts: LkaOptions = {}) {
    super();
    const rng = opts.rng ?? defaultRng();
    const dtype = opts.dtype;
    this.registerModule('proj_1', new Conv2d(channels, channels, 1, { rng, dtype }));
    this.registerModule('activation', new GELU());
    this.registerModule('spatial_gating_unit', new LKA(channels, { ...opts, rng }));
    this.registerModule('proj_2', new Conv2d(channels, channels, 1, { rng, dtype }));
    for (const [, m] of this.namedModules()) if (m instanceof Conv2d) vanInitConv(m, rng);
  }

  override forward(x: Tensor): Tensor {
    const h = this.proj_2.forward(this.spatial_gating_unit.forward(this.activation.forward(this.proj_1.forward(x))));
    return add(x, h);
  }
}

/** An LKA block of the requested form: bare (PyTorch default init) or van-attention (VAN init). */
export function makeLka(channels: number, opts: LkaOptions = {}): LKA | LKAAttention {
  return (opts.form ?? 'bare') === 'van-attention' ? new LKAAttention(channels, opts) : new LKA(channels, opts);
}
