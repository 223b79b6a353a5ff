# PyTorch twin of one LRQ iteration on a full-size torchvision ImageNet classifier at 224² (the lrq side:
# bench/engine/lrq_step_224.ts): the generator step (long-range generator at 224², 1000 classes, LKA
# after both upsampled blocks; frozen teacher in eval mode, BNS from forward pre-hooks, norm-preserving
# AMA-CE; Adam) and the student step (W4A4: per-output-channel min/max weight fake-quant of every
# Conv/Linear each forward, frozen per-tensor activation fake-quant after every ReLU/ReLU6; CE + DKD;
# Nesterov SGD). Same model and weights as tools/bench/export_fullsize.py's fixtures (seed 0 init; the
# values do not change the work). Prints one JSON line {workload, torch_ms, peak_rss_mb}.
# Run: /usr/bin/python3 tools/bench/lrq_step_torch224.py --model resnet18 --batch 16 --threads 2
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))  # torch_ref, imported by lrq_step_torch
from lrq_step_torch import LongRangeGenerator, ama_ce, dkd, fq_weight  # noqa: E402


class FqConv(nn.Module):
    """A Conv2d that runs on its fake-quantized weight (as lrq's QConv2d in the paper scheme)."""

    def __init__(self, c, bits):
        super().__init__()
        self.c, self.bits = c, bits

    def forward(self, x):
        c = self.c
        return F.conv2d(x, fq_weight(c.weight, self.bits), c.bias, c.stride, c.padding, c.dilation, c.groups)


class FqLinear(nn.Module):
    def __init__(self, l, bits):
        super().__init__()
        self.l, self.bits = l, bits

    def forward(self, x):
        return F.linear(x, fq_weight(self.l.weight, self.bits), self.l.bias)


class FqAct(nn.Module):
    """ReLU/ReLU6 followed by a frozen per-tensor unsigned fake-quant (range fixed after calibration)."""

    def __init__(self, act, bits, hi=4.0):
        super().__init__()
        self.act, self.bits, self.scale = act, bits, hi / (2**bits - 1)

    def forward(self, x):
        return torch.fake_quantize_per_tensor_affine(self.act(x), self.scale, 0, 0, 2**self.bits - 1)


def quantize_(m, wbits=4, abits=4):
    """Swap every Conv2d/Linear/ReLU/ReLU6 child for its fake-quantized form, in place."""
    for name, c in m.named_children():
        if isinstance(c, nn.Conv2d):
            setattr(m, name, FqConv(c, wbits))
        elif isinstance(c, nn.Linear):
            setattr(m, name, FqLinear(c, wbits))
        elif isinstance(c, (nn.ReLU, nn.ReLU6)):
            setattr(m, name, FqAct(type(c)(), abits))
        else:
            quantize_(c, wbits, abits)
    return m


def build(name):
    torch.manual_seed(0)
    return getattr(torchvision.models, name)(num_classes=1000)


def lrq_step(name, batch):
    """One LRQ iteration on torchvision's `name` at 224², 1000 classes (see lrq_step_model)."""
    return lrq_step_model(lambda: build(name), batch)


def lrq_step_model(make, batch, classes=1000, img=224):
    """One LRQ iteration (generator step, then student step) as a closure; `make()` builds a fresh
    classifier (teacher and student each get one) whose last layer is `fc` or `classifier[-1]`."""
    teacher, student = make().eval(), quantize_(make()).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    fc = teacher.fc if hasattr(teacher, 'fc') else teacher.classifier[-1]
    feats = []
    fc.register_forward_pre_hook(lambda m, inp: feats.append(inp[0]))
    gen = LongRangeGenerator(classes=classes, img=img).train()
    opt_g = torch.optim.Adam(gen.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_s = torch.optim.SGD(student.parameters(), lr=1e-6, momentum=0.9, nesterov=True, weight_decay=1e-4)
    stats = []

    def capture(bn, inp):
        x = inp[0]
        stats.append((x.mean((0, 2, 3)), x.var((0, 2, 3), unbiased=False), bn.running_mean, bn.running_var))

    for m in teacher.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.register_forward_pre_hook(capture)

    def step():
        z = torch.randn(batch, 100)
        y = torch.randint(0, classes, (batch,))
        stats.clear()
        feats.clear()
        x = gen(z, y)
        logits = teacher(x)
        bns_loss = sum(F.mse_loss(mu, rm) + F.mse_loss(var, rv) for mu, var, rm, rv in stats) / len(stats)
        loss_g = ama_ce(logits, feats[0], fc.weight, fc.bias, y) + 0.1 * bns_loss
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        stats.clear()
        feats.clear()
        x, t = x.detach(), logits.detach()
        s = student(x)
        loss_s = F.cross_entropy(s, y) + dkd(s, t, y)
        opt_s.zero_grad(set_to_none=True)
        loss_s.backward()
        opt_s.step()
        loss_g.item(), loss_s.item()

    return step


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default='resnet18')
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--iters', type=int, default=3)
    ap.add_argument('--warmup', type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    step = lrq_step(a.model, a.batch)
    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.iters):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({'workload': f'lrq_step_{a.model}_224', 'torch_ms': statistics.median(times), 'peak_rss_mb': round(peak), 'batch': a.batch, 'iters': a.iters}), flush=True)


if __name__ == '__main__':
    main()
