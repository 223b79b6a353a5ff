#!/usr/bin/env python3
"""Reference trajectory of GDFQ's generator step in PyTorch (CE + 0.1·BNS against the frozen ResNet-20,
Adam lr 1e-3 betas (0.5, 0.999), batch 64), to compare with lrq's `log.jsonl` of a `--method gdfq` run.
Not a fixture: random init differs between the two, so only the shape of the curves is comparable.
Run: /usr/bin/python3 tools/probe/gdfq_generator_probe.py [iters] [--lka]"""
import math, os, sys, json
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from torch_ref import ResNet, read_safetensors  # noqa: E402

torch.set_num_threads(2)
torch.manual_seed(0)
HERE = os.path.dirname(os.path.abspath(__file__))
ST = os.path.join(HERE, "..", "..", "..", "shared", "data", "models", "akamaster_cifar10", "resnet20_cifar10_akamaster.safetensors")


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
