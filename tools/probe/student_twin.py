"""PyTorch twin of lrq's student step (issue 19): replays the dump of tools/probe/student_twin_dump.ts —
same fake-quantized student (per-channel min/max weights, frozen per-tensor activation ranges, pure STE),
eval-mode BN, CE + DKD, Nesterov SGD — and compares gradients, losses and top-1 with lrq's.
Usage: /usr/bin/python3 tools/probe/student_twin.py <dumpDir> [--own] [--lr X]
  --own: run the K steps from the twin's own weights (trajectory); default also reports step-1 gradients."""
import json
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit('/', 2)[0])
from torch_ref import read_safetensors  # noqa: E402

torch.set_num_threads(1)
d = sys.argv[1]
G = json.load(open(f'{d}/twin.json'))
S = read_safetensors(f'{d}/twin.safetensors')
lr = float(sys.argv[sys.argv.index('--lr') + 1]) if '--lr' in sys.argv else G['lrS']
B = G['batch']


def fq(x, lo, hi, bits):
    """GDFQ fake quantization with straight-through gradient (lo/hi broadcast per row or per tensor)."""
    n = 2 ** (bits - 1)
    s = (2 ** bits - 1) / torch.clamp(hi - lo, min=1e-8)
    zp = torch.round(s * lo) + n
    q = torch.clamp(torch.round(s * x - zp), -n, n - 1)
    return x + ((q + zp) / s - x).detach()


def fq_weight(w, bits):
    flat = w.detach().reshape(w.shape[0], -1)
    shape = [-1] + [1] * (w.dim() - 1)
    return fq(w, flat.min(1).values.reshape(shape), flat.max(1).values.reshape(shape), bits)


params = {k: torch.nn.Parameter(S[f'state.{k}'].clone()) for k in G['params']}
bufs = {k[6:]: v for k, v in S.items() if k.startswith('state.') and k[6:] not in params}


def st(k):
    return params.get(k, bufs.get(k))


floats = set(G['floats'])
# experiment switches: TWIN_FQ = which fake quantizers are on (w, a, wa, none); TWIN_ONLY = regex of the
# parameters the optimizer may move (others frozen)
import os, re  # noqa: E402
FQ = os.environ.get('TWIN_FQ', 'wa')
if os.environ.get('TWIN_ONLY'):
    for n, prm in params.items():
        prm.requires_grad_(bool(re.search(os.environ['TWIN_ONLY'], n)))


def forward(x):
    v = {G['input']: x}
    for n in G['nodes']:
        op, ins, p, a = n['op'], n['inputs'], n['path'], n['attrs']
        if n['outputs'][0] not in floats:
            continue  # integer shape arithmetic: its values come folded in G['ints']
        I = [v.get(i) if i in v else (torch.tensor([max(min(u, 2 ** 62), -2 ** 62) for u in G['ints'][i]]) if i in G['ints'] else None) for i in ins]
        if op == 'Constant':
            continue  # integer constants come folded in G['ints']
        if op == 'Identity':
            if I[0] is None:
                continue  # an initializer alias: modules read their state by path
            y = I[0]
        elif op == 'Conv':
            w = st(f'{p}.weight')
            wq = fq_weight(w, G['bits'][p]) if p in G['bits'] and 'w' in FQ else w
            pads = a.get('pads', [0, 0, 0, 0])
            y = F.conv2d(I[0], wq, st(f'{p}.bias'), a.get('strides', [1, 1]), pads[:2], a.get('dilations', [1, 1]), a.get('group', 1))
        elif op == 'BatchNormalization':
            y = F.batch_norm(I[0], st(f'{p}.running_mean'), st(f'{p}.running_var'), st(f'{p}.weight'), st(f'{p}.bias'), False, 0.0, G['eps'][p])
        elif op == 'Relu':
            y = F.relu(I[0])
            q = G['acts'].get(f'{p}.1')
            if q and 'a' in FQ:
                y = fq(y, torch.tensor(q['lo']), torch.tensor(q['hi']), q['bits'])
        elif op == 'Add':
            y = I[0] + I[1]
        elif op == 'Concat':
            y = torch.cat(I, a['axis'])
        elif op == 'Slice':
            y = I[0]
            starts, ends = I[1].tolist(), I[2].tolist()
            axes = I[3].tolist() if len(I) > 3 and I[3] is not None else list(range(len(starts)))
            steps = I[4].tolist() if len(I) > 4 and I[4] is not None else [1] * len(starts)
            for s0, e0, ax, sp in zip(starts, ends, axes, steps):
                y = y.narrow(ax, s0, min(e0, y.shape[ax]) - s0) if sp == 1 else y[(slice(None),) * ax + (slice(s0, e0, sp),)]
        elif op == 'Reshape':
            shp = I[1].tolist()
            if shp[0] == B:
                shp[0] = I[0].shape[0]  # folded at the traced batch
            y = I[0].reshape(shp)
        elif op == 'Pad':  # akamaster's option-A shortcut: C/2 zero channels on each side (pads not folded)
            pads = I[1].tolist() if I[1] is not None else None
            if pads is None:
                c = I[0].shape[1] // 2
                y = F.pad(I[0], (0, 0, 0, 0, c, c))
            else:  # ONNX [x1_begin, x2_begin, …, x1_end, …] → F.pad's last-dim-first pairs
                r = len(pads) // 2
                y = F.pad(I[0], sum(([pads[i], pads[i + r]] for i in reversed(range(r))), []))
        elif op == 'Transpose':
            y = I[0].permute(a['perm'])
        elif op == 'ReduceMean':
            y = I[0].mean(dim=a['axes'], keepdim=bool(a.get('keepdims', 1)))
        elif op == 'MaxPool':
            y = F.max_pool2d(I[0], a['kernel_shape'], a.get('strides', [1, 1]), a.get('pads', [0, 0, 0, 0])[:2], ceil_mode=bool(a.get('ceil_mode', 0)))
        elif op == 'AveragePool':
            y = F.avg_pool2d(I[0], a['kernel_shape'], a.get('strides', a['kernel_shape']))
        elif op == 'GlobalAveragePool':
            y = I[0].mean(dim=(2, 3), keepdim=True)
        elif op == 'Flatten':
            y = I[0].flatten(a.get('axis', 1))
        elif op == 'Gemm':
            w = st(f'{p}.weight')
            wq = fq_weight(w, G['bits'][p]) if p in G['bits'] and 'w' in FQ else w
            y = F.linear(I[0], wq, st(f'{p}.bias'))
        else:
            raise SystemExit(f'twin: op {op} ({n["name"]}) not handled')
        v[n['outputs'][0]] = y
    return v[G['output']]


