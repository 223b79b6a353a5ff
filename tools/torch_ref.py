"""PyTorch reference pieces shared by the Python tools (fixtures, engine bench, probes): the akamaster CIFAR
ResNet (option-A shortcut, the module names of the staged safetensors) and a dependency-free safetensors
reader (the `safetensors` package is not installed). Rule: one definition, imported by every script."""
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DATA = os.path.join(ROOT, "..", "shared", "data")
RESNET20_ST = os.path.join(DATA, "models", "akamaster_cifar10", "resnet20_cifar10_akamaster.safetensors")


def read_safetensors(path):
    """{name: tensor} of a safetensors file (F32 and I64 tensors)."""
    with open(path, "rb") as f:
        buf = f.read()
    n = struct.unpack("<Q", buf[:8])[0]
    header = json.loads(buf[8:8 + n])
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        dt = {"F32": np.float32, "I64": np.int64}[v["dtype"]]
        out[k] = torch.from_numpy(np.frombuffer(buf[8 + n + b:8 + n + e], dtype=dt).reshape(v["shape"]).copy())
    return out


class Block(nn.Module):
    """Basic block: conv-BN-ReLU-conv-BN + shortcut (option A: subsample by 2, zero-pad channels), ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.stride, self.padc = stride, (cout - cin) // 2

    def forward(self, x):
        out = F.relu(self.b1(self.c1(x)))
        out = self.b2(self.c2(out))
        sc = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.padc, self.padc)) if self.stride != 1 or self.padc else x
        return F.relu(out + sc)


class ResNet(nn.Module):
    """akamaster CIFAR ResNet-(6n+2): stem 16, stages 16/32/64 of n blocks, global average pool, FC."""

    def __init__(self, n=3, classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(16)
        blocks, cin = [], 16
        for s, cout in enumerate([16, 32, 64]):
            for b in range(n):
                blocks.append(Block(cin, cout, 2 if s > 0 and b == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, classes)

    def features(self, x):
        h = self.blocks(F.relu(self.stem_bn(self.stem(x))))
        return F.adaptive_avg_pool2d(h, 1).flatten(1)

    def forward(self, x):
        return self.fc(self.features(x))


def resnet20_pretrained():
    """The staged pretrained ResNet-20 in eval mode."""
    net = ResNet()
    net.load_state_dict(read_safetensors(RESNET20_ST), strict=True)
    return net.eval()
