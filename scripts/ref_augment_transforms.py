#!/usr/bin/env python3
"""Independent NumPy reference for the augment transforms (float64, whole-array formulations).

Usage:
  ref_augment_transforms.py numpy  CASES.safetensors.zst OUT.safetensors.zst
  ref_augment_transforms.py pillow CASES.safetensors.zst OUT.safetensors.zst   (crop + resize with Pillow)

CASES holds u8 tensors input_<k> [C, H, W] and metadata "cases": a JSON list of
  {"input": "input_<k>", "output": "out_<k>", "size": S, "mode": "two-views" | "lab-split",
   "sample": {"box": {"top","left","height","width"}, "jitter": {...} | absent, "gray": bool,
              "blurSigma": float | absent, "flip": bool}}
OUT gets one u8 tensor per case: [C, S, S] (two-views) or [3, S, S] = L then a, b (lab-split).
"""
import json
import sys

import numpy as np
import safetensors.numpy
import zstandard


def load(path):
    raw = zstandard.ZstdDecompressor().decompress(open(path, "rb").read())
    header_len = int.from_bytes(raw[:8], "little")
    meta = json.loads(raw[8:8 + header_len]).get("__metadata__", {})
    return safetensors.numpy.load(raw), meta


def save(path, tensors):
    raw = safetensors.numpy.save(tensors)
    open(path, "wb").write(zstandard.ZstdCompressor(write_checksum=True, write_content_size=True).compress(raw))


# ---- crop + resize: Pillow's bilinear filter as a dense [out, in] matrix per axis --------------
def resample_matrix(n_in, n_out):
    scale = n_in / n_out
    fscale = max(scale, 1.0)
    m = np.zeros((n_out, n_in))
    for o in range(n_out):
        centre = (o + 0.5) * scale
        lo = max(int(centre - fscale + 0.5), 0)
        hi = min(int(centre + fscale + 0.5), n_in)
        xs = np.arange(lo, hi)
        w = np.clip(1.0 - np.abs((xs - centre + 0.5) / fscale), 0.0, None)
        if w.sum() > 0:
            m[o, lo:hi] = w / w.sum()
    return m


def crop_resize(img, box, size):
    t, l, h, w = box["top"], box["left"], box["height"], box["width"]
    patch = img[:, t:t + h, l:l + w]
    my, mx = resample_matrix(h, size), resample_matrix(w, size)
    return np.einsum("yi,cij,xj->cyx", my, patch, mx)


# ---- colour ------------------------------------------------------------------------------------
def luma(img):
    return 0.299 * img[0] + 0.587 * img[1] + 0.114 * img[2]


def hue_shift(img, shift):
    r, g, b = img
    v = img.max(axis=0)
    c = v - img.min(axis=0)
    safe = np.where(c > 0, c, 1.0)
    s = np.where(c > 0, c / np.where(v > 0, v, 1.0), 0.0)
    h = np.select([c == 0, v == r, v == g], [0.0, (g - b) / safe, 2.0 + (b - r) / safe], 4.0 + (r - g) / safe)
    h = np.mod(h / 6.0 + shift, 1.0)
    k = h * 6.0
    sector = np.floor(k)
    f = k - sector
    sector = sector.astype(int) % 6
    p = np.clip(v * (1 - s), 0, 1)
    q = np.clip(v * (1 - s * f), 0, 1)
    t = np.clip(v * (1 - s * (1 - f)), 0, 1)
    table = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = np.zeros_like(img)
    for i, (a, bb, cc) in enumerate(table):
        m = sector == i
        out[0][m], out[1][m], out[2][m] = a[m], bb[m], cc[m]
    return out


def jitter(img, j):
    rgb = img.shape[0] == 3
    for step in j["order"]:
        if step == 0 and j.get("brightness") is not None:
            img = np.clip(img * j["brightness"], 0, 1)
        elif step == 1 and j.get("contrast") is not None:
            m = luma(img).mean() if rgb else img.mean()
            f = j["contrast"]
            img = np.clip(f * img + (1 - f) * m, 0, 1)
        elif step == 2 and j.get("saturation") is not None and rgb:
            f = j["saturation"]
            img = np.clip(f * img + (1 - f) * luma(img)[None], 0, 1)
        elif step == 3 and j.get("hue") is not None and rgb:
            img = hue_shift(img, j["hue"])
    return img


def blur(img, sigma):
    side_k = lambda n: min((int(0.1 * n) // 2) * 2 + 1, 2 * max(n - 1, 0) + 1)
    out = img
    for axis, n in ((2, img.shape[2]), (1, img.shape[1])):
        k = side_k(n)
        if k <= 1:
            continue
        x = np.linspace(-(k - 1) / 2, (k - 1) / 2, k)
        w = np.exp(-0.5 * (x / sigma) ** 2)
        w /= w.sum()
        r = k // 2
        pad = [(0, 0)] * 3
        pad[axis] = (r, r)
        padded = np.pad(out, pad, mode="reflect")
        acc = np.zeros_like(out)
        for i in range(k):
            sl = [slice(None)] * 3
            sl[axis] = slice(i, i + n)
            acc += w[i] * padded[tuple(sl)]
        out = acc
    return out


def rgb_to_lab(img):
    lin = np.where(img <= 0.04045, img / 12.92, ((img + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124564, 0.3575761, 0.1804375],
                  [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = np.einsum("ij,jhw->ihw", m, lin) / np.array([0.95047, 1.0, 1.08883])[:, None, None]
    d = 6 / 29
    f = np.where(xyz > d ** 3, np.cbrt(xyz), xyz / (3 * d * d) + 4 / 29)
    return np.stack([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def quantize(x):
    return np.clip(np.floor(x * 255 + 0.5), 0, 255).astype(np.uint8)


def apply_sample(u8, sample, size, mode):
    img = u8.astype(np.float64) / 255
    img = crop_resize(img, sample["box"], size)
    if sample.get("jitter") is not None:
        img = jitter(img, sample["jitter"])
    if sample.get("gray") and img.shape[0] == 3:
        img = np.repeat(luma(img)[None], 3, axis=0)
    if sample.get("blurSigma") is not None:
        img = blur(img, sample["blurSigma"])
    if sample.get("flip"):
        img = img[:, :, ::-1]
    if mode == "lab-split":
        lab = rgb_to_lab(img)
        enc = np.stack([lab[0] * 255 / 100, lab[1] + 128, lab[2] + 128])
        return np.clip(np.floor(enc + 0.5), 0, 255).astype(np.uint8)
    return quantize(img)


def pillow_crop_resize(u8, box, size):
    from PIL import Image
    t, l, h, w = box["top"], box["left"], box["height"], box["width"]
    planes = []
    for c in range(u8.shape[0]):   # per channel in mode "L": the same filter as RGB, channel by channel
        im = Image.fromarray(np.ascontiguousarray(u8[c]), mode="L").crop((l, t, l + w, t + h))
        planes.append(np.asarray(im.resize((size, size), Image.BILINEAR)))
    return np.stack(planes).astype(np.uint8)


def main():
    which, src, dst = sys.argv[1:4]
    tensors, meta = load(src)
    out = {}
    for case in json.loads(meta["cases"]):
        u8 = tensors[case["input"]]
        if which == "pillow":
            out[case["output"]] = pillow_crop_resize(u8, case["sample"]["box"], case["size"])
        else:
            out[case["output"]] = apply_sample(u8, case["sample"], case["size"], case["mode"])
    save(dst, out)


if __name__ == "__main__":
    main()
