#!/usr/bin/env python3
"""Independent NumPy reference for the linear probe: multinomial logistic regression trained with
SGD + momentum (torch semantics: v = mu*v + (g + wd*p); p -= lr*v, weight decay on weights and bias),
mean softmax cross-entropy per batch, lr x gamma at each milestone epoch round(fraction*epochs).
Computes in float64 from zero initialisation.

    ref_eval_probe.py FEATURES ORDERS --lr L --momentum M --wd W --epochs E --batch B
                      [--milestones 0.6,0.8] [--gamma 0.1] [--feature backbone]

FEATURES is a features file (.safetensors.zst); ORDERS holds `order` i64 [E, N], the items visited
in each epoch (consecutive slices of batch B; the last one may be short). Prints JSON: weights
(row-major [D, C]), bias [C], final_loss (mean over the last epoch), classes.
"""
import argparse
import json

import numpy as np
import safetensors.numpy
import zstandard


def load(path):
    return safetensors.numpy.load(zstandard.ZstdDecompressor().decompress(open(path, "rb").read()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("features")
    ap.add_argument("orders")
    ap.add_argument("--lr", type=float, required=True)
    ap.add_argument("--momentum", type=float, required=True)
    ap.add_argument("--wd", type=float, required=True)
    ap.add_argument("--epochs", type=int, required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--milestones", default="")
    ap.add_argument("--gamma", type=float, default=0.1)
    ap.add_argument("--feature", default="backbone")
    a = ap.parse_args()

    f = load(a.features)
    x = f[a.feature].astype(np.float64)
    y = f["labels"].astype(np.int64)
    orders = load(a.orders)["order"]
    n, d = x.shape
    c = int(y.max()) + 1
    assert orders.shape == (a.epochs, n)
    marks = [int(round(float(m) * a.epochs)) for m in a.milestones.split(",") if m]

    w = np.zeros((d, c))
    b = np.zeros(c)
    vw = np.zeros_like(w)
    vb = np.zeros_like(b)
    final_loss = 0.0
    for epoch in range(a.epochs):
        lr = a.lr * a.gamma ** sum(epoch >= m for m in marks)
        total = 0.0
        for start in range(0, n, a.batch):
            idx = orders[epoch, start:start + a.batch]
            xb, yb = x[idx], y[idx]
            z = xb @ w + b
            z = z - z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            total += -np.log(p[np.arange(len(idx)), yb]).sum()
            g = p.copy()
            g[np.arange(len(idx)), yb] -= 1
            g /= len(idx)
            gw = xb.T @ g + a.wd * w
            gb = g.sum(axis=0) + a.wd * b
            vw = a.momentum * vw + gw
            vb = a.momentum * vb + gb
            w -= lr * vw
            b -= lr * vb
        final_loss = total / n
    print(json.dumps({"weights": w.ravel().tolist(), "bias": b.tolist(), "final_loss": final_loss, "classes": c}))


if __name__ == "__main__":
    main()
