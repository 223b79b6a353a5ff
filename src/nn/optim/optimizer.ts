// The optimizer base: parameter groups with per-group hyper-parameters (lr settable per group, as
// torch's param_groups), per-parameter state keyed by the parameter's global index, zeroGrad, and a
// plain state dict for checkpoint/resume. Updates write parameter `.data` in place (module.ts rule).

import { Tensor } from '../../engine/tensor.js';
import type { Parameter } from '../module.js';
import { LrqError } from '../../engine/errors.js';

/** A group of parameters sharing hyper-parameters H (lr, momentum, …). */
export type ParamGroup<H> = H & { params: Parameter[] };
/** What an optimizer accepts: a flat parameter list or groups with per-group overrides. */
export type ParamsArg<H> = Iterable<Parameter> | (Partial<H> & { params: Iterable<Parameter> })[];

/** Per-parameter state: named tensors (momentum_buffer, exp_avg, …) and numbers (step). */
export type ParamState = Record<string, Tensor | number>;

/** Serializable optimizer state: state by global param index, and the groups' hyper-parameters. */
export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  paramGroups: Record<string, unknown>[];
}

export abstract class Optimizer<H extends { lr: number }> {
  readonly paramGroups: ParamGroup<H>[];
  /** State per parameter, keyed by the Parameter object. */
  readonly state = new Map<Parameter, ParamState>();

  constructor(params: ParamsArg<H>, defaults: H) {
    const list = Array.isArray(params) && params.length > 0 && !(params[0] instanceof Tensor) ? params as (Partial<H> & { params: Iterable<Parameter> })[] : [{ params: params as Iterable<Parameter> }];
    this.paramGroups = list.map((g) => ({ ...defaults, ...g, params: [...g.params] }) as ParamGroup<H>);
    const seen = new Set<Parameter>();
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (seen.has(p)) throw new LrqError(`optimizer: parameter ${p.name ?? '?'} appears in more than one group`);
        seen.add(p);
      }
    }
  }

  /** One update of every parameter that has a gradient. */
  abstract step(): void;

  /** Set every group's learning rate (convenience for schedules that drive all groups alike). */
  setLr(lr: number): void {
    for (const g of this.paramGroups) g.lr = lr;
  }

  /** Clear `.grad` of every parameter (set_to_none = True). */
  zeroGrad(): void {
    for (const g of this.paramGroups) for (const p of g.params) p.grad = null;
  }

  /** All parameters in group order (their position is the index used by the state dict). */
  allParams(): Parameter[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /** State (tensors copied) by parameter index, and each group's hyper-parameters with `params` as indices. */
  stateDict(): OptimizerStateDict {
    const idx = new Map<Parameter, number>();
    this.allParams().forEach((p, i) => idx.set(p, i));
    const state: Record<number, ParamState> = {};
    for (const [p, s] of this.state) {
      const c: ParamState = {};
      for (const [k, v] of Object.entries(s)) c[k] = v instanceof Tensor ? v.clone() : v;
      state[idx.get(p)!] = c;
    }
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...hyper } = g;
      return { ...hyper, params: params.map((p) => idx.get(p)!) };
    });
    return { state, paramGroups };
  }

  /** Restore a state dict produced by stateDict() of an optimizer over the same parameters. */
  loadStateDict(sd: OptimizerStateDict): void {
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new LrqError(`optimizer state: ${sd.paramGroups.length} groups, optimizer has ${this.paramGroups.length}`);
    }
    const params = this.allParams();
    sd.paramGroups.forEach((sg, i) => {
      const g = this.paramGroups[i]!;
      const ids = sg['params'] as number[] | undefined;
      if (ids && ids.length !== g.params.length) throw new LrqError(`optimizer state: group ${i} has ${ids.length} params, optimizer has ${g.params.length}`);
      for (const [k, v] of Object.entries(sg)) if (k !== 'params') (g as Record<string, unknown>)[k] = v;
    });
    this.state.clear();
    for (const [k, s] of Object.entries(sd.state)) {
      const p = params[Number(k)];
      if (!p) throw new LrqError(`optimizer state: parameter index ${k} out of range (${params.length} params)`);
      const c: ParamState = {};
      for (const [name, v] of Object.entries(s)) {
        if (v instanceof Tensor && v.size !== p.size) throw new LrqError(`optimizer state: ${name} of param ${k} has ${v.size} values, param has ${p.size}`);
        c[name] = v instanceof Tensor ? new Tensor(v.data.slice(), p.shape) : v;
      }
      this.state.set(p, c);
    }
  }
}
