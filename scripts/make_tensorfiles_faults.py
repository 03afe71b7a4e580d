"""Writes one faulty .safetensors.zst file per fault the tensor-file reader must reject, into OUTDIR.

Usage: make_tensorfiles_faults.py OUTDIR
Each file is named <fault>.safetensors.zst; the Swift tests assert the reader's message for each.
Built from raw bytes (json + struct + zstandard) so that every fault is exactly the one named.
"""
import io
import json
import os
import struct
import sys

import zstandard


def safetensors_bytes(header, data, header_len=None):
    """8-byte little-endian header length, header JSON (str or dict), data bytes."""
    text = header if isinstance(header, (bytes, str)) else json.dumps(header)
    h = text.encode() if isinstance(text, str) else text
    n = len(h) if header_len is None else header_len
    return struct.pack("<Q", n) + h + data


def zst(payload, checksum=True, content_size=True):
    c = zstandard.ZstdCompressor(level=3, write_checksum=checksum, write_content_size=content_size)
    if content_size:
        return c.compress(payload)
    # compress() always records the size; a stream writer with no size hint leaves it out.
    out = io.BytesIO()
    with c.stream_writer(out, closefd=False) as w:
        w.write(payload)
    return out.getvalue()


def good_payload():
    data = bytes(range(16))  # u8 [4] + i32 [3]: 4 + 12 bytes
    return safetensors_bytes({
        "__metadata__": {"stage": "test"},
        "a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
        "b": {"dtype": "I32", "shape": [3], "data_offsets": [4, 16]},
    }, data)


def entry(dtype="U8", shape=(4,), offsets=(0, 4)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    good = zst(good_payload())
    d16 = bytes(16)
    faults = {
        "good": good,
        "bad_magic": b"this is not a zstd frame at all" + bytes(8),
        "plain_safetensors": good_payload(),
        "truncated": good[: len(good) // 2],
        "no_content_size": zst(good_payload(), content_size=False),
        # The last 4 bytes of a checksummed frame are the XXH64 checksum: flipping one leaves the
        # compressed blocks intact, so zstd decodes them and then reports the checksum mismatch.
        "checksum": good[:-1] + bytes([good[-1] ^ 0xFF]),
        "trailing_garbage": good + b"garbage!",
        "header_too_big": zst(safetensors_bytes("{}", b"", header_len=1 << 40)),
        "header_too_small": zst(safetensors_bytes("{", b"")),
        "header_past_end": zst(safetensors_bytes('{"a":1}', b"", header_len=5000)),
        "header_not_json": zst(safetensors_bytes('{"a": nope}', b"")),
        "header_not_object": zst(safetensors_bytes("[1, 2, 3]", b"")),
        "metadata_not_strings": zst(safetensors_bytes({"__metadata__": {"epoch": 3}}, b"")),
        "metadata_not_object": zst(safetensors_bytes({"__metadata__": "hello"}, b"")),
        "entry_not_object": zst(safetensors_bytes({"a": [1, 2]}, b"")),
        "unknown_dtype": zst(safetensors_bytes({"a": entry(dtype="Q7")}, bytes(4))),
        "negative_dim": zst(safetensors_bytes({"a": entry(shape=(-4,))}, bytes(4))),
        "float_dim": zst(safetensors_bytes({"a": entry(shape=(4.0,))}, bytes(4))),
        "bool_dim": zst(safetensors_bytes({"a": entry(shape=(True,))}, bytes(4))),
        "size_mismatch": zst(safetensors_bytes({"a": entry(dtype="F32", shape=(2, 3), offsets=(0, 16))}, d16)),
        "overlapping": zst(safetensors_bytes({"a": entry(shape=(8,), offsets=(0, 8)),
                                              "b": entry(shape=(8,), offsets=(4, 12)),
                                              "c": entry(shape=(4,), offsets=(12, 16))}, d16)),
        "out_of_range": zst(safetensors_bytes({"a": entry(shape=(32,), offsets=(0, 32))}, d16)),
        "reversed_offsets": zst(safetensors_bytes({"a": entry(shape=(0,), offsets=(8, 4))}, d16)),
        "gap": zst(safetensors_bytes({"a": entry(shape=(4,), offsets=(0, 4)),
                                      "b": entry(shape=(8,), offsets=(8, 16))}, d16)),
        "uncovered_bytes": zst(safetensors_bytes({"a": entry(shape=(4,), offsets=(0, 4))}, d16)),
        "empty_file": b"",
    }
    for name, blob in faults.items():
        with open(os.path.join(out, name + ".safetensors.zst"), "wb") as f:
            f.write(blob)
    print(json.dumps(sorted(faults)))


if __name__ == "__main__":
    main()
