// Percent figures as files and JSON show them: fractions × 100 rounded to 2 decimals, so a JSON reader
// sees 81.7, not 81.69999999999999. Rule: rounding happens only here, at the point a figure leaves for a
// file or stdout; training and selection compare the unrounded fractions.

/** percent(f) = round(100·f, 2 decimals); null and non-finite values pass through as null. */
export function percent(fraction: number | null | undefined): number | null {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return null;
  return Math.round(fraction * 10000) / 100;
}

/** percent() for values known to be finite (accuracies of a non-empty set). */
export function pct(fraction: number): number {
  return Math.round(fraction * 10000) / 100;
}
