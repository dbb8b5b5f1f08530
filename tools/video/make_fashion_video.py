#!/usr/bin/env python3
"""A test video for `stemshare run` from Fashion-MNIST test images (Debian's dataset-fashion-mnist):
each image held for --hold frames, pixels scaled up --scale times, encoded by the `ffmpeg` tool.
Standard library only; nothing is downloaded.

  python3 tools/video/make_fashion_video.py --out fashion.mp4 --images 60 --hold 15 --fps 15
"""
import argparse
import gzip
import random
import struct
import subprocess

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--out", required=True)
p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
p.add_argument("--images", type=int, default=60, help="how many test images, drawn at random")
p.add_argument("--hold", type=int, default=15, help="frames each image stays in view")
p.add_argument("--fps", type=float, default=15.0)
p.add_argument("--scale", type=int, default=4, help="each pixel becomes scale x scale")
p.add_argument("--seed", type=int, default=1)
p.add_argument("--codec", default="-c:v libx264 -pix_fmt yuv420p -crf 18")
a = p.parse_args()

with gzip.open(f"{a.data}/t10k-images-idx3-ubyte.gz") as f:
    magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
    assert magic == 2051 and rows == 28 and cols == 28, "not an IDX image file"
    pixels = f.read(n * 784)
with gzip.open(f"{a.data}/t10k-labels-idx1-ubyte.gz") as f:
    f.read(8)
    labels = f.read(n)

rng = random.Random(a.seed)
chosen = [rng.randrange(n) for _ in range(a.images)]
size = 28 * a.scale
cmd = (["ffmpeg", "-nostdin", "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "gray", "-s",
        f"{size}x{size}", "-r", str(a.fps), "-i", "-"] + a.codec.split() + [a.out])
enc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
for i in chosen:
    img = pixels[i * 784:(i + 1) * 784]
    frame = bytearray()
    for y in range(size):
        row = img[(y // a.scale) * 28:(y // a.scale) * 28 + 28]
        frame += bytes(b for b in row for _ in range(a.scale))
    for _ in range(a.hold):
        enc.stdin.write(frame)
enc.stdin.close()
if enc.wait() != 0:
    raise SystemExit("ffmpeg failed")
print(f"{a.out}: {a.images} images x {a.hold} frames at {a.fps} fps; labels " +
      " ".join(str(labels[i]) for i in chosen))
