// Run checkpoints: one safetensors file holding every tensor of the run (generator, student, optimizer
// moments) and, in its metadata, a JSON record of the loop position, RNG state, best accuracy and the
// log length. One file, written atomically, so a checkpoint is always whole: resume reads exactly what
// an uninterrupted run had in memory at that iteration.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor } from '../engine/tensor.js';
import { LrqError } from '../engine/errors.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import type { OptimizerStateDict, ParamState } from '../nn/optim/optimizer.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const CHECKPOINT_VERSION = 1;

/** Loop position and scalar state saved with a checkpoint. */
export interface CheckpointState {
  version: number;
  /** Next iteration to run: (epoch, iter). iter = itersPerEpoch means the epoch's end work is pending. */
  epoch: number;
  iter: number;
  rng: unknown;
  bestTop1: number | null;
  bestEpoch: number | null;
  /** Records in log.jsonl when the checkpoint was written (resume truncates the log to this). */
  logRecords: number;
  /** Training wall time so far, seconds. */
  elapsed: number;
  /** Extra JSON-able state of the components (observer counters, optimizer steps …). */
  extra: Record<string, unknown>;
}

/** Path of the checkpoint in a run directory. */
export function checkpointPath(runDir: string): string {
  return join(runDir, CHECKPOINT_FILE);
}

/** Write tensors + state atomically to runDir/checkpoint.safetensors. */
export function saveCheckpoint(runDir: string, tensors: Map<string, Tensor>, state: CheckpointState): void {
  writeSafetensors(checkpointPath(runDir), tensors, { lrq_checkpoint: JSON.stringify(state) });
}

/** Read a run's checkpoint, or null when there is none; a damaged file or another version is an LrqError. */
export function loadCheckpoint(runDir: string): { tensors: Map<string, Tensor>; state: CheckpointState } | null {
  const p = checkpointPath(runDir);
  if (!existsSync(p)) return null;
  const { tensors, metadata } = readSafetensors(p);
  const raw = metadata['lrq_checkpoint'];
  if (!raw) throw new LrqError(`${p}: not an lrq checkpoint (no lrq_checkpoint metadata)`);
  const state = JSON.parse(raw) as CheckpointState;
  if (state.version !== CHECKPOINT_VERSION) throw new LrqError(`${p}: checkpoint version ${state.version}, this lrq reads version ${CHECKPOINT_VERSION}`);
  return { tensors, state };
}

/** Prefix every key of a state dict (e.g. 'G.' for the generator). */
export function prefixed(prefix: string, sd: Map<string, Tensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [k, v] of sd) out.set(prefix + k, v);
  return out;
}

/** The entries of `all` under `prefix`, with the prefix removed. */
export function unprefixed(prefix: string, all: Map<string, Tensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [k, v] of all) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), v);
  return out;
}

/** Split an optimizer state dict into tensors (keyed `<prefix><param index>.<name>`) and a JSON rest. */
export function flattenOptimizer(prefix: string, sd: OptimizerStateDict): { tensors: Map<string, Tensor>; json: unknown } {
  const tensors = new Map<string, Tensor>();
  const numbers: Record<number, Record<string, number>> = {};
  for (const [idx, st] of Object.entries(sd.state)) {
    const nums: Record<string, number> = {};
    for (const [k, v] of Object.entries(st)) {
      if (v instanceof Tensor) tensors.set(`${prefix}${idx}.${k}`, v);
      else nums[k] = v;
    }
    numbers[Number(idx)] = nums;
  }
  return { tensors, json: { numbers, paramGroups: sd.paramGroups } };
}

/** Inverse of flattenOptimizer. */
export function unflattenOptimizer(prefix: string, all: Map<string, Tensor>, json: unknown): OptimizerStateDict {
  const j = json as { numbers: Record<string, Record<string, number>>; paramGroups: Record<string, unknown>[] };
  const state: Record<number, ParamState> = {};
  for (const [idx, nums] of Object.entries(j.numbers)) state[Number(idx)] = { ...nums };
  for (const [k, v] of unprefixed(prefix, all)) {
    const dot = k.indexOf('.');
    const idx = Number(k.slice(0, dot));
    (state[idx] ??= {})[k.slice(dot + 1)] = v;
  }
  return { state, paramGroups: j.paramGroups };
}
