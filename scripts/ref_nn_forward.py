#!/usr/bin/env python3
"""Independent NumPy forward pass of the CIFAR ResNet-18 + MoCo v2 head, in NCHW layout.

usage: ref_nn_forward.py IN.safetensors.zst OUT.safetensors.zst

IN holds the encoder's tensors (PyTorch names under metadata `prefix`), `images` u8 [B,C,H,W], and
metadata mean/std (comma-separated per channel) and splits (SplitBatchNorm groups in training).
OUT gets eval.feature/eval.embedding (BN with running statistics), then train.feature/train.embedding
(BN with per-group batch statistics) and running.<bn>.running_mean/var after that training pass.
If IN holds `order` i64 [B] (ShuffleBN), OUT also gets shuffled.embedding: the training forward of the
images in that order (position j holds image order[j]), put back in image order.
"""
import json
import struct
import sys

import numpy as np
import zstandard

DTYPES = {"F32": np.float32, "F64": np.float64, "U8": np.uint8, "I64": np.int64, "I32": np.int32}
NAMES = {v: k for k, v in DTYPES.items()}


def read(path):
    raw = zstandard.ZstdDecompressor().decompress(open(path, "rb").read(), max_output_size=1 << 31)
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=DTYPES[info["dtype"].upper()]).reshape(info["shape"])
    return out, meta


def write(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        b = arr.tobytes()
        header[name] = {"dtype": NAMES[arr.dtype.type], "shape": list(arr.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    raw = struct.pack("<Q", len(h)) + h + b"".join(blobs)
    open(path, "wb").write(zstandard.ZstdCompressor(write_content_size=True, write_checksum=True).compress(raw))


def conv(x, w, stride, pad):
    """Direct convolution by summing shifted, strided slices: x [B,C,H,W], w [O,C,k,k]."""
    b, c, h, wd = x.shape
    o, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho = (h + 2 * pad - k) // stride + 1
    wo = (wd + 2 * pad - k) // stride + 1
    y = np.zeros((b, o, ho, wo))
    for ky in range(k):
        for kx in range(k):
            patch = xp[:, :, ky:ky + stride * (ho - 1) + 1:stride, kx:kx + stride * (wo - 1) + 1:stride]
            y += np.einsum("bchw,oc->bohw", patch, w[:, :, ky, kx])
    return y


class Model:
    def __init__(self, t, prefix, splits):
        self.t, self.p, self.splits = t, prefix, splits
        self.running = {}

    def w(self, name):
        key = self.p + name
        if key in self.running:
            return self.running[key]
        return self.t[key].astype(np.float64)

    def bn(self, x, name, training):
        g, beta = self.w(name + ".weight"), self.w(name + ".bias")
        if training:
            b, c, h, wd = x.shape
            s = self.splits
            groups = x.reshape(s, b // s, c, h, wd)
            m = groups.mean(axis=(1, 3, 4), keepdims=True)
            v = groups.var(axis=(1, 3, 4), keepdims=True)
            y = ((groups - m) / np.sqrt(v + 1e-5)).reshape(x.shape)
            n = (b // s) * h * wd
            rm, rv = self.w(name + ".running_mean"), self.w(name + ".running_var")
            self.running[self.p + name + ".running_mean"] = 0.9 * rm + 0.1 * m.reshape(s, c).mean(axis=0)
            self.running[self.p + name + ".running_var"] = 0.9 * rv + 0.1 * (v.reshape(s, c) * n / (n - 1)).mean(axis=0)
        else:
            m = self.w(name + ".running_mean")[None, :, None, None]
            v = self.w(name + ".running_var")[None, :, None, None]
            y = (x - m) / np.sqrt(v + 1e-5)
        return y * g[None, :, None, None] + beta[None, :, None, None]

    def block(self, x, name, stride, training):
        out = np.maximum(self.bn(conv(x, self.w(name + ".conv1.weight"), stride, 1), name + ".bn1", training), 0)
        out = self.bn(conv(out, self.w(name + ".conv2.weight"), 1, 1), name + ".bn2", training)
        if (self.p + name + ".downsample.0.weight") in self.t:
            sc = self.bn(conv(x, self.w(name + ".downsample.0.weight"), stride, 0), name + ".downsample.1", training)
        else:
            sc = x
        return np.maximum(out + sc, 0)

    def forward(self, x, training):
        h = np.maximum(self.bn(conv(x, self.w("conv1.weight"), 1, 1), "bn1", training), 0)
        for stage in range(1, 5):
            for i in range(2):
                h = self.block(h, f"layer{stage}.{i}", 2 if stage > 1 and i == 0 else 1, training)
        feature = h.mean(axis=(2, 3))
        z = np.maximum(feature @ self.w("head.0.weight").T + self.w("head.0.bias"), 0)
        z = z @ self.w("head.2.weight").T + self.w("head.2.bias")
        emb = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
        return feature, emb


def main():
    t, meta = read(sys.argv[1])
    mean = np.array([float(v) for v in meta["mean"].split(",")])
    std = np.array([float(v) for v in meta["std"].split(",")])
    x = (t["images"].astype(np.float64) / 255 - mean[None, :, None, None]) / std[None, :, None, None]
    model = Model(t, meta["prefix"], int(meta["splits"]))
    out = {}
    f, e = model.forward(x, training=False)
    out["eval.feature"], out["eval.embedding"] = f.astype(np.float32), e.astype(np.float32)
    f, e = model.forward(x, training=True)
    out["train.feature"], out["train.embedding"] = f.astype(np.float32), e.astype(np.float32)
    for name, v in model.running.items():
        out["running." + name] = v.astype(np.float32)
    if "order" in t:
        order = t["order"].astype(np.int64)
        _, e = Model(t, meta["prefix"], int(meta["splits"])).forward(x[order], training=True)
        restored = np.zeros_like(e)
        restored[order] = e
        out["shuffled.embedding"] = restored.astype(np.float32)
    write(sys.argv[2], out)


if __name__ == "__main__":
    main()
