# PyTorch twin of one LRQ training iteration (src/method/step.ts) for `npm run bench:engine`'s lrq_step
# workload: the generator step (long-range generator with LKA after both upsampled blocks, frozen
# pretrained ResNet-20 teacher, norm-preserving AMA-CE + BNS from forward hooks, Adam) and the student
# step (W4A4 fake-quantized ResNet-20 in eval mode — per-output-channel min/max weight fake-quant each
# forward, frozen per-tensor activation ranges after every ReLU — CE + DKD, Nesterov SGD). Written the way
# a PyTorch user would: torch's fused fake_quantize_* ops, hooks, foreach optimizers.
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_ref import ResNet, resnet20_pretrained


class LKA(nn.Module):
    """Large-kernel attention: u · conv1×1(dw7×7 dil 3(dw5×5(u)))."""

    def __init__(self, dim):
        super().__init__()
        self.conv0 = nn.Conv2d(dim, dim, 5, padding=2, groups=dim)
        self.conv_spatial = nn.Conv2d(dim, dim, 7, padding=9, groups=dim, dilation=3)
        self.conv1 = nn.Conv2d(dim, dim, 1)

    def forward(self, x):
        return x * self.conv1(self.conv_spatial(self.conv0(x)))


class LongRangeGenerator(nn.Module):
    """GDFQ generator (label embedding ⊙ z → Linear → BN → up → conv-BN(.8)-LReLU → LKA → up →
    conv-BN(.8)-LReLU → LKA → conv → tanh → BN(affine=False))."""

    def __init__(self, classes=10, latent=100, img=32, ch=3):
        super().__init__()
        self.s = img // 4
        self.label_emb = nn.Embedding(classes, latent)
        self.l1 = nn.Linear(latent, 128 * self.s**2)
        self.bn0 = nn.BatchNorm2d(128)
        self.conv1, self.bn1, self.lka1 = nn.Conv2d(128, 128, 3, 1, 1), nn.BatchNorm2d(128, 0.8), LKA(128)
        self.conv2, self.bn2, self.lka2 = nn.Conv2d(128, 64, 3, 1, 1), nn.BatchNorm2d(64, 0.8), LKA(64)
        self.conv3, self.bn3 = nn.Conv2d(64, ch, 3, 1, 1), nn.BatchNorm2d(ch, affine=False)

    def forward(self, z, y):
        h = self.bn0(self.l1(self.label_emb(y) * z).view(z.shape[0], 128, self.s, self.s))
        h = self.lka1(F.leaky_relu(self.bn1(self.conv1(F.interpolate(h, scale_factor=2))), 0.2))
        h = self.lka2(F.leaky_relu(self.bn2(self.conv2(F.interpolate(h, scale_factor=2))), 0.2))
        return self.bn3(torch.tanh(self.conv3(h)))


def fq_weight(w, bits):
    """Per-output-channel asymmetric min/max fake quantization (straight-through to w)."""
    flat = w.detach().flatten(1)
    lo, hi = flat.min(1).values.clamp(max=0), flat.max(1).values.clamp(min=0)
    scale = ((hi - lo) / (2**bits - 1)).clamp(min=1e-8)
    zp = torch.round(-lo / scale).to(torch.int32)
    return torch.fake_quantize_per_channel_affine(w, scale, zp, 0, 0, 2**bits - 1)


class QuantStudent(nn.Module):
    """ResNet-20 whose convs/FC run on fq_weight(W) and whose ReLU outputs pass a frozen per-tensor fake-quant."""

    def __init__(self, net, wbits=4, abits=4):
        super().__init__()
        self.net, self.wbits, self.abits = net, wbits, abits
        self.act_range = (0.0, 4.0)  # frozen after calibration; values do not change the time

    def conv(self, c, x):
        return F.conv2d(x, fq_weight(c.weight, self.wbits), c.bias, c.stride, c.padding)

    def act(self, x):
        lo, hi = self.act_range
        scale = (hi - lo) / (2**self.abits - 1)
        return torch.fake_quantize_per_tensor_affine(F.relu(x), scale, int(round(-lo / scale)), 0, 2**self.abits - 1)

    def forward(self, x):
        n = self.net
        h = self.act(n.stem_bn(self.conv(n.stem, x)))
        for b in n.blocks:
            o = self.act(b.b1(self.conv(b.c1, h)))
            o = b.b2(self.conv(b.c2, o))
            sc = F.pad(h[:, :, ::2, ::2], (0, 0, 0, 0, b.padc, b.padc)) if b.stride != 1 or b.padc else h
            h = self.act(o + sc)
        feat = F.adaptive_avg_pool2d(h, 1).flatten(1)
        return F.linear(feat, fq_weight(n.fc.weight, self.wbits), n.fc.bias)


