#!/usr/bin/env bash
# The shipped example, end to end on a fresh machine: set up, then quantize the staged CIFAR-10
# ResNet-20 to W4A4 with the short `fast` schedule, evaluating on the staged test set every epoch,
# and export the quantized ONNX + report into runs/r20-w4a4.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
DATA=../shared/data
node bin/lrq.js quantize \
  --model "$DATA/models/akamaster_cifar10/resnet20_cifar10_akamaster.onnx" \
  --eval-data "$DATA/cifar10/cifar10-test-yoongikim-jpeg-q75.bin" \
  --wbits 4 --abits 4 --preset fast --out runs/r20-w4a4 "$@"
