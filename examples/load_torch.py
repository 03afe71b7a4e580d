#!/usr/bin/env python3
"""Load a pretrain checkpoint into PyTorch and check it against `embed`.

    python3 examples/load_torch.py CHECKPOINT DATASET [--features FEATURES] [--count N]

Builds the CIFAR-form ResNet-18 (3×3 stride-1 stem, no max-pool) at the checkpoint's width with
torchvision's parameter names, loads the backbone (`encoder.*` → the model, strict) and the MoCo v2
projection head, normalises images with the input mean/std the checkpoint records, and — given
`embed`'s features file of the same dataset — checks the backbone and projection features of the first N
images against it. Needs torch, safetensors, zstandard and numpy (not a dependency of the project).
"""
import argparse
import json
import sys

import numpy as np
import safetensors.numpy
import torch
import torch.nn.functional as F
import zstandard
from torch import nn


def read_tensor_file(path):
    """A .safetensors.zst file: its tensors (numpy) and its metadata."""
    raw = zstandard.ZstdDecompressor().decompress(open(path, "rb").read(), max_output_size=1 << 34)
    header = json.loads(raw[8:8 + int.from_bytes(raw[:8], "little")])
    return safetensors.numpy.load(raw), header.get("__metadata__", {})


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet18CIFAR(nn.Module):
    """torchvision's resnet18 names (conv1, bn1, layer1…4, downsample) with the CIFAR stem; `head` is the
    MoCo v2 projection (Linear, ReLU, Linear), its output L2-normalised."""

    def __init__(self, in_channels, width, embedding=128):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        widths = [width, 2 * width, 4 * width, 8 * width]
        cin = width
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(cin, w, stride), BasicBlock(w, w, 1)))
            cin = w
        self.head = nn.Sequential(nn.Linear(cin, cin), nn.ReLU(), nn.Linear(cin, embedding))

    def features(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        for i in range(1, 5):
            x = getattr(self, f"layer{i}")(x)
        return x.mean(dim=(2, 3))

    def forward(self, x):
        feature = self.features(x)
        return feature, F.normalize(self.head(feature), dim=1)


def load_encoder(checkpoint):
    """The model in eval mode, its input mean and std (per channel), from a pretrain checkpoint."""
    tensors, meta = read_tensor_file(checkpoint)
    if meta.get("stage") != "pretrain" or "embed_encoder" not in meta:
        sys.exit(f"{checkpoint}: not a pretrain checkpoint (no embed_encoder metadata)")
    role = meta["embed_encoder"]
    width = int(json.loads(meta["identity"])["width"])
    channels = int(meta[f"{role}.in_channels"])
    mean = [float(v) for v in meta[f"{role}.input_mean"].split(",")]
    std = [float(v) for v in meta[f"{role}.input_std"].split(",")]
    embedding = tensors[f"{role}.head.2.weight"].shape[0]
    model = ResNet18CIFAR(channels, width, embedding)
    prefix = role + "."
    state = {k[len(prefix):]: torch.from_numpy(np.ascontiguousarray(v)) for k, v in tensors.items() if k.startswith(prefix)}
    model.load_state_dict(state, strict=True)   # every parameter and buffer by name, nothing left over
    model.eval()
    return model, torch.tensor(mean).view(1, -1, 1, 1), torch.tensor(std).view(1, -1, 1, 1)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoint")
    p.add_argument("dataset", help="a dataset .safetensors.zst (ingest's output)")
    p.add_argument("--features", help="embed's features of the same dataset and checkpoint, to compare against")
    p.add_argument("--count", type=int, default=16, help="images to encode and compare (default 16)")
    p.add_argument("--tolerance", type=float, default=1e-4,
                   help="largest allowed |difference|, relative to the largest |feature| when that is above 1 (default 1e-4)")
    a = p.parse_args()
    torch.set_num_threads(1)
    model, mean, std = load_encoder(a.checkpoint)
    data, _ = read_tensor_file(a.dataset)
    images = torch.from_numpy(data["images"][:a.count].astype(np.float32) / 255)
    with torch.no_grad():
        feature, projection = model((images - mean) / std)
    print(f"{a.checkpoint}: width {model.conv1.out_channels}, {a.count} images → backbone {tuple(feature.shape)}, "
          f"projection {tuple(projection.shape)}")
    if a.features:
        ours, _ = read_tensor_file(a.features)
        worst = 0.0
        for name, got in (("backbone", feature), ("projection", projection)):
            want = torch.from_numpy(ours[name][:a.count])
            diff = (got - want).abs().max().item()
            scale = max(1.0, want.abs().max().item())
            print(f"{name}: max |torch − embed| = {diff:.3g} (largest |feature| {scale:.3g})")
            worst = max(worst, diff / scale)
        if not worst <= a.tolerance:
            sys.exit(f"load_torch: features differ by {worst:.3g} > {a.tolerance}")
        print("load_torch: the PyTorch model reproduces embed's features")


if __name__ == "__main__":
    main()
