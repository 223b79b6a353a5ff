# Exports the torchvision families of the import-matrix test as SMALL ONNX fixtures with BatchNormalization
# kept (random weights, BN statistics from a few random batches, width/depth-reduced through torchvision's own
# constructors and block classes so each graph has the family's ops), plus one BN-folded export for the
# "BN statistics are missing" error. Rule: deterministic (seed 0), each file small, CI needs no torch.
# Run: /usr/bin/python3 tools/import_matrix/export_torchvision.py   (writes test/fixtures/import_matrix/*.onnx)
import hashlib, json, os
import torch
import torch.nn as nn
import torchvision
from torchvision.models import resnet as tvr
from torchvision.models import efficientnet as tve
from torchvision.models import regnet as tvg
from torchvision.models.shufflenetv2 import ShuffleNetV2
from torchvision.models.densenet import DenseNet

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'fixtures', 'import_matrix')
CLASSES = 10


class SmallResNet(tvr.ResNet):
    """torchvision's ResNet (its BasicBlock/Bottleneck and _make_layer) with the stage widths 64..512 divided by `div`."""

    def __init__(self, block, layers, div):
        nn.Module.__init__(self)
        w = [64 // div, 128 // div, 256 // div, 512 // div]
        self._norm_layer = nn.BatchNorm2d
        self.inplanes, self.dilation, self.groups, self.base_width = w[0], 1, 1, 64
        self.conv1 = nn.Conv2d(3, w[0], kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(w[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, w[0], layers[0])
        self.layer2 = self._make_layer(block, w[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, w[2], layers[2], stride=2)
        self.layer4 = self._make_layer(block, w[3], layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(w[3] * block.expansion, CLASSES)


def families():
    """name → (model, input size, what was reduced)."""
    v2_setting = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 2, 2], [6, 64, 2, 2], [6, 96, 1, 1], [6, 160, 1, 2], [6, 320, 1, 1]]
    eff_setting, _ = tve._efficientnet_conf('efficientnet_b0', width_mult=0.25, depth_mult=0.34)
    return {
        'resnet18': (SmallResNet(tvr.BasicBlock, [2, 2, 2, 2], 8), 32, 'stage widths /8 (8..64), depth as resnet18'),
        'resnet50': (SmallResNet(tvr.Bottleneck, [3, 4, 6, 3], 16), 32, 'stage widths /16 (4..32, ×4 expansion), depth as resnet50'),
        'mobilenet_v2': (torchvision.models.mobilenet_v2(num_classes=CLASSES, width_mult=0.25, inverted_residual_setting=v2_setting), 32, 'width_mult 0.25, repeats 1-2 per stage'),
        'mobilenet_v3_small': (torchvision.models.mobilenet_v3_small(num_classes=CLASSES, width_mult=0.25, reduced_tail=True), 32, 'width_mult 0.25, reduced_tail'),
        'efficientnet_b0': (tve.EfficientNet(eff_setting, dropout=0.2, num_classes=CLASSES), 32, 'width_mult 0.25, depth_mult 0.34'),
        'shufflenet_v2_x1_0': (ShuffleNetV2([2, 2, 2], [24, 32, 64, 128, 256], num_classes=CLASSES), 32, 'stage repeats 2,2,2, channels 24,32,64,128,256'),
        'regnet_y_400mf': (tvg.RegNet(tvg.BlockParams.from_init_params(depth=4, w_0=16, w_a=8.0, w_m=2.0, group_width=8, se_ratio=0.25), num_classes=CLASSES, stem_width=16), 32, 'depth 4, w_0 16, w_a 8, w_m 2, group 8, SE 0.25, stem 16'),
        'densenet121': (DenseNet(growth_rate=8, block_config=(3, 3, 3, 3), num_init_features=16, num_classes=CLASSES), 32, 'growth 8, blocks 3,3,3,3, 16 initial features'),
    }


@torch.no_grad()
def set_bn_stats(model, size, batches=4):
    """BN running statistics = the exact mean/var of the activations over a few random batches (momentum None)."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
            m.weight.uniform_(0.5, 1.5)
            m.bias.normal_(0, 0.1)
    model.train()
    for _ in range(batches):
        model(torch.randn(16, 3, size, size))
    model.eval()


def export(model, path, size, **kw):
    torch.onnx.export(model, torch.zeros(1, 3, size, size), path, input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}}, opset_version=13, **kw)


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    index = {}
    for name, (model, size, reduced) in families().items():
        torch.manual_seed(0)
        set_bn_stats(model, size)
        path = os.path.join(OUT, f'{name}.onnx')
        export(model, path, size, training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
        data = open(path, 'rb').read()
        params = sum(p.numel() for p in model.parameters())
        index[name] = {'file': f'{name}.onnx', 'input': [3, size, size], 'params': params, 'bytes': len(data), 'reduced': reduced,
                       'sha256': hashlib.sha256(data).hexdigest()}
        print(f'{name}: {params} params, {len(data)} bytes ({reduced})')
    # The BN-folded export (torch's default eval export folds BN into Conv): no BatchNormalization left.
    model, size, _ = families()['regnet_y_400mf']
    torch.manual_seed(0)
    set_bn_stats(model, size)
    path = os.path.join(OUT, 'regnet_y_400mf_bn_folded.onnx')
    export(model, path, size)
    data = open(path, 'rb').read()
    index['regnet_y_400mf_bn_folded'] = {'file': 'regnet_y_400mf_bn_folded.onnx', 'input': [3, size, size], 'bytes': len(data),
                                         'reduced': 'as regnet_y_400mf, BN folded into Conv', 'sha256': hashlib.sha256(data).hexdigest()}
    print(f'regnet_y_400mf_bn_folded: {len(data)} bytes')
    meta = {'torch': torch.__version__, 'torchvision': torchvision.__version__, 'opset': 13, 'fixtures': index}
    with open(os.path.join(OUT, 'index.json'), 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')


if __name__ == '__main__':
    main()
