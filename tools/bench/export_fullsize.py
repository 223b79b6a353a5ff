# Exports the full-size torchvision ImageNet classifiers the 224² step benchmark runs (ResNet-18 and
# MobileNetV2, 1000 classes, random weights with BN kept and BN statistics from random batches) into
# bench/fixtures/fullsize/ — gitignored: 45 + 14 MB. Rule: deterministic (seed 0); the same export
# settings as tools/import_matrix/export_torchvision.py (opset 13, BN preserved, dynamic batch).
# Run: /usr/bin/python3 tools/bench/export_fullsize.py
import os
import sys
import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'import_matrix'))
from export_torchvision import export, set_bn_stats  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'bench', 'fixtures', 'fullsize')
MODELS = {'resnet18': torchvision.models.resnet18, 'mobilenet_v2': torchvision.models.mobilenet_v2}


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    for name, ctor in MODELS.items():
        torch.manual_seed(0)
        model = ctor(num_classes=1000)
        set_bn_stats(model, 224, batches=2)
        path = os.path.join(OUT, f'{name}.onnx')
        export(model, path, 224, training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
        print(f'{name}: {sum(p.numel() for p in model.parameters())} params, {os.path.getsize(path)} bytes -> {path}')


if __name__ == '__main__':
    main()
