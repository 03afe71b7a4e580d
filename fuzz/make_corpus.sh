#!/usr/bin/env bash
# Makes the seed corpora in fuzz/corpus/<harness>/ (small valid inputs the fuzzers mutate), with the
# project's own stages and NumPy/Pillow. Run from the repository root after `swift build -c release`.
set -euo pipefail
BIN=${BIN:-.build/release}
C=fuzz/corpus
rm -rf "$C"; mkdir -p $C/{tensorfile,idx,cifar,jpeg,views,checkpoint}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
python3 scripts/make_tensorfiles_faults.py "$tmp/faults" >/dev/null
cp "$tmp"/faults/{good,checksum,gap,size_mismatch}.safetensors.zst $C/tensorfile/
python3 - "$tmp" "$C" <<'PY'
import gzip, io, struct, sys
import numpy as np
from PIL import Image
tmp, c = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(0)
images = rng.integers(0, 256, size=(3, 5, 4), dtype=np.uint8)
idx = struct.pack(">BBBBIII", 0, 0, 8, 3, 3, 5, 4) + images.tobytes()
open(f"{c}/idx/images.idx", "wb").write(idx)
open(f"{c}/idx/images.idx.gz", "wb").write(gzip.compress(idx, 9, mtime=0))
open(f"{c}/idx/labels.idx", "wb").write(struct.pack(">BBBBI", 0, 0, 8, 1, 3) + bytes([1, 2, 3]))
rec = lambda label: bytes([label]) + rng.integers(0, 256, 3072, dtype=np.uint8).tobytes()
open(f"{c}/cifar/batch10.bin", "wb").write(rec(3) + rec(7))
open(f"{c}/cifar/batch100.bin", "wb").write(bytes([1]) + rec(42) + bytes([2]) + rec(17))
for name, mode, kw in [("gray", "L", {}), ("rgb", "RGB", {}), ("progressive", "RGB", {"progressive": True}), ("subsampled", "RGB", {"subsampling": 2})]:
    im = Image.fromarray(rng.integers(0, 256, size=(12, 10, 3) if mode == "RGB" else (12, 10), dtype=np.uint8), mode)
    im.save(f"{c}/jpeg/{name}.jpg", quality=70, **kw)
PY
python3 - "$tmp/data.safetensors.zst" <<'PY'
import sys, json, numpy as np, safetensors.numpy, zstandard
rng = np.random.default_rng(1); n = 32
t = {"images": rng.integers(0, 256, size=(n, 1, 16, 16), dtype=np.uint8), "labels": np.arange(n, dtype=np.int64) % 4, "index": np.arange(n, dtype=np.int64)}
raw = safetensors.numpy.save(t, metadata={"stage": "ingest"})
open(sys.argv[1], "wb").write(zstandard.ZstdCompressor(write_content_size=True, write_checksum=True).compress(raw))
PY
$BIN/augment --dataset "$tmp/data.safetensors.zst" --recipe mocov2 --epoch 1 --out $C/views/views.safetensors.zst >/dev/null
$BIN/pretrain --views $C/views/views.safetensors.zst --epochs 1 --width 1 --batch 32 --bn-splits 1 --queue 32 --sampler uniform \
  --threads 1 --out $C/checkpoint/moco-w1.safetensors.zst >/dev/null 2>&1
du -sh $C
