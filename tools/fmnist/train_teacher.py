# Trains the Fashion-MNIST teacher of the lossless-pixel accuracy claim (a VGG-ish Conv-BN-ReLU net on 1×28×28)
# and exports it to ONNX with BatchNormalization kept. Rule: deterministic (seed 0, one fixed schedule), the
# pixels are the lossless IDX bytes /255 normalized with mean 0.2860 / std 0.3530, and the t10k top-1 it prints
# is the one `lrq eval` and onnxruntime must reproduce exactly.
# Run: /usr/bin/python3 tools/fmnist/train_teacher.py [--epochs 3] [--threads 1] [--out models/fmnist_vgg7bn.onnx]
#      [--preds /tmp/fmnist_torch_preds.json]   (writes the ONNX file, prints accuracy and the file's sha256)
import argparse, gzip, hashlib, json, os, struct, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN, STD = 0.2860, 0.3530
DATA = '/usr/share/datasets/fashion-mnist'
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')


def read_idx(path):
    """The array of a (gzipped) IDX file: uint8 images [N, 28, 28] or labels [N]."""
    with gzip.open(path, 'rb') as f:
        raw = f.read()
    magic, = struct.unpack('>I', raw[:4])
    ndim = magic & 0xFF
    dims = struct.unpack('>' + 'I' * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(split):
    x = read_idx(f'{DATA}/{split}-images-idx3-ubyte.gz')
    y = read_idx(f'{DATA}/{split}-labels-idx1-ubyte.gz')
    x = (torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1) - MEAN) / STD
    return x, torch.from_numpy(y.astype(np.int64))


def cbr(cin, cout, stride=1):
    return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class Vgg7Bn(nn.Module):
    """Six Conv-BN-ReLU (16,16 | 32,32 | 64,64 channels at 28, 14, 7 px; stride-2 convs downsample, no MaxPool:
    lrq's W4A4 QDQ export of ReLU→MaxPool is rejected by onnxruntime, see test/import_matrix.test.ts),
    global average pool, Linear to 10."""

    def __init__(self, classes=10):
        super().__init__()
        self.features = nn.Sequential(
            *cbr(1, 16), *cbr(16, 16),
            *cbr(16, 32, 2), *cbr(32, 32),
            *cbr(32, 64, 2), *cbr(64, 64),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def augment(x, g):
    """Random horizontal flip and a random shift of up to 2 px (zero = the normalized black) per image."""
    n = x.shape[0]
    flip = torch.rand(n, generator=g) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    pad = F.pad(x, (2, 2, 2, 2), value=-MEAN / STD)
    dx, dy = torch.randint(0, 5, (2,), generator=g).tolist()  # one shift per batch keeps it cheap
    return pad[:, :, dy:dy + 28, dx:dx + 28]


@torch.no_grad()
def predict(model, x, bs=1000):
    model.eval()
    return torch.cat([model(x[i:i + bs]).argmax(1) for i in range(0, len(x), bs)])


def add_metadata(onnx_bytes, props):
    """ModelProto bytes with metadata_props (field 14: StringStringEntryProto key=1, value=2) appended;
    a protobuf message may carry its fields in any order, so appending is a valid encoding (no onnx package needed)."""
    def varint(n):
        out = bytearray()
        while True:
            b = n & 0x7F
            n >>= 7
            out.append(b | (0x80 if n else 0))
            if not n:
                return bytes(out)

    def field(num, payload):
        return varint((num << 3) | 2) + varint(len(payload)) + payload

    extra = b''.join(field(14, field(1, k.encode()) + field(2, v.encode())) for k, v in props.items())
    return onnx_bytes + extra


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--epochs', type=int, default=3)
    # One thread: on the shared 2-core machine two OpenMP threads ran 4.7× slower than one (2.3 vs 0.5 s/iteration).
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--out', default=os.path.join(ROOT, 'models', 'fmnist_vgg7bn.onnx'))
    ap.add_argument('--preds', default='')
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(0)
    xtr, ytr = load('train')
    xte, yte = load('t10k')
    model = Vgg7Bn()
    bs = 128
    steps = a.epochs * ((len(xtr) + bs - 1) // bs)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps, pct_start=0.15)
    t0 = time.time()
    for ep in range(a.epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=g)
        tot = 0.0
        for i in range(0, len(xtr), bs):
            idx = perm[i:i + bs]
            loss = F.cross_entropy(model(augment(xtr[idx], g)), ytr[idx], label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
        acc = (predict(model, xte) == yte).float().mean().item() * 100
        print(f'epoch {ep + 1}/{a.epochs}: train loss {tot / len(xtr):.4f}, t10k top-1 {acc:.2f}% ({time.time() - t0:.0f} s)', flush=True)

    model.eval()
    pred = predict(model, xte)
    correct = int((pred == yte).sum())
    print(f'PyTorch t10k top-1: {correct}/{len(yte)} = {correct / len(yte) * 100:.2f}%')
    if a.preds:
        with open(a.preds, 'w') as f:
            json.dump({'top1': correct / len(yte), 'correct': correct, 'pred': pred.tolist()}, f)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    tmp = a.out + '.tmp'
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), tmp, input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}}, opset_version=13,
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    with open(tmp, 'rb') as f:
        data = add_metadata(f.read(), {'normalize_mean': f'{MEAN}', 'normalize_std': f'{STD}',
                                       'lrq.source': 'tools/fmnist/train_teacher.py',
                                       'lrq.pytorch_t10k_top1': f'{correct / len(yte) * 100:.2f}'})
    os.remove(tmp)
    with open(a.out, 'wb') as f:
        f.write(data)
    print(f'wrote {a.out}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}')


if __name__ == '__main__':
    main()
