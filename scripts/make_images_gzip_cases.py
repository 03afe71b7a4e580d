"""Writes gzip test cases for the Swift inflater into OUTDIR: for each case NAME, NAME.gz and NAME.raw
(the original bytes), made with Python's zlib/gzip so that every DEFLATE block type and header flag occurs.

Usage: make_images_gzip_cases.py OUTDIR
Prints a JSON list of the case names.
"""
import gzip
import json
import os
import sys
import zlib

import numpy as np


def deflate_gzip(raw, level=6, strategy=zlib.Z_DEFAULT_STRATEGY, memlevel=8):
    c = zlib.compressobj(level, zlib.DEFLATED, 31, memlevel, strategy)  # wbits 31 = gzip container
    return c.compress(raw) + c.flush()


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    random = rng.integers(0, 256, size=300_000, dtype=np.uint8).tobytes()
    # Skewed symbols with runs and repeats: exercises long codes, long matches and overlapping copies.
    skewed = np.minimum(rng.geometric(0.05, size=400_000), 255).astype(np.uint8).tobytes()
    words = b" ".join(rng.choice([b"negative", b"sampling", b"contrastive", b"a", b"the", b"of", b"x" * 300], size=60_000))
    runs = bytes(100_000) + b"\x01" * 5 + bytes(70_000)
    cases = {
        "empty": (b"", lambda r: gzip.compress(r)),
        "one_byte": (b"A", lambda r: gzip.compress(r)),
        "random_stored": (random, lambda r: deflate_gzip(r, level=0)),
        "random_default": (random, lambda r: gzip.compress(r, 6)),
        "skewed_level1": (skewed, lambda r: deflate_gzip(r, level=1)),
        "skewed_level9": (skewed, lambda r: deflate_gzip(r, level=9)),
        "skewed_huffman_only": (skewed, lambda r: deflate_gzip(r, strategy=zlib.Z_HUFFMAN_ONLY)),
        "words_fixed": (words, lambda r: deflate_gzip(r, strategy=zlib.Z_FIXED)),
        "words_rle": (words, lambda r: deflate_gzip(r, strategy=zlib.Z_RLE)),
        "words_small_window": (words, lambda r: deflate_gzip(r, level=9, memlevel=1)),
        "runs": (runs, lambda r: gzip.compress(r, 9)),
        "multi_member": (words[:5000] + skewed[:7000], lambda r: gzip.compress(r[:5000]) + gzip.compress(r[5000:], 1)),
    }
    for name, (raw, pack) in cases.items():
        with open(os.path.join(out, name + ".raw"), "wb") as f:
            f.write(raw)
        with open(os.path.join(out, name + ".gz"), "wb") as f:
            f.write(pack(raw))
    # Header flags: FNAME and FEXTRA/FCOMMENT/FHCRC, written by hand around a zlib raw deflate stream.
    raw = words[:20_000]
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = c.compress(raw) + c.flush()
    trailer = zlib.crc32(raw).to_bytes(4, "little") + len(raw).to_bytes(4, "little")
    flags = 0x02 | 0x04 | 0x08 | 0x10
    header = bytes([0x1F, 0x8B, 8, flags, 0, 0, 0, 0, 0, 255])
    header += (6).to_bytes(2, "little") + b"AB\x02\x00xy" + b"name.bin\x00" + b"a comment\x00"
    header += (zlib.crc32(header) & 0xFFFF).to_bytes(2, "little")
    with open(os.path.join(out, "header_flags.raw"), "wb") as f:
        f.write(raw)
    with open(os.path.join(out, "header_flags.gz"), "wb") as f:
        f.write(header + body + trailer)
    print(json.dumps(sorted(list(cases) + ["header_flags"])))


if __name__ == "__main__":
    main()
