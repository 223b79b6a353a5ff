import { loadOnnx } from '../../src/io/onnx/index.js';
for (const f of process.argv.slice(2)) {
  const g = loadOnnx(f);
  const rows: [string, number, number][] = [];
  for (const [p, m] of g.namedModules()) {
    const bn = m as any;
    if (!bn.buffer || !bn.buffer('running_var')) continue;
    const v = bn.buffer('running_var').data, gm = bn.param('weight').data;
    let mx = 0, mn = Infinity;
    for (let c = 0; c < v.length; c++) { mx = Math.max(mx, Math.abs(gm[c]) / Math.sqrt(v[c] + bn.eps)); mn = Math.min(mn, v[c]); }
    rows.push([p, mx, mn]);
  }
  rows.sort((a, b) => b[1] - a[1]);
  console.log(f.split('/').pop(), rows.slice(0, 6).map(([p, a, b]) => `${p.slice(-40)} max|γ|/σ=${a.toFixed(1)} minVar=${b.toExponential(1)}`).join('\n  '));
}
