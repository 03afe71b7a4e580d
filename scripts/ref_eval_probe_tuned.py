#!/usr/bin/env python3
"""Independent NumPy reference for the tuned linear probe: standardise with the training split's
mean and (population) std, fit L2-penalised multinomial logistic regression
    f(W, b) = mean_i CE(softmax(x_i W + b), y_i) + (lam / 2) ||W||^2      (bias not penalised)
for every lam of the grid on the training items that are not held out, by Newton's method with
a backtracking line search (float64, exact Hessian), pick the lam with the best held-out top-1
(ties -> the larger lam), refit on every training item, and score the test split.

    ref_eval_probe_tuned.py TRAIN TEST HOLDOUT --grid 1e-3,1e-2 [--feature backbone]

HOLDOUT holds `holdout` i64 [m], the held-out positions of the training split. Prints JSON: l2,
holdout_top1 (percent, in grid order), weights (row-major [D, C]), bias [C], test_top1.
"""
import argparse
import json

import numpy as np
import safetensors.numpy
import zstandard


def load(path):
    return safetensors.numpy.load(zstandard.ZstdDecompressor().decompress(open(path, "rb").read()))


def objective(theta, x, y, lam, c):
    n, d = x.shape
    w, b = theta[: d * c].reshape(d, c), theta[d * c:]
    z = x @ w + b
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(n), y]).mean() + 0.5 * lam * (w * w).sum()
    g = p.copy()
    g[np.arange(n), y] -= 1
    g /= n
    grad = np.concatenate([(x.T @ g + lam * w).ravel(), g.sum(axis=0)])
    # Hessian: sum_i (x~_i x~_i^T) kron (diag p_i - p_i p_i^T) / n, with x~ = [x, 1] ordered as theta
    xt = np.hstack([x, np.ones((n, 1))])
    h = np.zeros((d + 1, c, d + 1, c))
    for k in range(c):
        for l in range(c):
            wkl = p[:, k] * ((k == l) - p[:, l]) / n
            h[:, k, :, l] = (xt * wkl[:, None]).T @ xt
    h = h.reshape((d + 1) * c, (d + 1) * c)
    # theta orders W row-major (index j*c + k) then b (d*c + k): the same as [x~ index j, class k].
    h[: d * c, : d * c] += lam * np.eye(d * c)
    return loss, grad, h


def fit(x, y, lam, c):
    d = x.shape[1]
    theta = np.zeros(d * c + c)
    for _ in range(100):
        f, g, h = objective(theta, x, y, lam, c)
        if np.abs(g).max() < 1e-10:
            break
        step = np.linalg.lstsq(h, -g, rcond=None)[0]   # the bias block makes h singular along 1-vectors
        t = 1.0
        while objective(theta + t * step, x, y, lam, c)[0] > f + 1e-4 * t * g @ step and t > 1e-10:
            t *= 0.5
        theta = theta + t * step
    return theta[: d * c].reshape(d, c), theta[d * c:]


def top1(w, b, x, y):
    z = x @ w + b
    return 100.0 * (z.argmax(axis=1) == y).mean()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train")
    ap.add_argument("test")
    ap.add_argument("holdout")
    ap.add_argument("--grid", required=True)
    ap.add_argument("--feature", default="backbone")
    a = ap.parse_args()
    tr, te = load(a.train), load(a.test)
    x, y = tr[a.feature].astype(np.float64), tr["labels"].astype(np.int64)
    xt, yt = te[a.feature].astype(np.float64), te["labels"].astype(np.int64)
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std <= 1e-6] = 1.0
    x, xt = (x - mean) / std, (xt - mean) / std
    c = int(max(y.max(), yt.max())) + 1
    held = load(a.holdout)["holdout"]
    mask = np.zeros(len(y), bool)
    mask[held] = True
    grid = [float(v) for v in a.grid.split(",")]
    scores = []
    for lam in grid:
        w, b = fit(x[~mask], y[~mask], lam, c)
        scores.append(top1(w, b, x[mask], y[mask]))
    best = max(range(len(grid)), key=lambda i: (scores[i], grid[i]))
    w, b = fit(x, y, grid[best], c)
    print(json.dumps({"l2": grid[best], "holdout_top1": scores, "weights": w.ravel().tolist(), "bias": b.tolist(),
                      "test_top1": top1(w, b, xt, yt)}))


if __name__ == "__main__":
    main()
