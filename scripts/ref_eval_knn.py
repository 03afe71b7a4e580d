#!/usr/bin/env python3
"""Independent NumPy reference for the weighted kNN classifier (SPEC §4).

    ref_eval_knn.py TRAIN TEST --k K --tau T [--feature projection|backbone] [--neighbours]

Reads two features files (.safetensors.zst), L2-normalises the chosen feature, and for every test
item takes the k train items of largest cosine similarity, ties going to the lower train index
(np.lexsort on (index, -similarity)); votes exp(s/tau) are summed per class in rank order with
Python floats (math.exp), and classes are ranked by score, ties to the lower class (stable sort).
Prints JSON: top1, top5 (percent), predictions, ranking (top min(5, C) classes) and, with
--neighbours, the neighbour indices by rank. Holds the whole N_test x N_train matrix: meant for small
test problems only.
"""
import argparse
import json
import math

import numpy as np
import safetensors.numpy
import zstandard


def load(path):
    return safetensors.numpy.load(zstandard.ZstdDecompressor().decompress(open(path, "rb").read()))


def unit_rows(x):
    x = x.astype(np.float32)
    norm = np.sqrt((x.astype(np.float64) ** 2).sum(axis=1))
    return x / np.maximum(norm, 1e-12).astype(np.float32)[:, None]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train")
    ap.add_argument("test")
    ap.add_argument("--k", type=int, default=200)
    ap.add_argument("--tau", type=float, default=0.1)
    ap.add_argument("--feature", default="projection")
    ap.add_argument("--neighbours", action="store_true")
    a = ap.parse_args()

    tr, te = load(a.train), load(a.test)
    xtr, xte = unit_rows(tr[a.feature]), unit_rows(te[a.feature])
    ytr, yte = tr["labels"].astype(np.int64), te["labels"].astype(np.int64)
    classes = int(max(ytr.max(), yte.max())) + 1
    k = min(a.k, len(ytr))
    ranked = min(5, classes)

    sims = xte @ xtr.T                      # [n_test, n_train] float32
    order = np.arange(len(ytr))
    predictions, ranking, neighbours = [], [], []
    hit1 = hit5 = 0
    for i in range(len(yte)):
        s = sims[i]
        nearest = np.lexsort((order, -s))[:k]   # primary key -s, ties by train index
        scores = [0.0] * classes
        for j in nearest:
            scores[int(ytr[j])] += math.exp(float(s[j]) / a.tau)
        best = sorted(range(classes), key=lambda c: -scores[c])[:ranked]   # stable: ties keep lower class
        predictions.append(best[0])
        ranking.append(best)
        if a.neighbours:
            neighbours.append([int(j) for j in nearest])
        hit1 += best[0] == yte[i]
        hit5 += int(yte[i]) in best
    n = len(yte)
    out = {"top1": round(100 * hit1 / n * 10000) / 10000, "top5": round(100 * hit5 / n * 10000) / 10000,
           "k_used": k, "classes": classes, "predictions": predictions, "ranking": ranking}
    if a.neighbours:
        out["neighbours"] = neighbours
    print(json.dumps(out))


if __name__ == "__main__":
    main()
