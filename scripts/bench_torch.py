#!/usr/bin/env python3
"""The same MoCo v2 training step as `bench engine`, in PyTorch (CPU), for a measured comparison.

usage: bench_torch.py --check                 exit 0 when torch is importable, 3 otherwise
       bench_torch.py --width W --channels C --size S --batch B --threads T --steps N [--objective simclr]
prints images/s of the median step as the last line of stdout (after two warm-up steps), the same
protocol as `bench engine`. MoCo (the default): the model is the
CIFAR ResNet-18 (3×3 stride-1 stem, no max-pool, widths W,2W,4W,8W) + MoCo v2 head (Linear, ReLU,
Linear → 128, L2-normalise); InfoNCE against a 4096-key queue at τ = 0.2; SGD(0.06, 0.9, 5e-4);
key encoder momentum 0.99.
SimCLR (`--objective simclr`, B pairs a step): the default job's recipe as `make tta` trains it
(torch_calibrate.py: split batch norm over 8 groups, ShuffleBN, NT-Xent at τ = 0.2 over both views in one
forward of 2B images, SGD(0.12, 0.9, 5e-4)); images/s counts pairs.
"""
import argparse
import os
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    torch = None


def build(width, channels):
    def block(cin, cout, stride):
        class Block(nn.Module):
            def __init__(self):
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
        return Block()

    layers = [nn.Conv2d(channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
    cin = width
    for stage in range(4):
        cout = width << stage
        for i in range(2):
            layers.append(block(cin, cout, 2 if stage > 0 and i == 0 else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(),
               nn.Linear(cin, cin), nn.ReLU(), nn.Linear(cin, 128)]
    return nn.Sequential(*layers)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--check", action="store_true")
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--size", type=int, default=28)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--objective", default="moco", choices=["moco", "simclr"])
    a = p.parse_args()
    if torch is None:
        sys.exit(3)
    if a.check:
        return
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    step = simclr_step(a) if a.objective == "simclr" else moco_step(a)
    step()
    step()
    seconds = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - t0)
    print(a.batch / sorted(seconds)[a.steps // 2])


def simclr_step(a):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import torch_calibrate
    model = torch_calibrate.Encoder(a.channels, a.width, 8)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.12, momentum=0.9, weight_decay=5e-4)
    x1 = torch.randn(a.batch, a.channels, a.size, a.size)
    x2 = torch.randn(a.batch, a.channels, a.size, a.size)
    gen = torch.Generator().manual_seed(0)

    def step():
        loss = torch_calibrate.simclr_loss(model, x1, x2, 0.2, 8, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def moco_step(a):
    q_enc = build(a.width, a.channels)
    k_enc = build(a.width, a.channels)
    k_enc.load_state_dict(q_enc.state_dict())
    for p_ in k_enc.parameters():
        p_.requires_grad = False
    opt = torch.optim.SGD(q_enc.parameters(), lr=0.06, momentum=0.9, weight_decay=5e-4)
    queue = F.normalize(torch.randn(4096, 128), dim=1)
    x1 = torch.randn(a.batch, a.channels, a.size, a.size)
    x2 = torch.randn(a.batch, a.channels, a.size, a.size)
    ptr = 0

    def step():
        nonlocal queue, ptr
        q = F.normalize(q_enc(x1), dim=1)
        with torch.no_grad():
            k = F.normalize(k_enc(x2), dim=1)
        logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.t()], dim=1) / 0.2
        loss = F.cross_entropy(logits, torch.zeros(a.batch, dtype=torch.long))
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            for pk, pq in zip(k_enc.parameters(), q_enc.parameters()):
                pk.mul_(0.99).add_(pq.detach(), alpha=0.01)
            idx = (torch.arange(a.batch) + ptr) % queue.shape[0]
            queue[idx] = k
            ptr = (ptr + a.batch) % queue.shape[0]
    return step


if __name__ == "__main__":
    main()
