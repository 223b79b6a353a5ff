"""Which parameters make the student step unstable (issue 19)? On a student_twin dump: the gradient g of
CE + DKD at the dumped state, then for each parameter tensor alone the loss after w ← w − η·g (η = 10·lrS,
momentum's steady-state step), largest increases first, with the BN statistics of the worst channels.
Usage: TWIN_FQ=none|wa /usr/bin/python3 tools/probe/student_twin_sens.py <dumpDir> [eta]"""
import sys

import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import student_twin as T  # noqa: E402

eta = float(sys.argv[2]) if len(sys.argv) > 2 else 10 * T.G['lrS']
x, y, t = T.S['step0.x'], T.S['step0.y'].long(), T.S['step0.t']


def loss():
    s = T.forward(x)
    return T.G['ceWeight'] * T.F.cross_entropy(s, y) + T.dkd(s, t, y, T.G['dkd']['alpha'], T.G['dkd']['beta'], T.G['dkd']['T'])


L0 = loss()
L0.backward()
rows = []
with torch.no_grad():
    for n, p in T.params.items():
        w0 = p.detach().clone()
        p -= eta * p.grad
        rows.append((loss().item() - L0.item(), n, p.grad.norm().item(), w0.norm().item()))
        p.copy_(w0)
rows.sort(reverse=True)
print(f'L0 {L0.item():.4f}, eta {eta:g}; loss increase when only this tensor takes the step:')
for dl, n, g, w in rows[:12]:
    print(f'  {dl:+.4f}  {n}  ‖g‖ {g:.3e}  ‖w‖ {w:.3e}')
# per-channel view of the worst conv: amplification γ/√(var+eps) of its BN, channel weight norm, gradient
worst = rows[0][1]
path = worst.rsplit('.', 1)[0]
bn = next(n['path'] for n in T.G['nodes'] if n['op'] == 'BatchNormalization' and any(o in n['inputs'] for o in next(m['outputs'] for m in T.G['nodes'] if m['path'] == path)))
w, g = T.params[worst], T.params[worst].grad
var, gam = T.st(f'{bn}.running_var'), T.st(f'{bn}.weight')
ch = []
with torch.no_grad():
    for c in range(w.shape[0]):
        w0 = w[c].clone()
        w[c] -= eta * g[c]
        ch.append((loss().item() - L0.item(), c))
        w[c].copy_(w0)
ch.sort(reverse=True)
print(f'{worst} → {bn}: channels whose step alone raises the loss most')
for dl, c in ch[:8]:
    print(f'  ch {c}: {dl:+.4f}  ‖w_c‖ {w[c].norm():.3e}  ‖g_c‖ {g[c].norm():.3e}  rel step {eta * g[c].norm() / w[c].norm():.2e}  '
          f'var {var[c]:.3e}  γ {gam[c]:+.3e}  γ/√(var+eps) {gam[c] / (var[c] + T.G["eps"][bn]).sqrt():.1f}')
amp = (gam / (var + T.G['eps'][bn]).sqrt()).abs()
print(f'  all channels: γ/√(var+eps) median {amp.median():.2f} max {amp.max():.1f}; var min {var.min():.3e} median {var.median():.3e}')