def dkd(s, t, y, alpha, beta, T):
    """mdistiller DKD with exact masking: α·T²·TCKD + β·T²·NCKD (batch mean)."""
    oh = F.one_hot(y, s.shape[1]).float()
    ps, pt = F.log_softmax(s / T, 1), F.log_softmax(t / T, 1)
    lpy, lqy = (ps * oh).sum(1), (pt * oh).sum(1)
    lsn = torch.logsumexp(s / T - 1e9 * oh, 1) - torch.logsumexp(s / T, 1)
    ltn = torch.logsumexp(t / T - 1e9 * oh, 1) - torch.logsumexp(t / T, 1)
    tckd = lqy.exp() * (lqy - lpy) + ltn.exp() * (ltn - lsn)
    lph, lqh = F.log_softmax(s / T - 1e9 * oh, 1), F.log_softmax(t / T - 1e9 * oh, 1)
    nckd = ((1 - oh) * lqh.exp() * (lqh - lph)).sum(1)
    return alpha * T * T * tckd.mean() + beta * T * T * nckd.mean()


def top1():
    with torch.no_grad():
        x, y = S['test.x'], S['test.y'].long()
        return sum((forward(x[i:i + 100]).argmax(1) == y[i:i + 100]).sum().item() for i in range(0, len(y), 100)) / len(y)


def main():
    opt = torch.optim.SGD([q for q in params.values() if q.requires_grad], lr=lr, momentum=G['momentum'], nesterov=True, weight_decay=G['weightDecay'])
    print(f'lrq  top1 calibrated {G["log"][0]["top1"]:.3f}; twin {top1():.3f}')
    K = sum(1 for k in S if k.startswith('step') and k.endswith('.x'))
    for k in range(K):
        x, y, t = S[f'step{k}.x'], S[f'step{k}.y'].long(), S[f'step{k}.t']
        s = forward(x)
        kd = dkd(s, t, y, G['dkd']['alpha'], G['dkd']['beta'], G['dkd']['T'])
        loss = G['ceWeight'] * F.cross_entropy(s, y) + kd
        opt.zero_grad()
        loss.backward()
        live = [n for n in G['params'] if params[n].grad is not None]
        worst = max(((params[n].grad - S[f'grad{k}.{n}']).norm().item() / (S[f'grad{k}.{n}'].norm().item() + 1e-30), n) for n in live)
        gn = sum(params[n].grad.norm() ** 2 for n in live).sqrt().item()
        opt.step()
        l = G['log'][k + 1]
        print(f'step {k + 1}: loss twin {loss.item():.3f} lrq {l["lossS"]:.3f} | kd twin {kd.item():.3f} lrq {l["kd"]:.3f} | ‖g‖ {gn:.3e} | '
              f'worst grad rel diff {worst[0]:.2e} ({worst[1]}) | top1 twin {top1():.3f} lrq {l["top1"]:.3f}')
        if '--own' not in sys.argv:  # re-sync to lrq's weights so each step's gradient compares from the same point
            with torch.no_grad():
                for n in G['params']:
                    params[n].copy_(S[f'after{k}.{n}'])


def fixture(path):
    """Step-0 loss and per-parameter gradient summaries (norm, sum, first 8 values) as a test fixture."""
    x, y, t = S['step0.x'], S['step0.y'].long(), S['step0.t']
    s = forward(x)
    loss = G['ceWeight'] * F.cross_entropy(s, y) + dkd(s, t, y, G['dkd']['alpha'], G['dkd']['beta'], G['dkd']['T'])
    loss.backward()
    grads = {n: {'norm': params[n].grad.norm().item(), 'sum': params[n].grad.sum().item(), 'first': params[n].grad.flatten()[:8].tolist()}
             for n in G['params'] if params[n].grad is not None}
    json.dump({'source': 'tools/fixtures/student_twin.ts + tools/probe/student_twin.py (PyTorch ' + torch.__version__ + ')',
               'model': G['model'], 'loss': loss.item(), 'logits': s.detach().flatten().tolist(), 'grads': grads}, open(path, 'w'), indent=0)
    print(f'wrote {path}: loss {loss.item():.6f}, {len(grads)} gradients')


if __name__ == '__main__':
    if '--fixture' in sys.argv:
        fixture(sys.argv[sys.argv.index('--fixture') + 1])
    else:
        main()