def ama_ce(logits, feat, W, b, y, m=0.5):
    """Norm-preserving AMA: the target logit becomes ‖f‖‖w_y‖·cos(θ_y + m) + b_y (ArcFace's fix below π − m)."""
    wy = W[y]
    nf, nw = feat.norm(dim=1), wy.norm(dim=1)
    c = ((feat * wy).sum(1) / (nf * nw + 1e-8)).clamp(-1 + 1e-7, 1 - 1e-7)
    phi = c * math.cos(m) - torch.sqrt((1 - c * c).clamp(min=0)) * math.sin(m)
    phi = torch.where(c > math.cos(math.pi - m), phi, c - m * math.sin(m))
    delta = nf * nw * (phi - c)
    return F.cross_entropy(logits + F.one_hot(y, logits.shape[1]) * delta[:, None], y)


def dkd(s, t, y, alpha=1.0, beta=8.0, T=4.0):
    """Decoupled KD (mdistiller): α·TCKD + β·NCKD, each T²-scaled."""
    gt = F.one_hot(y, s.shape[1]).bool()
    ps, pt = F.softmax(s / T, 1), F.softmax(t / T, 1)
    bs = torch.stack([(ps * gt).sum(1), (ps * ~gt).sum(1)], 1)
    bt = torch.stack([(pt * gt).sum(1), (pt * ~gt).sum(1)], 1)
    tckd = F.kl_div(torch.log(bs), bt, reduction='batchmean') * T * T
    nckd = F.kl_div(F.log_softmax(s / T - 1000.0 * gt, 1), F.softmax(t / T - 1000.0 * gt, 1), reduction='batchmean') * T * T
    return alpha * tckd + beta * nckd


def lrq_step(batch, seed=0):
    """One LRQ iteration (generator step, then student step) as a closure, after one untimed step."""
    torch.manual_seed(seed)
    try:
        teacher, student_net = resnet20_pretrained(), resnet20_pretrained()
    except FileNotFoundError:
        teacher, student_net = ResNet().eval(), ResNet().eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    student = QuantStudent(student_net).eval()
    gen = LongRangeGenerator().train()
    opt_g = torch.optim.Adam(gen.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_s = torch.optim.SGD(student.parameters(), lr=1e-6,  # as the lrq side (bench/engine/workloads.ts)
                            momentum=0.9, nesterov=True, weight_decay=1e-4)
    stats = []

    def capture(bn, inp):
        x = inp[0]
        stats.append((x.mean((0, 2, 3)), x.var((0, 2, 3), unbiased=False), bn.running_mean, bn.running_var))

    bns = [m for m in teacher.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in bns:
        m.register_forward_pre_hook(capture)

    def step():
        z = torch.randn(batch, 100)
        y = torch.randint(0, 10, (batch,))
        stats.clear()
        x = gen(z, y)
        feat = teacher.features(x)
        logits = teacher.fc(feat)
        bns_loss = sum(F.mse_loss(mu, rm) + F.mse_loss(var, rv) for mu, var, rm, rv in stats) / len(stats)
        loss_g = ama_ce(logits, feat, teacher.fc.weight, teacher.fc.bias, y) + 0.1 * bns_loss
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        x, t = x.detach(), logits.detach()
        s = student(x)
        loss_s = F.cross_entropy(s, y) + dkd(s, t, y)
        opt_s.zero_grad(set_to_none=True)
        loss_s.backward()
        opt_s.step()
        loss_g.item(), loss_s.item()

    step()
    return step
