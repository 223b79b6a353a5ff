"""Top Hessian eigenvalue λ of the student loss (CE + DKD) on a student_twin dump's first batch, by power
iteration on Hessian-vector products (double backward; fake-quantizers as STE). Nesterov SGD with momentum
μ is stable on a quadratic only while lr·λ < 2(1+μ)/(1+2μ) (= 1.36 at μ = 0.9).
Usage: TWIN_FQ=none|wa /usr/bin/python3 tools/probe/student_twin_hess.py <dumpDir> [iters]"""
import sys

import torch

sys.path.insert(0, __file__.rsplit('/', 1)[0])
import student_twin as T  # noqa: E402

iters = int(sys.argv[2]) if len(sys.argv) > 2 else 20
x, y, t = T.S['step0.x'], T.S['step0.y'].long(), T.S['step0.t']
ps = [p for p in T.params.values()]
s = T.forward(x)
loss = T.G['ceWeight'] * T.F.cross_entropy(s, y) + T.dkd(s, t, y, T.G['dkd']['alpha'], T.G['dkd']['beta'], T.G['dkd']['T'])
g = torch.autograd.grad(loss, ps, create_graph=True)
v = [torch.randn_like(p) for p in ps]
lam = 0.0
for i in range(iters):
    nv = torch.sqrt(sum((a * a).sum() for a in v))
    v = [a / nv for a in v]
    hv = torch.autograd.grad(g, ps, grad_outputs=v, retain_graph=True)
    lam = sum((a * b).sum() for a, b in zip(hv, v)).item()
    v = [h.detach() for h in hv]
mu, lr = T.G['momentum'], T.G['lrS']
print(f'λ_max ≈ {lam:.4g} after {iters} iterations; lrS·λ = {lr * lam:.3g} (Nesterov μ={mu} stable below {2 * (1 + mu) / (1 + 2 * mu):.3g}); '
      f'largest stable lrS ≈ {2 * (1 + mu) / (1 + 2 * mu) / lam:.3g}')
top = sorted(((a.detach().norm().item(), n) for a, n in zip(v, T.params)), reverse=True)[:5]
print('eigenvector mass:', ', '.join(f'{n} {m / sum(b.norm().item() ** 2 for b in v) ** 0.5:.2f}' for m, n in top))
