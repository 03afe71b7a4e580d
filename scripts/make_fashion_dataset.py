#!/usr/bin/env python3
"""Converts Fashion-MNIST IDX .gz files into a dataset file (the ingest contract) with NumPy only,
so that evaluation tests do not depend on the ingest stage.

    make_fashion_dataset.py IMAGES.gz LABELS.gz OUT.safetensors.zst [--limit N]

Writes `images` u8 [N,1,28,28], `labels` i64 [N], `index` i64 [N] (position in the source) and
metadata (stage, classes as a JSON list) as one zstd frame with content size and checksum.
"""
import argparse
import gzip
import json
import os

import numpy as np
import safetensors.numpy
import zstandard

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def read_idx(path, expected_dims):
    raw = gzip.open(path, "rb").read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise SystemExit(f"{path}: not an unsigned-byte IDX file")
    dims = raw[3]
    if dims != expected_dims:
        raise SystemExit(f"{path}: has {dims} dimensions, expected {expected_dims}")
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims)
    if data.size != int(np.prod(shape)):
        raise SystemExit(f"{path}: holds {data.size} bytes of data, header says {shape}")
    return data.reshape(shape)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("images")
    ap.add_argument("labels")
    ap.add_argument("out")
    ap.add_argument("--limit", type=int, default=0, help="keep only the first N items (0 = all)")
    a = ap.parse_args()
    images = read_idx(a.images, 3)
    labels = read_idx(a.labels, 1)
    if len(images) != len(labels):
        raise SystemExit(f"{a.labels}: {len(labels)} labels for {len(images)} images")
    n = len(images) if a.limit <= 0 else min(a.limit, len(images))
    tensors = {
        "images": np.ascontiguousarray(images[:n, None, :, :]),
        "labels": labels[:n].astype(np.int64),
        "index": np.arange(n, dtype=np.int64),
    }
    meta = {"stage": "make_fashion_dataset", "classes": json.dumps(CLASSES), "source": os.path.basename(a.images)}
    blob = safetensors.numpy.save(tensors, metadata=meta)
    frame = zstandard.ZstdCompressor(level=3, write_checksum=True, write_content_size=True).compress(blob)
    tmp = a.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(frame)
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
