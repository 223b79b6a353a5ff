# PyTorch twin of bench/engine/workloads.ts's lrq_step_shufflenet: one LRQ iteration (as
# lrq_step_torch224.lrq_step_model: generator step + W4A4 student step) on ShuffleNetV2 ×0.5 for CIFAR-10
# (chenyaofo/pytorch-cifar-models: torchvision's shufflenet_v2_x0_5 with a 3×3 stride-1 24-channel stem
# and no max-pool; 56 Conv, 56 BatchNorm, 37 ReLU as in the staged ONNX), 32² input, 10 classes, random
# init (values do not change the work). Used by engine_torch.py; run alone it prints one JSON line.
import json
import os
import sys

import torch
import torch.nn as nn
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lrq_step_torch224 import lrq_step_model  # noqa: E402


def shufflenet_v2_x0_5_cifar(classes=10):
    """torchvision shufflenet_v2_x0_5 with the CIFAR stem: conv3×3(3→24, stride 1) → BN → ReLU, no max-pool."""
    m = torchvision.models.shufflenet_v2_x0_5(num_classes=classes)
    m.conv1[0] = nn.Conv2d(3, 24, 3, 1, 1, bias=False)
    m.maxpool = nn.Identity()
    return m


def lrq_step(batch, seed=0):
    """One LRQ iteration on ShuffleNetV2 ×0.5 CIFAR-10 as a closure."""
    torch.manual_seed(seed)
    return lrq_step_model(shufflenet_v2_x0_5_cifar, batch, classes=10, img=32)


if __name__ == '__main__':
    m = shufflenet_v2_x0_5_cifar()
    kinds = [type(x).__name__ for x in m.modules()]
    print(json.dumps({k: kinds.count(k) for k in ('Conv2d', 'BatchNorm2d', 'ReLU')}))
    print(tuple(m(torch.randn(2, 3, 32, 32)).shape))
