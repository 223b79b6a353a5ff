// --resume against the run's saved config.json: the run continues with its own options; an option given
// again with another value (bits, method, schedule …) or a model file whose bytes changed is a one-line
// error listing every difference. Only the options in RESUME_MUTABLE may change on resume.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LrqError } from '../engine/errors.js';
import { kebab, presetValues, type QuantizeConfig } from './config.js';

/** Options a resumed run may take anew: what is evaluated and written, not what is trained. */
export const RESUME_MUTABLE: readonly (keyof QuantizeConfig)[] = ['evalData', 'evalLimit', 'checkpointEvery', 'export', 'report', 'progress'];

/** What config.json holds: the resolved config plus the preset's name and the model file's SHA-256. */
export type SavedConfig = QuantizeConfig & { preset?: string; modelSha256?: string };

/** sha256(bytes of the file), hex. */
export function fileSha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

const show = (v: unknown): string => (v === undefined ? '(unset)' : Array.isArray(v) ? (v.length ? v.join(',') : 'none') : String(v));

/**
 * The config a resumed run continues with: `saved`, with the mutable options taken from `given` where given.
 * Throws LrqError listing each explicitly given option that differs from the run's, and a changed model file.
 */
export function resumeConfig(runDir: string, saved: SavedConfig, given: Partial<QuantizeConfig> & { preset?: string; model?: string }): QuantizeConfig {
  const diffs: string[] = [];
  const explicit = Object.entries(given).filter(([k, v]) => v !== undefined && !['model', 'out', 'resume', 'preset'].includes(k)) as [keyof QuantizeConfig, unknown][];
  // A preset named again stands for its values, unless an explicit option overrides them.
  const fromPreset = given.preset && given.preset !== saved.preset && (given.preset === 'fast' || given.preset === 'paper')
    ? Object.entries(presetValues(given.preset)).filter(([k]) => !(k in given)) as [keyof QuantizeConfig, unknown][]
    : [];
  if (given.preset && saved.preset && given.preset !== saved.preset) diffs.push(`--preset ${given.preset} (run: ${saved.preset})`);
  for (const [k, v] of [...explicit, ...fromPreset]) {
    if (RESUME_MUTABLE.includes(k)) continue;
    if (JSON.stringify(v) !== JSON.stringify(saved[k])) diffs.push(`--${kebab(k)} ${show(v)} (run: ${show(saved[k])})`);
  }
  let model = saved.model;
  if (given.model) {
    const sha = fileSha256(given.model);
    if (saved.modelSha256 && sha !== saved.modelSha256) diffs.push(`model ${given.model} sha256 ${sha.slice(0, 12)}… (run: ${saved.modelSha256.slice(0, 12)}…)`);
    else model = given.model; // the same bytes, perhaps moved: read it from where it is now
  }
  if (diffs.length) throw new LrqError(`${runDir}: --resume with options that differ from the run's config.json: ${diffs.join('; ')} — resume with the run's options (only --${RESUME_MUTABLE.map((k) => kebab(k)).join(', --')} may change) or start a new --out`);
  const mutable = Object.fromEntries(RESUME_MUTABLE.filter((k) => given[k] !== undefined).map((k) => [k, given[k]]));
  return { ...saved, ...mutable, model, resume: true } as QuantizeConfig;
}
