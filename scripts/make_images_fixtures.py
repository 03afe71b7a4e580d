"""Builds small ingest inputs — IDX (raw, gzip, broken), CIFAR-10/100 batches (good, wrong length), JPEG
folder trees (Pillow-encoded, several subsamplings, progressive, grayscale, a truncated and a garbage
file) — and the values ingest must produce, computed independently here: IDX/CIFAR by NumPy parsing,
JPEG pixels by libjpeg-turbo's own `djpeg`, resized pixels by a NumPy bilinear reference of the
documented policy (shorter side to S after the DCT scaling djpeg -scale 1/k also applies, centre crop).

Usage: make_images_fixtures.py OUTDIR
Writes OUTDIR/expected.safetensors.zst (safetensors + zstandard) and prints a JSON summary.
"""
import gzip
import io
import json
import os
import subprocess
import sys

import numpy as np
import safetensors.numpy
import zstandard
from PIL import Image


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def idx_bytes(arr):
    head = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return head + arr.astype(np.uint8).tobytes()


def read_pnm(data):
    """Binary P5/P6 → [H, W, C] uint8."""
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    pos += 1
    magic, w, h = fields[0], int(fields[1]), int(fields[2])
    c = 3 if magic == b"P6" else 1
    return np.frombuffer(data[pos:pos + w * h * c], np.uint8).reshape(h, w, c)


def djpeg(path, gray, scale=1):
    args = ["djpeg", "-pnm"] + (["-grayscale"] if gray else []) + (["-scale", f"1/{scale}"] if scale > 1 else []) + [path]
    img = read_pnm(subprocess.run(args, check=True, capture_output=True).stdout)
    # djpeg writes a PGM for a grayscale JPEG; RGB output of such a file repeats the gray channel.
    return np.repeat(img, 3, axis=2) if not gray and img.shape[2] == 1 else img


