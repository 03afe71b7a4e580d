#!/usr/bin/env python3
"""The default recipe in PyTorch (CPU), for a calibration against the project at the same budget.

usage: torch_calibrate.py --check            exit 0 when torch is importable, 3 otherwise
       torch_calibrate.py --augment BIN/augment --pretrain-set DATA/train-first30000.safetensors.zst
                          --train DATA/train.safetensors.zst --test DATA/test.safetensors.zst --out DIR
                          [--objective simclr|moco] [--epochs 4] [--batch 256] [--lr 0.06] [--tau 0.2] ...

Same data, same views, same evaluation; only the engine differs. Every epoch's two views come from the
project's own `augment` stage (same recipe and seed, so the very same pixels); the model is the CIFAR
ResNet-18 (3×3 stride-1 stem, no max-pool, widths W…8W) with the MoCo v2 head and kaiming-normal
(fan-out) convolutions, as the project builds it; split batch norm over --bn-splits groups with
ShuffleBN; SGD with momentum 0.9 and weight decay on every parameter, cosine learning rate per
iteration; inputs normalised with the first epoch's view-1 channel mean and std. What differs from the
project: the batch order (torch.randperm, not the project's RNG) and the initial weights' random draws.
Writes DIR/features/{train,test}.safetensors.zst (backbone, projection, labels, index) in the project's
features format, so the project's own `knn` and `probe` stages score them (`make calibrate`).
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

try:
    import numpy as np   # for the views and features files (load, save, the recipe's epochs); bench_torch.py's step needs torch only
except ImportError:
    np = None

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    torch = None


def load(path):
    import safetensors.numpy
    import zstandard
    return safetensors.numpy.load(zstandard.ZstdDecompressor().decompress(open(path, "rb").read(), max_output_size=1 << 32))


def save(path, tensors, metadata):
    import safetensors.numpy
    import zstandard
    raw = safetensors.numpy.save({k: np.ascontiguousarray(v) for k, v in tensors.items()}, metadata=metadata)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(zstandard.ZstdCompressor(write_content_size=True, write_checksum=True).compress(raw))
    os.replace(tmp, path)


if torch is not None:
    class SplitBatchNorm(nn.BatchNorm2d):
        """MoCo CIFAR demo's split BN: in training, statistics per group of batch/splits images; the
        groups are consecutive images, as the project cuts them (the demo's view() interleaves them)."""
        def __init__(self, channels, splits):
            super().__init__(channels)
            self.splits = splits

        def forward(self, x):
            if not self.training or self.splits == 1:
                return super().forward(x)
            n, c, h, w = x.shape
            g = self.splits
            rm, rv = self.running_mean.repeat(g), self.running_var.repeat(g)
            grouped = x.view(g, n // g, c, h, w).transpose(0, 1).reshape(n // g, g * c, h, w)
            y = F.batch_norm(grouped, rm, rv, self.weight.repeat(g), self.bias.repeat(g), True, self.momentum, self.eps)
            y = y.view(n // g, g, c, h, w).transpose(0, 1).reshape(n, c, h, w)
            self.running_mean.copy_(rm.view(g, c).mean(0))
            self.running_var.copy_(rv.view(g, c).mean(0))
            return y

    class Block(nn.Module):
        def __init__(self, cin, cout, stride, splits):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = SplitBatchNorm(cout, splits)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = SplitBatchNorm(cout, splits)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), SplitBatchNorm(cout, splits))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + (x if self.downsample is None else self.downsample(x)))

    class Encoder(nn.Module):
        def __init__(self, channels, width, splits):
            super().__init__()
            self.conv1 = nn.Conv2d(channels, width, 3, 1, 1, bias=False)
            self.bn1 = SplitBatchNorm(width, splits)
            blocks, cin = [], width
            for stage in range(4):
                cout = width << stage
                for i in range(2):
                    blocks.append(Block(cin, cout, 2 if stage > 0 and i == 0 else 1, splits))
                    cin = cout
            self.blocks = nn.Sequential(*blocks)
            self.head = nn.Sequential(nn.Linear(cin, cin), nn.ReLU(), nn.Linear(cin, 128))
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

        def forward(self, x):
            h = self.blocks(F.relu(self.bn1(self.conv1(x))))
            feature = h.mean(dim=(2, 3))
            return feature, F.normalize(self.head(feature), dim=1)


