#!/usr/bin/env python3
"""Independent NumPy reference for the hardness statistics (per query: a full lexsort, then buckets by
their start ranks floor(b*k/100)). Prints JSON on stdout. Meant for small data (it holds Q x K).

usage: ref_analysis_hardness.py --queries F --candidates F [--candidate-tensor NAME] [--exclude-self]
                                [--consistency-percent X] [--hierarchy H.json] [--histogram-bins B]
"""
import argparse, json, math
import numpy as np
import safetensors.numpy
import zstandard


def load(path):
    return safetensors.numpy.load(zstandard.ZstdDecompressor().decompress(open(path, "rb").read()))


def embeddings(t, name):
    if name is None:
        name = next(n for n in ("projection", "queue", "bank") if n in t)
    lab = "labels" if name == "projection" else name + "_label"
    idx = "index" if name == "projection" else name + "_index"
    n = t[name].shape[0]
    return (t[name].astype(np.float32), t.get(lab, np.full(n, -1)).astype(np.int64),
            t.get(idx, np.arange(n)).astype(np.int64))


def lca_table(path):
    h = json.load(open(path))
    parents = h["parents"]
    def chain(c):
        out = [c]
        while out[-1] in parents:
            out.append(parents[out[-1]])
        return out
    chains = [chain(c) for c in h["classes"]]
    C = len(chains)
    table = np.zeros((C, C))
    for a in range(C):
        for b in range(C):
            common = [n for n in chains[a] if n in chains[b]][0]   # deepest shared ancestor
            table[a, b] = len(chains[a]) - 1 - chains[a].index(common)
    return table


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", required=True)
    ap.add_argument("--candidates", required=True)
    ap.add_argument("--candidate-tensor")
    ap.add_argument("--exclude-self", action="store_true")
    ap.add_argument("--consistency-percent", type=float, default=5.0)
    ap.add_argument("--hierarchy")
    ap.add_argument("--histogram-bins", type=int, default=200)
    a = ap.parse_args()
    Q, ql, qi = embeddings(load(a.queries), None)
    C, cl, ci = embeddings(load(a.candidates), a.candidate_tensor)
    K = C.shape[0]
    S = (Q.astype(np.float64) @ C.astype(np.float64).T).astype(np.float32)
    lca = lca_table(a.hierarchy) if a.hierarchy else None
    x = a.consistency_percent / 100
    coarse = [[] for _ in range(100)]; fine = [[] for _ in range(10)]
    coarse_lca = [[] for _ in range(100)]; fine_lca = [[] for _ in range(10)]
    edges = np.zeros(101); fine_edges = np.zeros(11)
    hard = np.zeros(K, np.int64); easy = np.zeros(K, np.int64); eligible = np.zeros(K, np.int64)
    fine_bins = a.histogram_bins * 100
    hist = np.zeros(fine_bins, np.int64)
    probs = []
    for q in range(Q.shape[0]):
        pos = np.arange(K)
        if a.exclude_self:
            pos = pos[ci != qi[q]]
        eligible[pos] += 1
        s = S[q, pos]
        b = np.floor((s + np.float32(1)) * np.float32(fine_bins / 2)).astype(np.int64)
        np.add.at(hist, np.clip(b, 0, fine_bins - 1), 1)
        order = pos[np.lexsort((pos, -s.astype(np.float64)))]      # hardest first, ties by position
        k = len(order)
        ssorted = S[q, order]
        starts = (np.arange(101) * k) // 100
        fstarts = (np.arange(11) * k) // 1000
        edges += ssorted[np.minimum(starts, k - 1)]
        fine_edges += ssorted[np.minimum(fstarts, k - 1)]
        m = int(math.floor(x * k))
        probs.append(m / k)
        hard[order[:m]] += 1
        if m > 0:
            easy[order[k - m:]] += 1
        if ql[q] < 0:
            continue
        labs = cl[order]
        for lists, lcas, st, nb in ((coarse, coarse_lca, starts, 100), (fine, fine_lca, fstarts, 10)):
            for bkt in range(nb):
                seg = labs[st[bkt]:st[bkt + 1]]
                seg = seg[seg >= 0]
                if len(seg) == 0:
                    continue
                lists[bkt].append(np.mean(seg == ql[q]))
                if lca is not None:
                    lcas[bkt].append(np.mean(lca[ql[q], seg]))
    mean = lambda v: [float(np.mean(x)) if len(x) else None for x in v]
    p = np.array(probs)
    null_var = float(np.sum(p * (1 - p)) * eligible.mean() / len(p))
    out = {
        "coarse_same_class": mean(coarse), "fine_same_class": mean(fine),
        "coarse_lca_depth": mean(coarse_lca), "fine_lca_depth": mean(fine_lca),
        "coarse_edge_similarity": (edges / Q.shape[0]).tolist(), "fine_edge_similarity": (fine_edges / Q.shape[0]).tolist(),
        "hard_count": hard.tolist(), "easy_count": easy.tolist(), "eligible_count": eligible.tolist(),
        "histogram_counts": hist.reshape(a.histogram_bins, 100).sum(1).tolist(),
        "hard_dispersion_ratio": float(hard.var() / null_var), "easy_dispersion_ratio": float(easy.var() / null_var),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
