#!/usr/bin/env python3
"""How often DCL's debiased negative term would sit at its floor on a run's embedding, estimated from its checkpoints.

    python3 scripts/debias_clamp.py RUN [--tau 0.1] [--tau-plus 0.1] [--epochs 1,2,5,8,10]

RUN is a pretrain run folder (runs/STUDY/ROW-seedK) with ckpt/epoch-*.safetensors.zst and log.csv.
The debiased estimate of the negative term (Chuang et al. 2020, eq. 5) is
    Ng = (Σ_j e^{s_j/τ} − τ⁺·N·e^{s⁺/τ}) / (1 − τ⁺),  floored at N·e^{−1/τ};
on the floor the negatives get no gradient at all (HCLSampler.debiased). The checkpoint's MoCo queue
stands in for the queries (each key against the other N − 1, rescaled to N) and the positive cosine
comes from the log's alignment, ‖q − k‖² = 2 − 2·s⁺ on average — an estimate, not the run's own rows.
It is DCL's form (HCL with β = 0): for any run's embedding it says whether DCL's clamp would bite there.
Needs numpy and zstandard; the checkpoints are not committed, so this runs where runs/ survives.
"""
import argparse
import csv
import json
import struct
import sys

import numpy as np
import zstandard


def queue_of(path):
    """The [N, d] queue tensor of a checkpoint (safetensors inside zstd)."""
    with open(path, "rb") as f:
        raw = zstandard.ZstdDecompressor().stream_reader(f).read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    if "queue" not in header:
        sys.exit(f"debias_clamp: {path}: no queue tensor (not a MoCo checkpoint)")
    t = header["queue"]
    a, b = t["data_offsets"]
    if t["dtype"] != "F32":
        sys.exit(f"debias_clamp: {path}: queue is {t['dtype']}, expected F32")
    return np.frombuffer(raw[8 + n + a:8 + n + b], dtype=np.float32).reshape(t["shape"]).astype(np.float64)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("run")
    p.add_argument("--tau", type=float, default=0.1)
    p.add_argument("--tau-plus", type=float, default=0.1)
    p.add_argument("--epochs", default="1,2,5,8,10")
    args = p.parse_args()
    try:
        log = {int(r["epoch"]): r for r in csv.DictReader(open(f"{args.run}/log.csv"))}
    except OSError as e:
        sys.exit(f"debias_clamp: {e.filename}: {e.strerror}")
    tau, tp = args.tau, args.tau_plus
    print("| epoch | s⁺ (from align) | τ⁺·N·e^{s⁺/τ} | Σ e^{s/τ}: p10 / median / p90 | rows on the floor |")
    print("|---|---|---|---|---|")
    for e in (int(x) for x in args.epochs.split(",")):
        if e not in log:
            sys.exit(f"debias_clamp: {args.run}/log.csv: no epoch {e}")
        q = queue_of(f"{args.run}/ckpt/epoch-{e:03d}.safetensors.zst")
        n = q.shape[0]
        s = q @ q.T
        np.fill_diagonal(s, -np.inf)
        negatives = np.exp(s / tau).sum(axis=1) * n / (n - 1)
        positive = 1 - float(log[e]["align"]) / 2
        debias = tp * n * np.exp(positive / tau)
        clamped = (negatives - debias) / (1 - tp) < n * np.exp(-1 / tau)
        p10, p50, p90 = np.percentile(negatives, [10, 50, 90])
        print(f"| {e} | {positive:.3f} | {debias:.3g} | {p10:.3g} / {p50:.3g} / {p90:.3g} | {100 * clamped.mean():.0f} % |")


if __name__ == "__main__":
    main()
