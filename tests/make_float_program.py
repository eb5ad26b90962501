#!/usr/bin/env python3
"""make_float_program.py — writes a small float32 program as a .pxi (RGBA8 PNG), with Python's zlib
and struct only (no engine code), for the float display tests (pxi info, pxdbg's inspector).

    make_float_program.py OUT.pxi

Program (width 8):  FMATMUL a, b, c, [f32, f32, f32, 0], [bias, 0, relu, 0];  HALT
Matrices: a 3x4 f32 holding NaN, +inf, -inf, -0 and a subnormal besides ordinary values; b 4x2 f32;
bias 1x2 f32; c 3x2 f32 (zeros); h 1x5 f16, declared by the symbols only ("dtype": "f16"), with
NaN and -inf among its elements. Symbols name every matrix.
"""
import json
import struct
import sys
import zlib

W = 8
A = [1.5, -2.25, float("nan"), 3.0,
     float("inf"), 0.1, -0.0, 1e-40,
     float("-inf"), 2.0, -7.5, 0.5]
B = [0.5, -1.0, 2.0, 0.25, -3.0, 1.0, 0.125, 4.0]
BIAS = [0.75, -0.5]
H16 = [1.0, -2.5, float("nan"), float("-inf"), 65504.0]


def f32(v):
    return struct.pack("<f", v)


def f16_pair(lo, hi):
    return struct.pack("<ee", lo, hi)


def main():
    out = sys.argv[1]
    mats = []  # (name, rows, cols, list of 4-byte element pixels, dtype)
    mats.append(("a", 3, 4, [f32(v) for v in A], None))
    mats.append(("b", 4, 2, [f32(v) for v in B], None))
    mats.append(("bias", 1, 2, [f32(v) for v in BIAS], None))
    mats.append(("c", 3, 2, [f32(0.0)] * 6, None))
    h = H16 + [0.0]
    mats.append(("h", 1, 5, [f16_pair(h[i], h[i + 1]) for i in range(0, 5, 2)], "f16"))
    rows, regions, r = {}, [], 1
    for name, nr, nc, px, dt in mats:
        rows[name] = r
        reg = {"name": name, "row": r, "rows": nr, "cols": nc}
        if dt:
            reg["dtype"] = dt
        regions.append(reg)
        r += max(1, -(-len(px) // (W - 1)))
    height = r
    img = [[b"\0\0\0\0"] * W for _ in range(height)]
    for name, nr, nc, px, _ in mats:
        row = rows[name]
        img[row][0] = bytes([nc & 255, nc >> 8, nr & 255, nr >> 8])
        for i, p in enumerate(px):
            img[row + i // (W - 1)][1 + i % (W - 1)] = p
    bias = rows["bias"]
    img[0][0] = bytes([12, rows["a"], rows["b"], rows["c"]])  # FMATMUL
    img[0][1] = bytes([1, 1, 1, 0])                           # P1: a, b, c are f32
    img[0][2] = bytes([bias & 255, bias >> 8, 1, 0])          # P2: bias row, ReLU
    img[0][3] = bytes([0, 0, 0, 0])                           # HALT
    raw = b"".join(b"\0" + b"".join(line) for line in img)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    symbols = json.dumps({"version": 1, "regions": regions})
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, height, 8, 6, 0, 0, 0)) +
           chunk(b"tEXt", b"pxos.symbols\0" + symbols.encode("latin-1")) +
           chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    open(out, "wb").write(png)


if __name__ == "__main__":
    main()
