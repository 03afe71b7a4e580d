#!/usr/bin/env python3
"""Independent NumPy reference for the contrastive losses (SPEC §1–2).

Usage: ref_contrastive_losses.py CASE.safetensors.zst ...
Each case file holds the inputs of one objective × sampler pairing; its metadata names the
objective, sampler, temperature, step and the sampler's parameters (JSON: its checkpoint identity,
values as strings). Random draws made by the Swift side (IR negatives, MoCHi pairs/α/β, the subset
sampler's chosen candidates) are passed in explicitly; this script checks that they are legal (drawn
from the ranks SPEC §2 defines, computed here with a full sort; a subset as large as its ring or band,
distinct, never an excluded candidate) and replays them.

Loss: computed in float64 straight from the SPEC formulas. Gradients: central finite differences
of that loss w.r.t. every input embedding entry (the rank selection is computed once from the
unperturbed inputs and held fixed, as its gradient is zero almost everywhere).

Prints JSON {case_path: {"loss": float, "grads": {name: [floats]}}} on stdout; exits 1 with a
message on any illegal draw.
"""
import json
import math
import sys

import numpy as np
import zstandard
from safetensors.numpy import load


def floor_rank(x):
    return int(math.floor(x + 1e-9))


def kept_ranks(sampler, cfg, n, step, steps_per_epoch):
    """The half-open rank range [lo, hi) kept among n candidates, or None for all (a subset: the
    range of the ring or band it mirrors, whose size is all that matters)."""
    if sampler == "subset":
        sampler = cfg["subset_of"]
    if sampler == "ring":
        if cfg["anneal"] == "true":
            span = float(cfg["anneal_epochs"]) * max(1, steps_per_epoch)
            outer = 1 + (float(cfg["ring_outer"]) - 1) * min(1.0, max(0, step) / span)
        else:
            outer = float(cfg["ring_outer"])
        hi = min(n, floor_rank(outer * n))
        return min(hi, floor_rank(float(cfg["ring_inner"]) * hi)), hi
    if sampler == "band":
        hi = min(n, floor_rank(float(cfg["band_hi"]) / 100 * n))
        return min(hi, floor_rank(float(cfg["band_lo"]) / 100 * n)), hi
    return None


def check_subset(chosen, r, pool, who):
    """A subset sampler's draw: as many as the mirrored range keeps, distinct, all from the pool."""
    chosen = [int(c) for c in chosen]
    if len(chosen) != r[1] - r[0]:
        fail(f"{who}: subset of {len(chosen)}, its ring/band keeps {r[1] - r[0]}")
    if len(set(chosen)) != len(chosen) or not set(chosen) <= set(int(p) for p in pool):
        fail(f"{who}: subset {chosen[:5]}… repeats a candidate or takes an excluded one")
    return np.asarray(chosen)


def ranked(scores, candidates):
    """Candidates ordered hardest first: descending score, ties by ascending candidate index."""
    candidates = np.asarray(candidates)
    order = np.lexsort((candidates, -scores[candidates]))
    return candidates[order]


def row_loss(form, pos, negs, tau, cfg):
    """One query's loss from its positive logit and negative logits (all already divided by τ)."""
    if form == "softmax":
        allv = np.concatenate([[pos], negs])
        m = allv.max()
        return m + math.log(np.exp(allv - m).sum()) - pos
    beta = 0.0 if form == "dcl" else float(cfg["hcl_beta"])
    tp = float(cfg["tau_plus"])
    n = len(negs)
    p = math.exp(pos)
    e = np.exp(negs)
    w = np.exp(beta * negs)
    reweighted = (w * e).sum() / w.mean()
    ng = (-tp * n * p + reweighted) / (1 - tp)
    ng = max(ng, n * math.exp(-1 / tau))
    return -math.log(p / (p + ng))


def form_of(sampler):
    return sampler if sampler in ("hcl", "dcl") else "softmax"


def normalise(v):
    return v / np.linalg.norm(v)


def moco_loss(t, meta, cfg, plan):
    q, kp, queue = t["q"], t["kpos"], t["queue"]
    tau = float(meta["tau"])
    total = 0.0
    for i in range(q.shape[0]):
        s = queue @ q[i]
        negs = s[plan["chosen"][i]]
        extra = [q[i] @ h for h in plan["synth"][i]]
        total += row_loss(form_of(meta["sampler"]), (q[i] @ kp[i]) / tau, np.concatenate([negs, extra]) / tau, tau, cfg)
    return total / q.shape[0]


def moco_plan(t, meta, cfg):
    q, queue = t["q"], t["queue"]
    K = queue.shape[0]
    step, spe = int(meta["step"]), int(meta["stepsPerEpoch"])
    r = kept_ranks(meta["sampler"], cfg, K, step, spe)
    chosen, synth = [], []
    for i in range(q.shape[0]):
        s = queue @ q[i]
        order = ranked(s, np.arange(K))
        if meta["sampler"] == "subset":
            chosen.append(check_subset(t["chosen"][i], r, range(K), f"moco query {i}"))
        else:
            chosen.append(order if r is None else order[r[0]:r[1]])
        hs = []
        if "mochi_pairs" in t:
            hard = set(order[: int(cfg["mochi_n"])].tolist())
            for (a, b), al in zip(t["mochi_pairs"][i], t["mochi_alpha"][i]):
                if a not in hard or b not in hard or a == b:
                    fail(f"mochi pair ({a}, {b}) of query {i} is not two distinct entries of its {cfg['mochi_n']} hardest")
                hs.append(normalise(al * queue[a] + (1 - al) * queue[b]))
            for j, be in zip(t["mochi_mix"][i], t["mochi_beta"][i]):
                if j not in hard or not (0 <= be < 0.5):
                    fail(f"mochi query mix ({j}, {be}) of query {i} is illegal")
                hs.append(normalise(be * q[i] + (1 - be) * queue[j]))
        synth.append(hs)
    return {"chosen": chosen, "synth": synth}