def simclr_loss(model, x1, x2, tau, bn_splits, gen):
    """NT-Xent of one SimCLR step on the pairs (x1[i], x2[i]), both views through `model` in one batch.
    With `gen` (ShuffleBN), view 2's rows are permuted so that none shares a BN group with its own first
    view; the embeddings are restored to pair order before the loss."""
    b = len(x1)
    groups = bn_splits // 2 if bn_splits % 2 == 0 else 1
    perm = shuffle_order(b, groups, gen) if gen is not None else torch.arange(b)
    _, z = model(torch.cat([x1, x2[perm]]))
    z1 = z[:b]
    z2 = torch.empty_like(z1)
    z2[perm] = z[b:]
    zz = torch.cat([z1, z2])
    sim = zz @ zz.t() / tau
    sim.fill_diagonal_(float("-inf"))
    target = torch.cat([torch.arange(b, 2 * b), torch.arange(b)])
    return F.cross_entropy(sim, target)


def shuffle_order(n, groups, gen):
    """A permutation in which no position holds a row of its own group (cf. ShuffleBN.swift)."""
    if groups < 2:
        return torch.arange(n)
    size = n // groups
    order = torch.randperm(n, generator=gen).tolist()
    for j in range(n):
        if order[j] // size != j // size:
            continue
        for k in range(n):
            if k // size != j // size and order[k] // size != j // size and order[j] // size != k // size:
                order[j], order[k] = order[k], order[j]
                break
    return torch.tensor(order)


class TorchRecipe:
    """The recipe's state across epochs: the model (and MoCo's key encoder and queue), the optimiser,
    the step, the input normalisation (from the first epoch's view 1). `a` holds the settings main()
    parses (objective, epochs, batch, lr, wd, tau, queue, key_momentum, width, bn_splits, shuffle_bn, seed)."""

    def __init__(self, a):
        self.a = a
        torch.manual_seed(a.seed)
        self.gen = torch.Generator().manual_seed(a.seed)
        self.shuffle = a.shuffle_bn == "true"
        self.model, self.key_model, self.opt, self.queue, self.mean, self.std = None, None, None, None, None, None
        self.step, self.total = 0, None

    def train_epoch(self, views_path):
        """One epoch on a views file (the project's augment output); returns the mean loss."""
        a, gen = self.a, self.gen
        v = load(views_path)
        v1, v2 = torch.from_numpy(v["view1"].astype(np.float32) / 255), torch.from_numpy(v["view2"].astype(np.float32) / 255)
        if self.model is None:
            c = v1.shape[1]
            self.mean = v1.mean(dim=(0, 2, 3)).view(1, c, 1, 1)
            self.std = v1.std(dim=(0, 2, 3), unbiased=False).clamp_min(1e-3).view(1, c, 1, 1)
            self.model = Encoder(c, a.width, a.bn_splits)
            self.opt = torch.optim.SGD(self.model.parameters(), lr=a.lr, momentum=0.9, weight_decay=a.wd)
            self.total = a.epochs * (len(v1) // a.batch)
            if a.objective == "moco":
                self.key_model = Encoder(c, a.width, a.bn_splits)
                self.key_model.load_state_dict(self.model.state_dict())
                for q in self.key_model.parameters():
                    q.requires_grad = False
                self.queue = F.normalize(torch.randn(a.queue, 128, generator=gen), dim=1)
        model, key_model, opt, queue = self.model, self.key_model, self.opt, self.queue
        v1, v2 = (v1 - self.mean) / self.std, (v2 - self.mean) / self.std
        order = torch.randperm(len(v1), generator=gen)
        model.train()
        losses = []
        for s in range(len(v1) // a.batch):
            rows = order[s * a.batch:(s + 1) * a.batch]
            lr = 0.5 * a.lr * (1 + math.cos(math.pi * self.step / self.total))
            for g in opt.param_groups:
                g["lr"] = lr
            b = a.batch
            if a.objective == "simclr":
                loss = simclr_loss(model, v1[rows], v2[rows], a.tau, a.bn_splits, gen if self.shuffle else None)
            else:
                _, q = model(v1[rows])
                with torch.no_grad():
                    for pk, pq in zip(key_model.parameters(), model.parameters()):
                        pk.mul_(a.key_momentum).add_(pq.detach(), alpha=1 - a.key_momentum)
                    perm = shuffle_order(b, a.bn_splits, gen) if self.shuffle else torch.arange(b)
                    _, ks = key_model(v2[rows[perm]])
                    k = torch.empty_like(ks)
                    k[perm] = ks
                logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.t()], dim=1) / a.tau
                loss = F.cross_entropy(logits, torch.zeros(b, dtype=torch.long))
            opt.zero_grad()
            loss.backward()
            opt.step()
            if a.objective == "moco":
                with torch.no_grad():
                    ptr = (self.step * b) % a.queue
                    queue[ptr:ptr + b] = k
            losses.append(loss.item())
            self.step += 1
        return float(np.mean(losses))

    def save_features(self, dataset_path, out_path):
        """Eval-mode backbone and projection of a dataset file, in the project's features format."""
        self.model.eval()
        d = load(dataset_path)
        feats, projs = [], []
        with torch.no_grad():
            for i in range(0, len(d["images"]), 1000):
                x = (torch.from_numpy(d["images"][i:i + 1000].astype(np.float32) / 255) - self.mean) / self.std
                f, z = self.model(x)
                feats.append(f.numpy())
                projs.append(z.numpy())
        save(out_path, {"backbone": np.concatenate(feats).astype(np.float32), "projection": np.concatenate(projs).astype(np.float32),
                        "labels": d["labels"].astype(np.int64), "index": d["index"].astype(np.int64)},
             {"stage": "torch_calibrate", "parameters": json.dumps(vars(self.a), sort_keys=True), "torch": torch.__version__})


