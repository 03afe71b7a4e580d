#!/usr/bin/env python3
"""An alternative augment stage in Python + NumPy (safetensors and zstandard for file I/O only).

It honours the built-in stage's command line and file contract (docs/augment.md), so the pipeline can run
it instead:  make AUGMENT="python3 examples/augment_numpy.py" ...

    augment_numpy.py --dataset data.safetensors.zst --recipe mocov2 --epoch E --seed S --out views.safetensors.zst
                     [--size S] [--threads T] [--crop-scale-min X ...]

Recipes: mocov2, simclr, none (cmc is left to the built-in stage). Randomness comes from NumPy's PCG64
seeded with (seed, epoch), so its views differ from the Swift stage's, but are reproducible run to run.
Errors are one line on stderr and exit status 1, and nothing is written.
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
import safetensors.numpy
import zstandard

RECIPES = {
    "mocov2": dict(crop=True, crop_scale_min=0.2, crop_scale_max=1.0, flip_p=0.5, jitter_p=0.8, brightness=0.4,
                   contrast=0.4, saturation=0.4, hue=0.1, gray_p=0.2, blur_p=0.5, blur_sigma_min=0.1, blur_sigma_max=2.0),
    "simclr": dict(crop=True, crop_scale_min=0.08, crop_scale_max=1.0, flip_p=0.5, jitter_p=0.8, brightness=0.8,
                   contrast=0.8, saturation=0.8, hue=0.2, gray_p=0.2, blur_p=0.5, blur_sigma_min=0.1, blur_sigma_max=2.0),
    "none": dict(crop=False, crop_scale_min=1.0, crop_scale_max=1.0, flip_p=0.0, jitter_p=0.0, brightness=0.0,
                 contrast=0.0, saturation=0.0, hue=0.0, gray_p=0.0, blur_p=0.0, blur_sigma_min=0.1, blur_sigma_max=2.0),
}
FLOAT_FLAGS = ["crop_scale_min", "crop_scale_max", "crop_ratio_min", "crop_ratio_max", "flip_p", "jitter_p",
               "brightness", "contrast", "saturation", "hue", "gray_p", "blur_p", "blur_sigma_min", "blur_sigma_max"]


class StageError(Exception):
    pass


def read_tensors(path):
    if not os.path.isfile(path):
        raise StageError(f"{path}: no such file")
    try:
        raw = zstandard.ZstdDecompressor().decompress(open(path, "rb").read())
        header_len = int.from_bytes(raw[:8], "little")
        meta = json.loads(raw[8:8 + header_len]).get("__metadata__", {})
        return safetensors.numpy.load(raw), meta
    except Exception as e:  # any decoding fault is the file's
        raise StageError(f"{path}: not a readable .safetensors.zst file ({e})")


def write_tensors(path, tensors, metadata):
    raw = safetensors.numpy.save(tensors, metadata=metadata)
    data = zstandard.ZstdCompressor(write_checksum=True, write_content_size=True).compress(raw)
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)), f".{os.path.basename(path)}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# ---- transforms on float32 [C, H, W] images in [0, 1] ------------------------------------------
def crop_box(rng, h, w, p):
    area = h * w
    lo, hi = np.log(p["crop_ratio_min"]), np.log(p["crop_ratio_max"])
    for _ in range(10):
        target = area * rng.uniform(p["crop_scale_min"], p["crop_scale_max"])
        aspect = np.exp(rng.uniform(lo, hi))
        cw, ch = int(round(np.sqrt(target * aspect))), int(round(np.sqrt(target / aspect)))
        if 0 < cw <= w and 0 < ch <= h:
            return int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1)), ch, cw
    ratio = w / h
    ch, cw = h, w
    if ratio < p["crop_ratio_min"]:
        ch = int(round(w / p["crop_ratio_min"]))
    elif ratio > p["crop_ratio_max"]:
        cw = int(round(h * p["crop_ratio_max"]))
    return (h - ch) // 2, (w - cw) // 2, ch, cw


_weights = {}


def triangle_weights(n_in, n_out):
    """Antialiased bilinear (Pillow's) resampling matrix [n_out, n_in], cached per size pair."""
    key = (n_in, n_out)
    if key not in _weights:
        scale = n_in / n_out
        support = max(scale, 1.0)
        centres = (np.arange(n_out) + 0.5) * scale
        x = np.arange(n_in) + 0.5
        m = np.clip(1 - np.abs(x[None, :] - centres[:, None]) / support, 0, None)
        _weights[key] = (m / m.sum(axis=1, keepdims=True)).astype(np.float32)
    return _weights[key]


def luma(img):
    return 0.299 * img[0] + 0.587 * img[1] + 0.114 * img[2]


def hue_shift(img, shift):
    r, g, b = img
    v, c = img.max(0), img.max(0) - img.min(0)
    inv = np.where(c > 0, 1 / np.where(c > 0, c, 1), 0)
    s = np.where(v > 0, c / np.where(v > 0, v, 1), 0)
    h = np.where(v == r, (g - b) * inv, np.where(v == g, 2 + (b - r) * inv, 4 + (r - g) * inv))
    h6 = np.mod(h / 6 + shift, 1.0) * 6
    out = [v - v * s * np.clip(np.minimum(k, 4 - k), 0, 1) for k in (np.mod(m + h6, 6) for m in (5, 3, 1))]
    return np.stack(out)


def blur(img, sigma):
    k = (int(0.1 * img.shape[1]) // 2) * 2 + 1
    if k <= 1:
        return img
    x = np.arange(k) - (k - 1) / 2
    w = np.exp(-0.5 * (x / sigma) ** 2)
    w = (w / w.sum()).astype(np.float32)
    r = k // 2
    p = np.pad(img, ((0, 0), (0, 0), (r, r)), mode="reflect")
    img = sum(w[i] * p[:, :, i:i + img.shape[2]] for i in range(k))
    p = np.pad(img, ((0, 0), (r, r), (0, 0)), mode="reflect")
    return sum(w[i] * p[:, i:i + img.shape[1], :] for i in range(k))


def view(rng, img, p, size):
    c, h, w = img.shape
    t, l, ch, cw = crop_box(rng, h, w, p) if p["crop"] else (0, 0, h, w)
    out = np.einsum("yi,cij,xj->cyx", triangle_weights(ch, size), img[:, t:t + ch, l:l + cw], triangle_weights(cw, size))
    if rng.uniform() < p["jitter_p"]:
        factors = {}
        for name in ("brightness", "contrast", "saturation"):
            if p[name] > 0:
                factors[name] = rng.uniform(max(0, 1 - p[name]), 1 + p[name])
        if p["hue"] > 0:
            factors["hue"] = rng.uniform(-p["hue"], p["hue"])
        for step in rng.permutation(4):
            if step == 0 and "brightness" in factors:
                out = np.clip(out * factors["brightness"], 0, 1)
            elif step == 1 and "contrast" in factors:
                m = luma(out).mean() if c == 3 else out.mean()
                out = np.clip(factors["contrast"] * out + (1 - factors["contrast"]) * m, 0, 1)
            elif step == 2 and "saturation" in factors and c == 3:
                out = np.clip(factors["saturation"] * out + (1 - factors["saturation"]) * luma(out), 0, 1)
            elif step == 3 and "hue" in factors and c == 3:
                out = hue_shift(out, factors["hue"])
    if rng.uniform() < p["gray_p"] and c == 3:
        out = np.repeat(luma(out)[None], 3, axis=0)
    if rng.uniform() < p["blur_p"]:
        out = blur(out, rng.uniform(p["blur_sigma_min"], p["blur_sigma_max"]))
    if rng.uniform() < p["flip_p"]:
        out = out[:, :, ::-1]
    return np.clip(np.floor(out * 255 + 0.5), 0, 255).astype(np.uint8)


# ---- the stage -----------------------------------------------------------------------------------
def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--recipe", default="mocov2")
    ap.add_argument("--epoch", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", type=int)
    ap.add_argument("--threads", type=int)          # accepted for compatibility; this stage is single-threaded
    ap.add_argument("--blas-core")                  # accepted for compatibility
    for flag in FLOAT_FLAGS:
        ap.add_argument("--" + flag.replace("_", "-"), type=float)
    return ap.parse_args(argv)


def resolve(args):
    if args.recipe not in RECIPES:
        raise StageError(f"recipe '{args.recipe}' is not supported here (supported: {', '.join(RECIPES)})")
    p = dict(RECIPES[args.recipe], crop_ratio_min=3 / 4, crop_ratio_max=4 / 3)
    for flag in FLOAT_FLAGS:
        value = getattr(args, flag)
        if value is not None:
            p[flag] = value
            p["crop"] = p["crop"] or flag.startswith("crop")
    for flag in ("flip_p", "jitter_p", "gray_p", "blur_p"):
        if not 0 <= p[flag] <= 1:
            raise StageError(f"--{flag.replace('_', '-')} must be a probability in [0, 1] (got {p[flag]})")
    if not 0 < p["crop_scale_min"] <= p["crop_scale_max"] <= 1:
        raise StageError("crop scale range must satisfy 0 < --crop-scale-min <= --crop-scale-max <= 1")
    if not 0 < p["crop_ratio_min"] <= p["crop_ratio_max"]:
        raise StageError("crop ratio range must satisfy 0 < --crop-ratio-min <= --crop-ratio-max")
    if not 0 < p["blur_sigma_min"] <= p["blur_sigma_max"]:
        raise StageError("blur sigma range must satisfy 0 < --blur-sigma-min <= --blur-sigma-max")
    if not 0 <= p["hue"] <= 0.5 or min(p["brightness"], p["contrast"], p["saturation"]) < 0:
        raise StageError("jitter strengths must be >= 0 and --hue at most 0.5")
    if args.size is not None and args.size < 1:
        raise StageError(f"--size must be at least 1 (got {args.size})")
    return p


def run(args):
    p = resolve(args)
    tensors, meta = read_tensors(args.dataset)
    for name in ("images", "labels", "index"):
        if name not in tensors:
            raise StageError(f"{args.dataset}: has no tensor '{name}'")
    images = tensors["images"]
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1] not in (1, 3):
        raise StageError(f"{args.dataset}: tensor 'images' is {images.dtype} {list(images.shape)}, expected uint8 [N, 1 or 3, H, W]")
    n, c, h, w = images.shape
    labels, index = tensors["labels"], tensors["index"]
    if labels.dtype != np.int64 or labels.shape != (n,) or index.dtype != np.int64 or index.shape != (n,):
        raise StageError(f"{args.dataset}: 'labels' and 'index' must be int64 [{n}]")
    if c == 1:
        p.update(saturation=0.0, hue=0.0, gray_p=0.0)
    size = args.size or max(h, w)
    rng = np.random.default_rng([args.seed, args.epoch])
    views = np.zeros((2, n, c, size, size), dtype=np.uint8)
    for i in range(n):
        img = images[i].astype(np.float32) / 255
        views[0, i] = view(rng, img, p, size)
        views[1, i] = view(rng, img, p, size)
    params = {k: str(v) for k, v in p.items()}
    params.update(recipe=args.recipe, epoch=str(args.epoch), size=str(size), implementation="examples/augment_numpy.py")
    digest = hashlib.sha256(open(args.dataset, "rb").read()).hexdigest()
    metadata = {"stage": "augment", "version": "0.1.0", "seed": str(args.seed), "recipe": args.recipe,
                "epoch": str(args.epoch), "parameters": json.dumps(params, sort_keys=True),
                "inputs": json.dumps({"dataset": digest}, sort_keys=True)}
    if "classes" in meta:
        metadata["classes"] = meta["classes"]
    write_tensors(args.out, {"view1": views[0], "view2": views[1], "index": index, "labels": labels}, metadata)


def main():
    args = parse(sys.argv[1:])
    try:
        run(args)
    except StageError as e:
        print(f"augment_numpy: error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
