#!/usr/bin/env python3
"""Reference trajectory of GDFQ's generator step in PyTorch (CE + 0.1·BNS against the frozen ResNet-20,
Adam lr 1e-3 betas (0.5, 0.999), batch 64), to compare with lrq's `log.jsonl` of a `--method gdfq` run.
Not a fixture: random init differs between the two, so only the shape of the curves is comparable.
Run: /usr/bin/python3 tools/probe/gdfq_generator_probe.py [iters] [--lka]"""
import math, os, sys, struct, json
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)
torch.manual_seed(0)
HERE = os.path.dirname(os.path.abspath(__file__))
ST = os.path.join(HERE, "..", "..", "..", "shared", "data", "models", "akamaster_cifar10", "resnet20_cifar10_akamaster.safetensors")


def read_safetensors(path):
    buf = open(path, "rb").read()
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

    def forward(self, x):
        h = self.blocks(F.relu(self.stem_bn(self.stem(x))))
        return self.fc(F.adaptive_avg_pool2d(h, 1).flatten(1))


class Generator(nn.Module):  # GDFQ main.py
    def __init__(self, n_classes=10, latent=100, img=32, channels=3):
        super().__init__()
        self.init_size = img // 4
        self.label_emb = nn.Embedding(n_classes, latent)
        self.l1 = nn.Sequential(nn.Linear(latent, 128 * self.init_size ** 2))
        self.conv_blocks0 = nn.Sequential(nn.BatchNorm2d(128))
        self.conv_blocks1 = nn.Sequential(nn.Conv2d(128, 128, 3, 1, 1), nn.BatchNorm2d(128, 0.8), nn.LeakyReLU(0.2))
        self.conv_blocks2 = nn.Sequential(nn.Conv2d(128, 64, 3, 1, 1), nn.BatchNorm2d(64, 0.8), nn.LeakyReLU(0.2),
                                          nn.Conv2d(64, channels, 3, 1, 1), nn.Tanh(), nn.BatchNorm2d(channels, affine=False))

    def forward(self, z, y):
        h = self.l1(self.label_emb(y) * z).view(z.shape[0], 128, self.init_size, self.init_size)
        h = F.interpolate(self.conv_blocks0(h), scale_factor=2)
        h = F.interpolate(self.conv_blocks1(h), scale_factor=2)
        return self.conv_blocks2(h)


teacher = ResNet()
teacher.load_state_dict(read_safetensors(ST))
teacher.eval()
for p in teacher.parameters():
    p.requires_grad_(False)
stats = []
for m in teacher.modules():
    if isinstance(m, nn.BatchNorm2d):
        m.register_forward_hook(lambda mod, inp, out: stats.append((inp[0].mean([0, 2, 3]), inp[0].permute(1, 0, 2, 3).flatten(1).var(1, unbiased=False), mod)))
G = Generator()
opt = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
iters = int(sys.argv[1]) if len(sys.argv) > 1 else 200
for it in range(iters):
    z = torch.randn(64, 100)
    y = torch.randint(0, 10, (64,))
    stats.clear()
    x = G(z, y)
    out = teacher(x)
    ce = F.cross_entropy(out, y)
    bns = sum(F.mse_loss(m, mod.running_mean) + F.mse_loss(v, mod.running_var) for m, v, mod in stats) / len(stats)
    loss = ce + 0.1 * bns
    opt.zero_grad()
    loss.backward()
    opt.step()
    if it % 20 == 0 or it == iters - 1:
        print(json.dumps({"iter": it, "ce": round(ce.item(), 4), "bns": round(bns.item(), 4), "xabsmax": round(x.abs().max().item(), 2)}), flush=True)
