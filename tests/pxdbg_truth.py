#!/usr/bin/env python3
"""pxdbg_truth.py — the independent side of pxdbg's "every number is true" tests.

Reads a .pxi (an RGBA8 PNG) with Python's zlib only (no engine code), finds a matrix by name in
the pxos.symbols chunk and prints its elements as JSON: the int32 value of each whole pixel, the
R byte, and the real value scale * (q - zero_point) of both readings; the float32 value of each
whole pixel ("f32") and the float16 values packed two per pixel ("f16", elements 2j in R,G and
2j+1 in B,A of element pixel j), NaN and infinities written "NaN", "+inf", "-inf".

    pxdbg_truth.py FILE.pxi MATRIX-NAME
"""
import json
import struct
import sys
import zlib


def read_png(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, text = 8, b"", {}
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color == 6 and interlace == 0, "RGBA8, not interlaced"
        elif kind == b"IDAT":
            idat += body
        elif kind == b"tEXt":
            k, v = body.split(b"\0", 1)
            text[k.decode("latin-1")] = v.decode("latin-1")
        elif kind == b"zTXt":
            k, v = body.split(b"\0", 1)
            text[k.decode("latin-1")] = zlib.decompress(v[1:]).decode("latin-1")
        elif kind == b"iTXt":
            k, rest = body.split(b"\0", 1)
            compressed, rest = rest[0], rest[2:]
            _, rest = rest.split(b"\0", 1)  # language tag
            _, rest = rest.split(b"\0", 1)  # translated key
            text[k.decode("latin-1")] = (zlib.decompress(rest) if compressed else rest).decode("utf-8")
    raw, stride = zlib.decompress(idat), w * 4
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - 4] if i >= 4 else 0
            b = prev[i]
            c = prev[i - 4] if i >= 4 else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, rows, text


def main():
    path, name = sys.argv[1], sys.argv[2]
    w, h, rows, text = read_png(path)
    symbols = json.loads(text["pxos.symbols"])
    region = next(r for r in symbols["regions"] if r["name"] == name)
    row, n = region["row"], region["rows"] * region["cols"]
    scale, zp = region.get("scale"), region.get("zero_point", 0)
    int32, rbyte = [], []
    for i in range(n):
        x, y = 1 + i % (w - 1), row + i // (w - 1)
        if y >= h:  # an f16 matrix fills half the pixels: a whole-pixel reading stops at the image's end
            break
        p = rows[y][x * 4 : x * 4 + 4]
        int32.append(struct.unpack("<i", p)[0])
        rbyte.append(p[0])
    real = lambda q: None if scale is None else scale * (q - zp)
    f32, f16 = [], []
    for i in range(n):
        x, y = 1 + i % (w - 1), row + i // (w - 1)
        if y < h:
            f32.append(struct.unpack("<f", rows[y][x * 4 : x * 4 + 4])[0])
        j = i // 2
        x, y = 1 + j % (w - 1), row + j // (w - 1)
        f16.append(struct.unpack("<e", rows[y][x * 4 + 2 * (i % 2) : x * 4 + 2 * (i % 2) + 2])[0])
    print(json.dumps({"row": row, "rows": region["rows"], "cols": region["cols"], "scale": scale,
                      "zero_point": zp, "dtype": region.get("dtype"), "int32": int32, "r_byte": rbyte,
                      "int32_real": [real(q) for q in int32], "r_byte_real": [real(q) for q in rbyte],
                      "f32": [special(v) for v in f32], "f16": [special(v) for v in f16]}))


def special(v):
    """A float as JSON: the number, or "NaN", "+inf", "-inf"."""
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "+inf" if v > 0 else "-inf"
    return v


if __name__ == "__main__":
    main()
