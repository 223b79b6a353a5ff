// Module: the PyTorch-style container of parameters, buffers and child modules. Names are dotted
// paths (`blocks.0.c1.weight`) exactly as in a PyTorch state dict, so checkpoints and safetensors map
// one to one. Parameters are leaf tensors with requiresGrad; optimizers update their `.data` in place
// (the only sanctioned in-place write in the engine — no tape ever holds a parameter's old values).

import { Tensor } from '../engine/tensor.js';
import { LrqError } from '../engine/errors.js';
import { fmtShape } from '../engine/dtype.js';

/** A trainable leaf tensor (requiresGrad = true). */
export class Parameter extends Tensor {
  constructor(t: Tensor) {
    super(t.data, t.shape, true);
  }
}

export abstract class Module {
  /** train() / eval() mode flag (BatchNorm and fake-quant observers read it). */
  training = true;
  protected readonly _params = new Map<string, Parameter | null>();
  protected readonly _buffers = new Map<string, Tensor | null>();
  protected readonly _modules = new Map<string, Module | null>();

  /** The module's computation. Subclasses define their own signature; most take and return a Tensor. */
  abstract forward(...args: never[]): unknown;

  /** Register (or replace) a parameter under `name`; returns it. */
  registerParameter<P extends Parameter | null>(name: string, p: P): P {
    if (p) p.name = name;
    this._params.set(name, p);
    return p;
  }
  /** Register (or replace) a buffer (non-trainable state saved in the state dict, e.g. running_mean). */
  registerBuffer<T extends Tensor | null>(name: string, t: T): T {
    this._buffers.set(name, t);
    return t;
  }
  /** Register (or replace) a child module. */
  registerModule<M extends Module | null>(name: string, m: M): M {
    this._modules.set(name, m);
    return m;
  }

  /** Direct parameter by local name. */
  param(name: string): Parameter | null {
    return this._params.get(name) ?? null;
  }
  /** Direct buffer by local name. */
  buffer(name: string): Tensor | null {
    return this._buffers.get(name) ?? null;
  }

  /** Immediate children as [name, module]. */
  *namedChildren(): Generator<[string, Module]> {
    for (const [k, m] of this._modules) if (m) yield [k, m];
  }
  /** This module and every descendant as [dotted path, module]; the root has path ''. */
  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [k, m] of this.namedChildren()) yield* m.namedModules(prefix ? `${prefix}.${k}` : k);
  }
  /** Every parameter as [dotted path, parameter], each parameter once (shared ones by first path). */
  *namedParameters(prefix = ''): Generator<[string, Parameter]> {
    const seen = new Set<Tensor>();
    for (const [path, m] of this.namedModules(prefix)) {
      for (const [k, p] of m._params) {
        if (!p || seen.has(p)) continue;
        seen.add(p);
        yield [path ? `${path}.${k}` : k, p];
      }
    }
  }
  /** Parameters as a list (for optimizers). */
  parameters(): Parameter[] {
    return [...this.namedParameters()].map(([, p]) => p);
  }
  /** Every buffer as [dotted path, tensor]. */
  *namedBuffers(prefix = ''): Generator<[string, Tensor]> {
    for (const [path, m] of this.namedModules(prefix)) {
      for (const [k, b] of m._buffers) if (b) yield [path ? `${path}.${k}` : k, b];
    }
  }

  /** The descendant at a dotted path ('' = this). */
  getSubmodule(path: string): Module {
    if (path === '') return this;
    let m: Module = this;
    for (const part of path.split('.')) {
      const next = m._modules.get(part);
      if (!next) throw new LrqError(`no submodule '${path}' (missing '${part}')`);
      m = next;
    }
    return m;
  }
  /** Replace the descendant at a dotted path (used by quantization's prepare step). */
  setSubmodule(path: string, mod: Module): void {
    const i = path.lastIndexOf('.');
    const parent = i < 0 ? this : this.getSubmodule(path.slice(0, i));
    const key = i < 0 ? path : path.slice(i + 1);
    if (!parent._modules.has(key)) throw new LrqError(`no submodule '${path}' to replace`);
    parent._modules.set(key, mod);
  }

  /** Set training mode on this module and all descendants. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }
  /** Set evaluation mode (train(false)). */
  eval(): this {
    return this.train(false);
  }

  /** Clear `.grad` of every parameter (torch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Parameters and buffers by dotted path (values shared, not copied). */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [k, p] of this.namedParameters()) out.set(k, p);
    for (const [k, b] of this.namedBuffers()) out.set(k, b);
    return out;
  }

  /**
   * Copy values from a state dict into this module's parameters and buffers. With strict (default),
   * missing or unexpected keys and shape mismatches raise one error naming them.
   */
  loadStateDict(sd: Map<string, Tensor> | Record<string, Tensor>, strict = true): void {
    const src = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !src.has(k));
    const unexpected = [...src.keys()].filter((k) => !own.has(k));
    if (strict && (missing.length || unexpected.length)) {
      const parts: string[] = [];
      if (missing.length) parts.push(`missing ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` (+${missing.length - 5})` : ''}`);
      if (unexpected.length) parts.push(`unexpected ${unexpected.slice(0, 5).join(', ')}${unexpected.length > 5 ? ` (+${unexpected.length - 5})` : ''}`);
      throw new LrqError(`state dict does not match the module: ${parts.join('; ')}`);
    }
    for (const [k, t] of own) {
      const s = src.get(k);
      if (!s) continue;
      if (s.size !== t.size) throw new LrqError(`state dict entry ${k}: shape ${fmtShape(s.shape)} does not match ${fmtShape(t.shape)}`);
      t.data.set(s.data);
    }
  }
}

/** Apply modules in order: y = m_k(…m_1(x)). */
export class Sequential extends Module {
  constructor(...mods: Module[]) {
    super();
    mods.forEach((m, i) => this.registerModule(String(i), m));
  }
  forward(x: Tensor): Tensor {
    for (const [, m] of this.namedChildren()) x = (m as unknown as { forward(x: Tensor): Tensor }).forward(x);
    return x;
  }
}
