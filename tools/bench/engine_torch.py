#!/usr/bin/env python3
# PyTorch side of `npm run bench:engine`: the same workloads as bench/engine/workloads.ts (shapes, modes,
# loss = output.sum(); lrq_step from lrq_step_torch.py,
# lrq_step_shufflenet from lrq_step_torch_shufflenet.py), timed with torch.set_num_threads(--threads). Prints one JSON object per line:
# {"workload": name, "torch_ms": median, "iters": n, "peak_rss_mb": maxRSS so far}. Random init: FLOPs, not values, set the time.
import argparse
import os
import sys
import json
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_ref import ResNet  # noqa: E402
from lrq_step_torch import lrq_step  # noqa: E402
from lrq_step_torch_shufflenet import lrq_step as lrq_step_shufflenet  # noqa: E402


class Generator(nn.Module):
    """GDFQ generator (CIFAR, 32×32): Linear → BN → up → conv → BN(eps .8) → LReLU → up → conv → BN(eps .8) → LReLU → conv → tanh → BN(affine=False)."""

    def __init__(self, latent=100, img=32, ch=3):
        super().__init__()
        self.init_size = img // 4
        self.l1 = nn.Linear(latent, 128 * self.init_size**2)
        self.bn0 = nn.BatchNorm2d(128)
        self.conv1 = nn.Conv2d(128, 128, 3, 1, 1)
        self.bn1 = nn.BatchNorm2d(128, 0.8)
        self.conv2 = nn.Conv2d(128, 64, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(64, 0.8)
        self.conv3 = nn.Conv2d(64, ch, 3, 1, 1)
        self.bn3 = nn.BatchNorm2d(ch, affine=False)

    def forward(self, z):
        out = self.l1(z).view(z.shape[0], 128, self.init_size, self.init_size)
        img = self.bn0(out)
        img = F.interpolate(img, scale_factor=2, mode='nearest')
        img = F.leaky_relu(self.bn1(self.conv1(img)), 0.2)
        img = F.interpolate(img, scale_factor=2, mode='nearest')
        img = F.leaky_relu(self.bn2(self.conv2(img)), 0.2)
        return self.bn3(torch.tanh(self.conv3(img)))


class LKA(nn.Module):
    """Large-kernel attention: dw5×5 → dw7×7 dilation 3 → 1×1, multiplied with the input."""

    def __init__(self, dim):
        super().__init__()
        self.conv0 = nn.Conv2d(dim, dim, 5, padding=2, groups=dim)
        self.conv_spatial = nn.Conv2d(dim, dim, 7, stride=1, padding=9, groups=dim, dilation=3)
        self.conv1 = nn.Conv2d(dim, dim, 1)

    def forward(self, x):
        attn = self.conv1(self.conv_spatial(self.conv0(x)))
        return x * attn


def workloads(batch):
    """name → step function (one timed iteration)."""
    g = torch.Generator().manual_seed(0)
    out = {}

    resnet_eval = ResNet().eval()
    x = torch.randn(batch, 3, 32, 32, generator=g)

    def resnet_fwd():
        with torch.no_grad():
            resnet_eval(x)

    out['resnet20_fwd'] = resnet_fwd

    resnet_train = ResNet().train()
    xt = torch.randn(batch, 3, 32, 32, generator=g, requires_grad=True)

    def resnet_fwdbwd():
        for p in resnet_train.parameters():
            p.grad = None
        xt.grad = None
        resnet_train(xt).sum().backward()

    out['resnet20_fwdbwd'] = resnet_fwdbwd

    gen = Generator().train()
    z = torch.randn(batch, 100, generator=g)

    def gen_fwdbwd():
        for p in gen.parameters():
            p.grad = None
        gen(z).sum().backward()

    out['generator_fwdbwd'] = gen_fwdbwd

    for dim, hw in ((128, 16), (64, 32)):
        lka = LKA(dim)
        xl = torch.randn(batch, dim, hw, hw, generator=g, requires_grad=True)

        def lka_fwdbwd(lka=lka, xl=xl):
            for p in lka.parameters():
                p.grad = None
            xl.grad = None
            lka(xl).sum().backward()

        out[f'lka{dim}x{hw}_fwdbwd'] = lka_fwdbwd
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--iters', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--only', default='', help='comma-separated workload names')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    only = [s for s in a.only.split(',') if s]
    steps = workloads(a.batch)
    # built only when selected: lrq_step loads the pretrained teacher and student
    lazy = {'lrq_step': lambda: lrq_step(a.batch), 'lrq_step_shufflenet': lambda: lrq_step_shufflenet(a.batch)}
    steps.update(dict.fromkeys(lazy))
    for name, step in steps.items():
        if only and name not in only:
            continue
        if step is None:
            step = lazy[name]()
        for _ in range(a.warmup):
            step()
        times = []
        for _ in range(a.iters):
            t0 = time.perf_counter()
            step()
            times.append((time.perf_counter() - t0) * 1e3)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # this process so far, as run.ts's column
        print(json.dumps({'workload': name, 'torch_ms': statistics.median(times), 'iters': a.iters, 'peak_rss_mb': round(peak)}), flush=True)


if __name__ == '__main__':
    main()
