"""Interop check for .safetensors.zst between Swift and the Python reference stack (numpy, safetensors, zstandard).

Usage:
  ref_tensorfiles_interop.py check FILE   # FILE written by Swift: verify every tensor bit-exactly
  ref_tensorfiles_interop.py write FILE   # write the same tensors with safetensors + zstandard for Swift

Both sides generate the expected values from the same integer recipe (bit patterns, so NaN, ±inf and
subnormals travel too): x_i = (i * 2654435761 + salt) mod 2^32. Prints one JSON line on success; exits 1
with a message on any mismatch. numpy has no bfloat16, so BF16 is handled as raw uint16 words through
safetensors' own `serialize`/`deserialize` (safetensors.numpy rejects BF16).
"""
import json
import sys

import numpy as np
import safetensors
import safetensors.numpy
import zstandard

N = 37
METADATA = {"stage": "interop", "note": "ünïcode \"quoted\"\tand a newline\n", "empty": ""}


def words32(salt):
    i = np.arange(N, dtype=np.uint64)
    return ((i * np.uint64(2654435761) + np.uint64(salt)) & np.uint64(0xFFFFFFFF)).astype(np.uint32)


# The first words of the float tensors: a NaN with payload, -inf, the smallest subnormal, -0.
SPECIAL32 = [0x7FC00001, 0xFF800000, 0x00000001, 0x80000000]
SPECIAL16 = [0x7E01, 0xFC00, 0x0001, 0x8000]
SPECIALBF16 = [0x7FC1, 0xFF80, 0x0001, 0x8000]


def special(words, first):
    words = words.copy()
    words[: len(first)] = first
    return words


def expected():
    """name -> (safetensors dtype, shape, little-endian bytes); numpy arrays where numpy has the dtype."""
    x = words32(12345)
    i = np.arange(N, dtype=np.uint64)
    with np.errstate(over="ignore"):
        w64 = i * np.uint64(6364136223846793005) + np.uint64(1442695040888963407)
    arrays = {
        "u8": (x & 0xFF).astype(np.uint8).reshape(1, N),
        "i32": words32(777).view(np.int32),
        "i64": w64.view(np.int64),
        "f16": special((words32(99) >> 16).astype(np.uint16), SPECIAL16).view(np.float16),
        "f32": special(words32(4242), SPECIAL32).view(np.float32).reshape(N, 1),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }
    bf16 = special((words32(31337) & 0xFFFF).astype(np.uint16), SPECIALBF16)
    return arrays, bf16


def fail(msg):
    print("interop: " + msg, file=sys.stderr)
    sys.exit(1)


def check(path):
    blob = open(path, "rb").read()
    params = zstandard.get_frame_parameters(blob)
    if not params.has_checksum:
        fail("frame has no content checksum")
    raw = zstandard.ZstdDecompressor().decompress(blob)  # needs the content size in the frame header
    if params.content_size != len(raw):
        fail("content size in the frame header does not match")
    arrays, bf16 = expected()
    # 1. safetensors' own parser (it validates the offsets) for every tensor, BF16 included.
    parsed = {name: t for name, t in safetensors.deserialize(raw)}
    want = set(arrays) | ({"bf16"} if "bf16" in parsed else set())
    if set(parsed) != want:
        fail(f"tensor names {sorted(parsed)}, expected {sorted(want)}")
    for name, a in arrays.items():
        t = parsed[name]
        if list(t["shape"]) != list(a.shape) or bytes(t["data"]) != a.tobytes():
            fail(f"tensor {name} differs (shape {t['shape']})")
    if "bf16" in parsed and (parsed["bf16"]["dtype"] != "BF16" or bytes(parsed["bf16"]["data"]) != bf16.tobytes()):
        fail("tensor bf16 differs")
    header = json.loads(raw[8:8 + int.from_bytes(raw[:8], "little")])
    if header.get("__metadata__") != METADATA:
        fail(f"metadata differs: {header.get('__metadata__')!r}")
    # 2. The README's two-line loader, where numpy has every dtype: compare dtypes and bit patterns.
    if "bf16" not in parsed:
        loaded = safetensors.numpy.load(raw)
        for name, a in arrays.items():
            if loaded[name].dtype != a.dtype or loaded[name].shape != a.shape or loaded[name].tobytes() != a.tobytes():
                fail(f"safetensors.numpy.load: tensor {name} differs")
    print(json.dumps({"checked": sorted(parsed), "numpy_loader": "bf16" not in parsed}))


def write(path, with_bf16=True):
    arrays, bf16 = expected()
    keep = []
    specs = {}
    for name, a in arrays.items():
        a = np.ascontiguousarray(a)
        keep.append(a)
        specs[name] = safetensors.TensorSpec(dtype=a.dtype.name, shape=list(a.shape),
                                             data_ptr=a.ctypes.data, data_len=a.nbytes)
    if with_bf16:
        specs["bf16"] = safetensors.TensorSpec(dtype="bfloat16", shape=[N], data_ptr=bf16.ctypes.data, data_len=bf16.nbytes)
    raw = bytes(safetensors.serialize(specs, metadata=METADATA))
    blob = zstandard.ZstdCompressor(level=3, write_checksum=True).compress(raw)
    with open(path, "wb") as f:
        f.write(blob)
    print(json.dumps({"wrote": path, "bytes": len(blob)}))


if __name__ == "__main__":
    mode, path = sys.argv[1], sys.argv[2]
    if mode == "check":
        check(path)
    elif mode == "write":
        write(path)
    else:
        fail(f"unknown mode {mode}")