def add_recipe_arguments(p, epochs, batch, lr):
    """The recipe's settings TorchRecipe reads (shared with tta.py; make passes every one explicitly)."""
    p.add_argument("--objective", default="simclr", choices=["simclr", "moco"])
    p.add_argument("--recipe", default="simclr")
    p.add_argument("--augment-extra", default="", help="further augment options, e.g. '--blur-p 0'")
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--batch", type=int, default=batch)
    p.add_argument("--lr", type=float, default=lr)
    p.add_argument("--wd", type=float, default=5e-4)
    p.add_argument("--tau", type=float, default=0.2)
    p.add_argument("--queue", type=int, default=4096)
    p.add_argument("--key-momentum", type=float, default=0.99)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--bn-splits", type=int, default=8)
    p.add_argument("--shuffle-bn", default="true", choices=["true", "false"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=os.cpu_count())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--check", action="store_true")
    p.add_argument("--augment")
    p.add_argument("--pretrain-set")
    p.add_argument("--train")
    p.add_argument("--test")
    p.add_argument("--out")
    add_recipe_arguments(p, epochs=4, batch=256, lr=0.06)
    a = p.parse_args()
    if torch is None or np is None:
        if a.check:
            sys.exit(3)
        sys.exit(f"torch_calibrate.py: {'torch' if torch is None else 'numpy'} is not importable "
                 "(python3 -m venv DIR; DIR/bin/pip install torch numpy safetensors zstandard)")
    if a.check:
        return
    torch.set_num_threads(a.threads)
    recipe = TorchRecipe(a)
    views_dir = os.path.join(a.out, "views")
    os.makedirs(views_dir, exist_ok=True)
    started = time.perf_counter()
    log = []
    for epoch in range(1, a.epochs + 1):
        path = os.path.join(views_dir, f"epoch-{epoch:03d}.safetensors.zst")
        subprocess.run([a.augment, "--dataset", a.pretrain_set, "--epoch", str(epoch), "--recipe", a.recipe,
                        "--seed", str(a.seed), *a.augment_extra.split(), "--out", path], check=True, stdout=subprocess.DEVNULL)
        loss = recipe.train_epoch(path)
        os.remove(path)
        log.append({"epoch": epoch, "step": recipe.step, "loss": loss, "seconds": time.perf_counter() - started})
        print(f"torch: epoch {epoch}/{a.epochs} loss {loss:.4f} ({time.perf_counter() - started:.0f} s)", flush=True)
    train_seconds = time.perf_counter() - started
    step = recipe.step

    for split, path in [("train", a.train), ("test", a.test)]:
        recipe.save_features(path, os.path.join(a.out, "features", f"{split}.safetensors.zst"))
    with open(os.path.join(a.out, "torch_log.json"), "w") as f:
        json.dump({"log": log, "train_seconds": train_seconds, "torch": torch.__version__, "threads": a.threads,
                   "settings": vars(a)}, f, indent=1, sort_keys=True)
    print(f"torch: trained {step} steps in {train_seconds:.0f} s; features in {a.out}/features")


if __name__ == "__main__":
    main()
