#!/usr/bin/python3
"""PyTorch's training throughput on the shapes of bench_train.cpp (Debian python3-torch).

One SGD-momentum step (forward in train() mode, cross-entropy, backward, update) on a fixed random
batch, for the same four cases at the same thread counts (torch.set_num_threads):

    fashion_mobilenet_full   the 28x28 fashion_mobilenet, batch 64
    mobilenet_v2_suffix      MobileNetV2 blocks 15-18 + head on 160x7x7 inputs, batch 32
    resnet50_last_stage      ResNet-50's last stage (3 bottlenecks) + head on 1024x14x14, batch 32
    mobilenet_v3_large_suffix
                             MobileNetV3-Large's last two bneck blocks (5x5 depthwise, hard-swish,
                             squeeze-and-excitation with a hard-sigmoid gate) + head (1x1 conv,
                             pooling, 1280 hard-swish, 1000; no dropout) on 160x7x7, batch 32

Prints one JSON line per case with images_per_s (the median of --repetitions timed runs of at
least --min-time seconds each). Run in the same session as bench_train, e.g.

    OMP_WAIT_POLICY=active /usr/bin/python3 benchmarks/train/bench_train_torch.py --min-time 2
"""

import argparse
import json
import statistics
import time

import torch
import torch.nn as nn


def conv_bn(cin, cout, k, stride=1, groups=1, act=nn.ReLU6):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


def fashion_mobilenet():
    layers = [conv_bn(1, 16, 3)]
    for cin, cout, stride in [(16, 32, 2), (32, 32, 1), (32, 64, 2), (64, 64, 1), (64, 128, 2), (128, 128, 1)]:
        layers += [conv_bn(cin, cin, 3, stride, cin), conv_bn(cin, cout, 1)]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10))


class inverted_residual(nn.Module):
    def __init__(self, cin, cout, expand=6):
        super().__init__()
        hidden = cin * expand
        self.body = nn.Sequential(conv_bn(cin, hidden, 1), conv_bn(hidden, hidden, 3, 1, hidden),
                                  conv_bn(hidden, cout, 1, act=None))
        self.residual = cin == cout

    def forward(self, x):
        y = self.body(x)
        return y + x if self.residual else y


def mobilenet_v2_suffix():
    return nn.Sequential(inverted_residual(160, 160), inverted_residual(160, 160), inverted_residual(160, 320),
                         conv_bn(320, 1280, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1280, 1000))


class bottleneck(nn.Module):
    def __init__(self, cin, width, cout, stride):
        super().__init__()
        self.body = nn.Sequential(conv_bn(cin, width, 1, act=nn.ReLU), conv_bn(width, width, 3, stride, act=nn.ReLU),
                                  conv_bn(width, cout, 1, act=None))
        self.shortcut = conv_bn(cin, cout, 1, stride, act=None) if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))


def resnet50_last_stage():
    return nn.Sequential(bottleneck(1024, 512, 2048, 2), bottleneck(2048, 512, 2048, 1),
                         bottleneck(2048, 512, 2048, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, 1000))


def conv_bn_eps(cin, cout, k, stride=1, groups=1, act=nn.Hardswish):
    """conv_bn with MobileNetV3's batch-norm epsilon 1e-3."""
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout, eps=1e-3)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


class squeeze_excitation(nn.Module):
    """torchvision's SqueezeExcitation with MobileNetV3's ReLU squeeze and hard-sigmoid gate."""

    def __init__(self, channels, squeezed):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeezed, 1)
        self.fc2 = nn.Conv2d(squeezed, channels, 1)

    def forward(self, x):
        s = torch.relu(self.fc1(nn.functional.adaptive_avg_pool2d(x, 1)))
        return x * nn.functional.hardsigmoid(self.fc2(s))


class bneck_se(nn.Module):
    """A stride-1 MobileNetV3 bneck with squeeze-and-excitation, hard-swish and its skip add."""

    def __init__(self, channels, kernel, expanded):
        super().__init__()
        self.body = nn.Sequential(conv_bn_eps(channels, expanded, 1),
                                  conv_bn_eps(expanded, expanded, kernel, 1, expanded),
                                  squeeze_excitation(expanded, expanded // 4),
                                  conv_bn_eps(expanded, channels, 1, act=None))

    def forward(self, x):
        return self.body(x) + x


def mobilenet_v3_large_suffix():
    return nn.Sequential(bneck_se(160, 5, 960), bneck_se(160, 5, 960), conv_bn_eps(160, 960, 1),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(960, 1280), nn.Hardswish(),
                         nn.Linear(1280, 1000))


CASES = [
    ("fashion_mobilenet_full", fashion_mobilenet, (64, 1, 28, 28)),
    ("mobilenet_v2_suffix", mobilenet_v2_suffix, (32, 160, 7, 7)),
    ("resnet50_last_stage", resnet50_last_stage, (32, 1024, 14, 14)),
    ("mobilenet_v3_large_suffix", mobilenet_v3_large_suffix, (32, 160, 7, 7)),
]


def measure(make, shape, threads, min_time, repetitions):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = make()
    model.train()
    x = torch.rand(shape) * 2 - 1
    classes = model(x[:2]).shape[1]
    labels = torch.arange(shape[0]) % classes
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=5e-4)

    def step():
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), labels).backward()
        opt.step()

    step()
    step()
    rates = []
    for _ in range(repetitions):
        steps = 0
        start = time.perf_counter()
        while True:
            step()
            steps += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        rates.append(steps * shape[0] / elapsed)
    return statistics.median(rates)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--min-time", type=float, default=2.0)
    parser.add_argument("--repetitions", type=int, default=1)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--filter", default="")
    args = parser.parse_args()
    for name, make, shape in CASES:
        if args.filter not in name:
            continue
        for threads in args.threads:
            rate = measure(make, shape, threads, args.min_time, args.repetitions)
            print(json.dumps({"name": name, "threads": threads, "batch": shape[0], "images_per_s": rate,
                              "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