def dct_scale(w, h, s):
    for k in (8, 4, 2):
        if min(-(-w // k), -(-h // k)) >= s:
            return k
    return 1


def bilinear_center_crop(img, s):
    """img [H, W, C] → [C, S, S]: shorter side to S, centre crop, bilinear with aligned pixel centres."""
    h, w, c = img.shape
    scale = s / min(w, h)
    rw = s if w <= h else max(s, int(round(w * scale)))
    rh = s if h < w else max(s, int(round(h * scale)))

    def taps(n, resized, crop):
        o = np.arange(s, dtype=np.float64)
        src = np.clip((o + crop + 0.5) * (n / resized) - 0.5, 0, n - 1)
        lo = np.floor(src).astype(int)
        return lo, np.minimum(lo + 1, n - 1), src - lo

    x0, x1, fx = taps(w, rw, (rw - s) // 2)
    y0, y1, fy = taps(h, rh, (rh - s) // 2)
    f = img.astype(np.float64)
    top = f[y0][:, x0] + fx[None, :, None] * (f[y0][:, x1] - f[y0][:, x0])
    bottom = f[y1][:, x0] + fx[None, :, None] * (f[y1][:, x1] - f[y1][:, x0])
    out = top + fy[:, None, None] * (bottom - top)
    return np.clip(np.round(out), 0, 255).astype(np.uint8).transpose(2, 0, 1)


def smooth_image(rng, w, h, mode):
    """A smooth random picture (JPEG-friendly, so decoding differences would show)."""
    yy, xx = np.mgrid[0:h, 0:w]
    chans = []
    for _ in range(3):
        a, b, c = rng.uniform(0.05, 0.4, 3)
        chans.append(127 + 100 * np.sin(a * xx + b * yy + c * 7) + rng.normal(0, 12, (h, w)))
    img = Image.fromarray(np.clip(np.stack(chans, -1), 0, 255).astype(np.uint8), "RGB")
    return img.convert("L") if mode == "L" else img


def jpeg(img, **kw):
    buf = io.BytesIO()
    img.save(buf, "JPEG", **kw)
    return buf.getvalue()


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(11)
    exp = {}

    # ---- IDX ------------------------------------------------------------------------------
    images = rng.integers(0, 256, (7, 5, 4), dtype=np.uint8)
    labels = rng.integers(0, 10, 7, dtype=np.uint8)
    write(f"{out}/idx/images.idx", idx_bytes(images))
    write(f"{out}/idx/labels.idx", idx_bytes(labels))
    write(f"{out}/idx/images.idx.gz", gzip.compress(idx_bytes(images)))
    write(f"{out}/idx/labels.idx.gz", gzip.compress(idx_bytes(labels)))
    write(f"{out}/idx/bad_magic.idx", b"\x12\x34\x08\x03" + idx_bytes(images)[4:])
    write(f"{out}/idx/bad_type.idx", b"\x00\x00\x0b\x03" + idx_bytes(images)[4:])
    write(f"{out}/idx/short.idx", idx_bytes(images)[:-3])
    write(f"{out}/idx/labels6.idx", idx_bytes(labels[:6]))
    write(f"{out}/idx/broken.idx.gz", gzip.compress(idx_bytes(images))[:-20])
    exp["idx_images"] = images.reshape(7, 1, 5, 4)
    exp["idx_labels"] = labels.astype(np.int64)

    # ---- CIFAR ----------------------------------------------------------------------------
    def cifar10(n):
        lab = rng.integers(0, 10, n, dtype=np.uint8)
        px = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        return lab, px, np.concatenate([lab[:, None], px], 1).tobytes()
    l1, p1, b1 = cifar10(3)
    l2, p2, b2 = cifar10(2)
    write(f"{out}/cifar/data_batch_1.bin", b1)
    write(f"{out}/cifar/data_batch_2.bin", b2)
    write(f"{out}/cifar/bad_length.bin", b1 + b"\x00" * 5)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    write(f"{out}/cifar/batches.meta.txt", ("\n".join(names) + "\n\n").encode())
    write(f"{out}/cifar_badmeta/data_batch_1.bin", b1)
    write(f"{out}/cifar_badmeta/batches.meta.txt", b"cat\ndog\n")
    exp["c10_images"] = np.concatenate([p1, p2]).reshape(5, 3, 32, 32)
    exp["c10_labels"] = np.concatenate([l1, l2]).astype(np.int64)
    coarse = rng.integers(0, 20, 4, dtype=np.uint8)
    fine = rng.integers(0, 100, 4, dtype=np.uint8)
    p100 = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
    write(f"{out}/cifar/train100.bin", np.concatenate([coarse[:, None], fine[:, None], p100], 1).tobytes())
    exp["c100_images"] = p100.reshape(4, 3, 32, 32)
    exp["c100_fine"] = fine.astype(np.int64)
    exp["c100_coarse"] = coarse.astype(np.int64)

    # ---- JPEG tree: 3 classes (sorted: ant, bee, cat), one size 23×17, varied encodings ----------
    tree = f"{out}/tree"
    encodings = [dict(quality=90, subsampling=0), dict(quality=75, subsampling=1), dict(quality=85, subsampling=2),
                 dict(quality=80, progressive=True), dict(quality=95, subsampling=2, optimize=True)]
    files, tree_labels = [], []
    for cid, cls in enumerate(["ant", "bee", "cat"]):
        for k in range(3):
            mode = "L" if (cid, k) == (1, 2) else "RGB"
            path = f"{tree}/{cls}/img{k}.jpg"
            write(path, jpeg(smooth_image(rng, 23, 17, mode), **encodings[(cid * 3 + k) % len(encodings)]))
            files.append(path)
            tree_labels.append(cid)
    write(f"{tree}/cat/notes.txt", b"not an image")   # ignored: not a .jpg
    os.makedirs(f"{tree}/dog", exist_ok=True)            # an empty class still gets its id
    exp["tree_rgb"] = np.stack([djpeg(f, gray=False).transpose(2, 0, 1) for f in files])
    exp["tree_gray"] = np.stack([djpeg(f, gray=True).transpose(2, 0, 1) for f in files])
    exp["tree_labels"] = np.array(tree_labels, np.int64)

    # ---- flat folder of mixed sizes, resized with --size 16 ----------------------------------
    flat = f"{out}/flat"
    sizes = [(40, 30), (30, 41), (100, 80), (16, 16), (64, 200)]
    flat_files = []
    for k, (w, h) in enumerate(sizes):
        path = f"{flat}/p{k}.jpeg"
        write(path, jpeg(smooth_image(rng, w, h, "RGB"), quality=90))
        flat_files.append(path)
    resized = []
    for f, (w, h) in zip(flat_files, sizes):
        resized.append(bilinear_center_crop(djpeg(f, gray=False, scale=dct_scale(w, h, 16)), 16))
    exp["flat16_rgb"] = np.stack(resized)

    # ---- bad JPEGs -------------------------------------------------------------------------
    good = jpeg(smooth_image(rng, 96, 64, "RGB"), quality=90)
    write(f"{out}/bad/a/good0.jpg", good)
    write(f"{out}/bad/a/good1.jpg", jpeg(smooth_image(rng, 96, 64, "RGB"), quality=90))
    write(f"{out}/bad/b/truncated.jpg", good[: len(good) // 2])
    write(f"{out}/bad/b/truncated_late.jpg", good[: len(good) * 9 // 10])
    write(f"{out}/bad/b/good2.jpg", jpeg(smooth_image(rng, 96, 64, "RGB"), quality=90))
    write(f"{out}/bad/b/zgarbage.jpg", b"this is not a jpeg at all")
    exp["bad_kept_rgb"] = np.stack([djpeg(f"{out}/bad/{p}", gray=False).transpose(2, 0, 1)
                                    for p in ["a/good0.jpg", "a/good1.jpg", "b/good2.jpg"]])

    write(f"{out}/expected.safetensors.zst",
          zstandard.ZstdCompressor(write_checksum=True).compress(safetensors.numpy.save(
              {k: np.ascontiguousarray(v) for k, v in exp.items()})))
    print(json.dumps({k: list(v.shape) for k, v in exp.items()}))


if __name__ == "__main__":
    main()
