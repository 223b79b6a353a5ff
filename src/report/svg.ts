// Inline SVG charts for the report (line charts for curves, grouped bars for per-class accuracy).
// Rule: output is a self-contained <svg> string — no scripts, no external fonts — and every text is escaped.

export interface Series {
  name: string;
  points: [number, number][];
  color: string;
  dashed?: boolean;
  /** Thin, translucent line (raw values under a smoothed one). */
  faint?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Force the y range (e.g. [0, 100] for accuracies). */
  yRange?: [number, number];
}

/** Escape text for HTML/SVG. */
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** "Nice" tick values covering [lo, hi]: steps of 1, 2 or 5 × 10^k. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) { hi = lo + 1; }
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function fmt(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

/** Exponential moving average y_t = β·y_{t−1} + (1−β)·x_t with bias correction (as TensorBoard's smoothing). */
export function smooth(points: [number, number][], beta = 0.9): [number, number][] {
  let m = 0;
  return points.map(([x, y], i) => {
    m = beta * m + (1 - beta) * y;
    return [x, m / (1 - beta ** (i + 1))];
  });
}

/** Keep at most n points (uniform stride), always including the last. */
export function downsample(points: [number, number][], n = 600): [number, number][] {
  if (points.length <= n) return points;
  const stride = points.length / n;
  const out: [number, number][] = [];
  for (let i = 0; i < n; i++) out.push(points[Math.floor(i * stride)]!);
  out.push(points[points.length - 1]!);
  return out;
}

/** A line chart: axes with nice ticks, one polyline per series, a legend. */
export function lineChart(series: Series[], o: ChartOptions): string {
  const W = o.width ?? 560, H = o.height ?? 300;
  const m = { l: 58, r: 16, t: 34, b: 44 };
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (all.length === 0) return `<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img"><text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#888">${esc(o.title)}: no data</text></svg>`;
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = o.yRange ?? [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
  if (!o.yRange) { const pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad; }
  const X = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const Y = (y: number) => H - m.b - ((Math.min(Math.max(y, y0), y1) - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [];
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="#fbfcfe" stroke="#d5dbe5"/>`);
  for (const t of niceTicks(y0, y1)) {
    if (t < y0 || t > y1) continue;
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${Y(t).toFixed(1)}" y2="${Y(t).toFixed(1)}" stroke="#e6eaf0"/><text x="${m.l - 6}" y="${(Y(t) + 4).toFixed(1)}" text-anchor="end" class="tick">${fmt(t)}</text>`);
  }
  for (const t of niceTicks(x0, x1, 6)) {
    if (t < x0 || t > x1) continue;
    parts.push(`<line x1="${X(t).toFixed(1)}" x2="${X(t).toFixed(1)}" y1="${H - m.b}" y2="${H - m.b + 4}" stroke="#8a94a6"/><text x="${X(t).toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle" class="tick">${fmt(t)}</text>`);
  }
  for (const s of series) {
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (pts.length === 0) continue;
    const d = pts.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ');
    const style = s.faint ? `stroke-width="1" stroke-opacity="0.25"` : `stroke-width="2"`;
    if (pts.length === 1) parts.push(`<circle cx="${X(pts[0]![0]).toFixed(1)}" cy="${Y(pts[0]![1]).toFixed(1)}" r="3.5" fill="${s.color}"/>`);
    else parts.push(`<polyline fill="none" stroke="${s.color}" ${style}${s.dashed ? ' stroke-dasharray="6 4"' : ''} stroke-linejoin="round" points="${d}"/>`);
  }
  const legend = series.filter((s) => !s.faint);
  legend.forEach((s, i) => {
    const lx = m.l + 8 + i * 130;
    parts.push(`<line x1="${lx}" x2="${lx + 18}" y1="${m.t - 12}" y2="${m.t - 12}" stroke="${s.color}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/><text x="${lx + 23}" y="${m.t - 8}" class="legend">${esc(s.name)}</text>`);
  });
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 8}" text-anchor="middle" class="axis">${esc(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle" class="axis">${esc(o.yLabel)}</text>`);
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(o.title)}"><title>${esc(o.title)}</title>${parts.join('')}</svg>`;
}

/** Grouped vertical bars: one group per category, one bar per series (values in [0, yMax]). */
export function barChart(categories: string[], series: { name: string; values: number[]; color: string }[], o: ChartOptions): string {
  const W = o.width ?? 560, H = o.height ?? 280;
  const m = { l: 44, r: 12, t: 34, b: 52 };
  const [y0, y1] = o.yRange ?? [0, Math.max(1, ...series.flatMap((s) => s.values))];
  const gw = (W - m.l - m.r) / Math.max(1, categories.length);
  const bw = (gw * 0.8) / Math.max(1, series.length);
  const Y = (y: number) => H - m.b - ((Math.min(Math.max(y, y0), y1) - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [];
  for (const t of niceTicks(y0, y1)) parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${Y(t).toFixed(1)}" y2="${Y(t).toFixed(1)}" stroke="#e6eaf0"/><text x="${m.l - 6}" y="${(Y(t) + 4).toFixed(1)}" text-anchor="end" class="tick">${fmt(t)}</text>`);
  categories.forEach((c, i) => {
    series.forEach((s, k) => {
      const v = s.values[i] ?? 0;
      const x = m.l + i * gw + gw * 0.1 + k * bw;
      parts.push(`<rect x="${x.toFixed(1)}" y="${Y(v).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${(H - m.b - Y(v)).toFixed(1)}" fill="${s.color}"><title>${esc(c)} — ${esc(s.name)}: ${v.toFixed(2)}</title></rect>`);
    });
    parts.push(`<text transform="translate(${(m.l + i * gw + gw / 2).toFixed(1)} ${H - m.b + 12}) rotate(30)" class="tick">${esc(c)}</text>`);
  });
  series.forEach((s, i) => {
    const lx = m.l + 8 + i * 130;
    parts.push(`<rect x="${lx}" y="${m.t - 19}" width="14" height="10" fill="${s.color}"/><text x="${lx + 19}" y="${m.t - 10}" class="legend">${esc(s.name)}</text>`);
  });
  parts.push(`<text transform="translate(12 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle" class="axis">${esc(o.yLabel)}</text>`);
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(o.title)}"><title>${esc(o.title)}</title>${parts.join('')}</svg>`;
}
