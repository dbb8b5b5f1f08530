"""Exports the latency models to ONNX with seeded random weights (torch folds BN in eval mode).
Same architectures as stemshare's zoo: MobileNetV1 1.0-224 (hand-written: torchvision has none),
torchvision's mobilenet_v2, resnet50, inception_v3 (no aux head), mobilenet_v3_large and
efficientnet_b0 (their squeeze-and-excitation, hard-swish and SiLU as torch exports them at opset 13).
Usage: /usr/bin/python3 export_onnx.py OUT_DIR [MODEL...]   (Debian's python3-torch and
python3-torchvision; a dev-time tool only). Without MODEL, every model; an existing file is rewritten."""
import os
import sys

import torch
import torch.nn as nn
import torchvision.models as tvm

SIZES = {"mobilenet_v1": 224, "mobilenet_v2": 224, "resnet50": 224, "inception_v3": 299,
         "mobilenet_v3_large": 224, "efficientnet_b0": 224}


def conv_bn(cin, cout, stride, groups=1, k=3):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class MobileNetV1(nn.Module):
    CFG = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
           (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]

    def __init__(self):
        super().__init__()
        layers, cin = [conv_bn(3, 32, 2)], 32
        for cout, s in self.CFG:
            layers += [conv_bn(cin, cin, s, groups=cin), conv_bn(cin, cout, 1, k=1)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(1024, 1000)

    def forward(self, x):
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(self.features(x), 1), 1))


def build(name):
    torch.manual_seed(0)
    if name == "mobilenet_v1":
        return MobileNetV1().eval()
    if name == "inception_v3":
        return tvm.inception_v3(weights=None, aux_logits=False, init_weights=False, transform_input=False).eval()
    return getattr(tvm, name)(weights=None).eval()


def main():
    out = sys.argv[1]
    names = sys.argv[2:] or list(SIZES)
    unknown = [n for n in names if n not in SIZES]
    if unknown:
        sys.exit("export_onnx.py: unknown model(s) %s; known: %s" % (", ".join(unknown), ", ".join(SIZES)))
    os.makedirs(out, exist_ok=True)
    for name in names:
        size = SIZES[name]
        path = os.path.join(out, name + ".onnx")
        with torch.no_grad():
            torch.onnx.export(build(name), torch.randn(1, 3, size, size), path, opset_version=13,
                              input_names=["input"], output_names=["output"], do_constant_folding=True)
        print(name, "->", path, flush=True)


if __name__ == "__main__":
    main()