def simclr_plan(t, meta, cfg):
    z = np.concatenate([t["z1"], t["z2"]])
    V, B = z.shape[0], z.shape[0] // 2
    r = kept_ranks(meta["sampler"], cfg, V - 2, int(meta["step"]), int(meta["stepsPerEpoch"]))
    chosen = []
    for a in range(V):
        s = z @ z[a]
        pool = [b for b in range(V) if b != a and b != (a + B) % V]
        if meta["sampler"] == "subset":
            chosen.append(check_subset(t["chosen"][a], r, pool, f"simclr anchor {a}"))
            continue
        order = ranked(s, pool)
        chosen.append(order if r is None else order[r[0]:r[1]])
    return {"chosen": chosen}


def simclr_loss(t, meta, cfg, plan):
    z = np.concatenate([t["z1"], t["z2"]])
    V, B = z.shape[0], z.shape[0] // 2
    tau = float(meta["tau"])
    total = 0.0
    for a in range(V):
        s = z @ z[a] / tau
        total += row_loss(form_of(meta["sampler"]), s[(a + B) % V], s[plan["chosen"][a]], tau, cfg)
    return total / V


def ir_check(f, bank, idx, drawn, meta, cfg, k, kept=None):
    """Checks the Swift draws against the rule for this sampler."""
    N = bank.shape[0]
    r = kept_ranks(meta["sampler"], cfg, N - 1, int(meta["step"]), int(meta["stepsPerEpoch"]))
    expect_m = k if r is None else max(1, k - 1)
    if drawn.shape[1] != expect_m:
        fail(f"IR drew {drawn.shape[1]} negatives per query, expected {expect_m}")
    for i in range(f.shape[0]):
        if idx[i] in drawn[i]:
            fail(f"IR query {i} drew its own bank entry {idx[i]}")
        if r is not None and meta["sampler"] == "subset":
            if kept is None or kept[i] != r[1] - r[0]:
                fail(f"IR query {i} drew from a subset of {None if kept is None else kept[i]}, its ring/band keeps {r[1] - r[0]}")
            if len(set(drawn[i].tolist())) > r[1] - r[0]:
                fail(f"IR query {i} drew from more than the subset's {r[1] - r[0]} candidates")
        elif r is not None:
            s = bank @ f[i]
            order = ranked(s, [j for j in range(N) if j != idx[i]])
            kept = set(order[r[0]:r[1]].tolist())
            bad = [j for j in drawn[i] if j not in kept]
            if bad:
                fail(f"IR query {i} drew {bad[:3]} outside ranks [{r[0]}, {r[1]})")


def ir_loss_of(f, bank, idx, drawn, meta, cfg):
    tau = float(meta["tau"])
    total = 0.0
    for i in range(f.shape[0]):
        s = bank @ f[i] / tau
        total += row_loss(form_of(meta["sampler"]), s[idx[i]], s[drawn[i]], tau, cfg)
    return total / f.shape[0]


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def finite_difference(loss, arrays, names, eps=1e-6):
    grads = {}
    for name in names:
        x = arrays[name]
        g = np.zeros_like(x)
        flat, gflat = x.reshape(-1), g.reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + eps
            up = loss()
            flat[j] = old - eps
            down = loss()
            flat[j] = old
            gflat[j] = (up - down) / (2 * eps)
        grads[name] = g.reshape(-1).tolist()
    return grads


def run_case(path):
    raw = zstandard.ZstdDecompressor().decompress(open(path, "rb").read())
    t = {k: (v.astype(np.float64) if v.dtype.kind == "f" else v.astype(np.int64)) for k, v in load(raw).items()}
    meta = json.loads(t_meta(raw)["case"])
    cfg = meta["config"]
    obj = meta["objective"]
    if obj == "moco":
        plan = moco_plan(t, meta, cfg)
        f = lambda: moco_loss(t, meta, cfg, plan)
        names = ["q"]
    elif obj == "simclr":
        plan = simclr_plan(t, meta, cfg)
        f = lambda: simclr_loss(t, meta, cfg, plan)
        names = ["z1", "z2"]
    elif obj == "ir":
        k = int(meta["k"])
        ir_check(t["f"], t["bank"], t["indices"], t["drawn"], meta, cfg, k, t.get("kept"))
        f = lambda: ir_loss_of(t["f"], t["bank"], t["indices"], t["drawn"], meta, cfg)
        names = ["f"]
    elif obj == "cmc":
        k = int(meta["k"])
        # L features against the ab bank, ab features against the L bank.
        ir_check(t["fL"], t["bankAB"], t["indices"], t["drawnL"], meta, cfg, k, t.get("keptL"))
        ir_check(t["fAB"], t["bankL"], t["indices"], t["drawnAB"], meta, cfg, k, t.get("keptAB"))
        f = lambda: (ir_loss_of(t["fL"], t["bankAB"], t["indices"], t["drawnL"], meta, cfg)
                     + ir_loss_of(t["fAB"], t["bankL"], t["indices"], t["drawnAB"], meta, cfg))
        names = ["fL", "fAB"]
    else:
        fail(f"{path}: unknown objective {obj}")
    return {"loss": f(), "grads": finite_difference(f, t, names)}


def t_meta(raw):
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8:8 + n]).get("__metadata__", {})


if __name__ == "__main__":
    print(json.dumps({p: run_case(p) for p in sys.argv[1:]}))
