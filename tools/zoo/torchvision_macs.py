"""Counts the multiply-accumulates and parameters of torchvision's edge models, exactly, from the
modules themselves: the numbers tests/zoo/test_zoo.cpp holds the zoo's chains to.

MACs are those of every Conv2d and Linear (out elements x in_channels/groups x kernel area, and
in x out features): the convention of torchvision's published "GFLOPS" column (MobileNetV3-Large
0.217, MobileNetV3-Small 0.057, EfficientNet-B0 0.386, MobileNetV2 0.301). Element-wise ops
(batch-norm, activations, the squeeze-and-excitation multiply, residual adds) are not counted
there; the script prints the SE multiply's element count separately, since stemshare's FLOP count
includes it. Parameters are printed without and with the batch-norm running statistics (stemshare
counts those as weights).

Usage: /usr/bin/python3 tools/zoo/torchvision_macs.py   (Debian python3-torch, python3-torchvision)
"""
import torch
import torch.nn as nn
import torchvision.models as tvm
from torchvision.ops.misc import SqueezeExcitation

MODELS = ["mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "efficientnet_b0"]


def count(name, size=224):
    model = getattr(tvm, name)(weights=None).eval()
    macs = 0
    se_elements = 0

    def on_conv(m, inputs, out):
        nonlocal macs
        macs += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def on_linear(m, inputs, out):
        nonlocal macs
        macs += out.numel() * m.in_features

    def on_se(m, inputs, out):
        nonlocal se_elements
        se_elements += out.numel()

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            m.register_forward_hook(on_conv)
        elif isinstance(m, nn.Linear):
            m.register_forward_hook(on_linear)
        elif isinstance(m, SqueezeExcitation):
            m.register_forward_hook(on_se)
    with torch.no_grad():
        out = model(torch.zeros(1, 3, size, size))
    params = sum(p.numel() for p in model.parameters())
    running = sum(b.numel() for n, b in model.named_buffers() if n.endswith(("running_mean", "running_var")))
    print("%-20s MACs %10d  SE multiply elements %7d  params %8d  params+BN stats %8d  output %s"
          % (name, macs, se_elements, params, params + running, tuple(out.shape)))


if __name__ == "__main__":
    for name in MODELS:
        count(name)
