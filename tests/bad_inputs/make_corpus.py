#!/usr/bin/env python3
"""Writes the bad-input corpus in this directory: one small file for every malformed input we
know of, plus a few good controls, and expected.json (format: README.md).

Standard library only (zlib, struct); the PNG writer here is independent of libpng. The output is
deterministic (fixed zlib level, no timestamps): running it again gives the same bytes.

    python3 tests/bad_inputs/make_corpus.py
"""
import json
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
HALT, DOT, ADD, RELU, MATMUL, WIDE = 0, 1, 2, 3, 4, 15


def chunk(ctype, data):
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data) & 0xFFFFFFFF)


def ihdr(width, height, depth=8, color=6, interlace=0):
    return chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, interlace))


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def png(width, height, rows, color=6, depth=8, interlace=False, before_idat=b"", bpp=4):
    """rows: list of `height` byte strings (packed samples). Filter type 0 everywhere."""
    if interlace:
        assert depth == 8
        raw = b""
        for x0, y0, dx, dy in ADAM7:
            xs = range(x0, width, dx)
            if not xs:
                continue
            for y in range(y0, height, dy):
                raw += b"\0" + b"".join(rows[y][x * bpp:(x + 1) * bpp] for x in xs)
    else:
        raw = b"".join(b"\0" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + ihdr(width, height, depth, color, 1 if interlace else 0) + before_idat +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


class Prog:
    """An RGBA program image, built pixel by pixel."""

    def __init__(self, width, height):
        self.w, self.h = width, height
        self.px = [[[0, 0, 0, 0] for _ in range(width)] for _ in range(height)]

    def ins(self, x, op, a=0, b=0, c=0):
        self.px[0][x] = [op, a, b, c]
        return self

    def set(self, x, y, rgba):
        self.px[y][x] = list(rgba)
        return self

    def mat(self, row, rows, cols, values):
        self.px[row][0] = [cols & 255, cols >> 8, rows & 255, rows >> 8]
        for i, v in enumerate(values):
            x, y = 1 + i % (self.w - 1), row + i // (self.w - 1)
            self.px[y][x][0] = v
        return self

    def rows(self):
        return [bytes(c for p in r for c in p) for r in self.px]

    def png(self, **kw):
        return png(self.w, self.h, self.rows(), **kw)


FILES = {}
EXPECT = []


def add(name, data, load="ok", load_message=None, warnings=(), validate=None, validate_message=None,
        exit_validate=None, exit_run=None, note=""):
    FILES[name] = data
    e = {"file": name, "note": note, "load": load}
    if load_message is not None:
        e["load_message"] = load_message
    e["warnings"] = list(warnings)
    if load == "ok":
        e["validate"] = validate or "ok"
        if validate_message is not None:
            e["validate_message"] = validate_message
    e["exit_validate"] = exit_validate
    e["exit_run"] = exit_run
    EXPECT.append(e)


# A valid program used as the base of several files: MATMUL 1x2 @ 2x2 -> row 3, HALT.
def good():
    return Prog(6, 4).ins(0, MATMUL, 1, 2, 3).mat(1, 1, 2, [1, 2]).mat(2, 2, 2, [3, 4, 5, 6])


GOOD = good().png()

# ---- files that do not load (exit 2 from every command)
add("not_png.pxi", b"this is a text file, not a PNG\n", load="NotPng", load_message="not a PNG file",
    exit_validate=2, exit_run=2, note="no PNG signature")
add("empty_file.pxi", b"", load="NotPng", load_message="not a PNG file", exit_validate=2, exit_run=2,
    note="zero bytes")
idat_at = GOOD.index(b"IDAT") - 4
add("truncated.pxi", GOOD[:idat_at + 8 + 10], load="BadPng", load_message="truncated", exit_validate=2,
    exit_run=2, note="cut 10 bytes into the IDAT data")
add("truncated_ihdr.pxi", GOOD[:20], load="BadPng", load_message="truncated", exit_validate=2, exit_run=2,
    note="cut inside the IHDR chunk")
bad_crc = bytearray(GOOD)
idat_len = struct.unpack(">I", GOOD[idat_at:idat_at + 4])[0]
bad_crc[idat_at + 8 + idat_len] ^= 0xFF
add("bad_crc.pxi", bytes(bad_crc), load="BadPng", load_message="CRC", exit_validate=2, exit_run=2,
    note="IDAT's stored CRC does not match its data")
bad_zlib = bytearray(GOOD)
bad_zlib[idat_at + 8] = 0x00  # zlib CMF byte: not deflate
bad_zlib[idat_at + 8 + idat_len:idat_at + 12 + idat_len] = struct.pack(
    ">I", zlib.crc32(bytes(bad_zlib[idat_at + 4:idat_at + 8 + idat_len])) & 0xFFFFFFFF)
add("bad_zlib.pxi", bytes(bad_zlib), load="BadPng", load_message="IDAT", exit_validate=2, exit_run=2,
    note="the zlib stream header is corrupt; the chunk CRC is correct")
add("empty_0x0.pxi", b"\x89PNG\r\n\x1a\n" + ihdr(0, 0) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""),
    load="Empty", load_message="image is 0x0", exit_validate=2, exit_run=2, note="IHDR says 0x0 (valid CRC)")
add("huge_100000.pxi",
    b"\x89PNG\r\n\x1a\n" + ihdr(100000, 100000) + chunk(b"IDAT", zlib.compress(b"\0" * 5)) + chunk(b"IEND", b""),
    load="TooLarge", load_message="image is 100000x100000; the limit is 16384x16384", exit_validate=2, exit_run=2,
    note="IHDR claims 100000x100000; refused before any allocation")
add("wide_16385.pxi",
    b"\x89PNG\r\n\x1a\n" + ihdr(16385, 1) + chunk(b"IDAT", zlib.compress(b"\0" * 5)) + chunk(b"IEND", b""),
    load="TooLarge", load_message="image is 16385x1", exit_validate=2, exit_run=2,
    note="one pixel wider than the limit")
add("claims_16384.pxi",
    b"\x89PNG\r\n\x1a\n" + ihdr(16384, 16384) + chunk(b"IDAT", zlib.compress(b"\0" * 5)) + chunk(b"IEND", b""),
    load="BadPng", load_message="cannot hold a 16384x16384 image", exit_validate=2, exit_run=2,
    note="IHDR at the limit (1 GiB of RGBA) with 13 bytes of IDAT: refused before allocating")
huge_len = bytearray(GOOD[:idat_at]) + struct.pack(">I", 0x7FFFFFF0) + GOOD[idat_at + 4:]
add("huge_chunk_length.pxi", bytes(huge_len), load="BadPng", load_message="claims 2147483632 bytes",
    exit_validate=2, exit_run=2, note="IDAT's length field says 2 GiB in a 93-byte file")
p16 = png(1, 1, [b"\x00\x03\x00\x00\x00\x00\x00\x00"], color=6, depth=16)
add("png16.pxi", p16, load="Unsupported", load_message="16-bit", exit_validate=2, exit_run=2,
    note="16 bits per channel: refused, not narrowed")

# ---- files that load but are invalid programs (exit 1)
add("row_out_of_image.pxi", Prog(6, 4).ins(0, ADD, 1, 1, 9).mat(1, 1, 2, [1, 2]).png(),
    validate="row-out-of-image", validate_message="names row 9", exit_validate=1, exit_run=1,
    note="ADD's output names row 9 of a 4-row image")
add("matrix_overflow.pxi", Prog(4, 3).ins(0, RELU, 2).set(0, 2, [9, 0, 1, 0]).png(),
    validate="matrix-overflow", validate_message="past the last row 2", exit_validate=1, exit_run=1,
    note="a 1x9 matrix at row 2 of a 3-row, 4-wide image")
add("matmul_mismatch.pxi", Prog(6, 4).ins(0, MATMUL, 1, 2, 3).mat(1, 1, 2, [1, 2]).mat(2, 1, 2, [3, 4]).png(),
    validate="shape-mismatch", validate_message="a's columns to equal b's rows", exit_validate=1, exit_run=1,
    note="MATMUL 1x2 @ 1x2")
add("unknown_opcode.pxi", Prog(4, 2).ins(0, 77).png(), validate="bad-opcode", validate_message="unknown opcode 77",
    exit_validate=1, exit_run=1, note="opcode byte 77")
add("empty_header.pxi", Prog(4, 3).ins(0, RELU, 1).png(), validate="bad-header", validate_message="zero",
    exit_validate=1, exit_run=1, note="RELU on a row whose header is 0x0")
add("wide_at_end.pxi", Prog(3, 2).ins(0, RELU, 1).ins(1, RELU, 1).set(2, 0, [WIDE, 0, 0, 0]).mat(1, 1, 1, [1]).png(),
    validate="truncated", validate_message="last pixel of row 0", exit_validate=1, exit_run=1,
    note="a WIDE prefix as the last pixel of row 0")
add("no_halt.pxi", Prog(2, 2).ins(0, RELU, 1).ins(1, RELU, 1).mat(1, 1, 1, [1]).png(), validate="no-halt",
    validate_message="no reachable HALT", exit_validate=1, exit_run=0,
    note="row 0 without HALT: invalid, but running it halts off the end of row 0 without a trap "
         "(PROTOCOL.md §4.1, §9.6)")
add("dot_result_header.pxi",
    Prog(4, 4).ins(0, DOT, 1, 1, 3).ins(1, RELU, 3).mat(1, 1, 2, [2, 3]).mat(3, 1, 1, [1]).png(),
    validate="dot-result-as-header", validate_message="reads DOT result at row 3 as a matrix header",
    exit_validate=1, exit_run=1, note="DOT writes 13 over a header that RELU then reads: BAD_HEADER at run time")
rgb = good()
rgb_rows = [bytes(c for p in r for c in p[:3]) for r in rgb.px]
add("rgb_program.pxi", png(6, 4, rgb_rows, color=2), warnings=["RGB"], validate="row-out-of-image",
    validate_message="names row 255", exit_validate=1, exit_run=1,
    note="the valid program saved as RGB: A = 255 is added on load, so MATMUL's operand c becomes row 255 "
         "(and every header's rows gain 255*256)")

# ---- files that load with a conversion warning and are valid (exit 0)
add("gray.pxi", png(3, 2, [b"\0\0\0", b"\0\0\0"], color=0), warnings=["grayscale"],
    exit_validate=0, exit_run=0, note="8-bit grayscale, all 0: (0,0,0,255) is HALT with a non-zero 'none' operand")
# A palette program with tRNS: RELU 1; HALT / 1x1 matrix [5]. Entries: 0 HALT, 1 RELU 1, 2 header 1x1, 3 [5].
plte = chunk(b"PLTE", bytes([0, 0, 0, 3, 1, 0, 1, 0, 1, 5, 0, 0])) + chunk(b"tRNS", bytes([0, 0, 0, 0]))
add("palette.pxi", png(3, 2, [bytes([1, 0, 0]), bytes([2, 3, 0])], color=3, before_idat=plte),
    warnings=["palette"], exit_validate=0, exit_run=0,
    note="8-bit palette + tRNS expands to a valid program: RELU 1; HALT over a 1x1 matrix")
add("gray_1bit.pxi", png(8, 1, [b"\x00"], color=0, depth=1), warnings=["1-bit grayscale"],
    exit_validate=0, exit_run=0, note="1-bit grayscale, all 0: eight HALTs")

# ---- good controls (exit 0)
add("ok.pxi", GOOD, exit_validate=0, exit_run=0, note="a valid MATMUL program")
add("interlaced.pxi", good().png(interlace=True), exit_validate=0, exit_run=0,
    note="the same program, Adam7-interlaced: loads with no warning")


def main():
    for old in os.listdir(HERE):
        if old.endswith(".pxi"):
            os.remove(os.path.join(HERE, old))
    for name, data in FILES.items():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
    doc = {"version": 1, "files": EXPECT}
    with open(os.path.join(HERE, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(FILES)} files and expected.json to {HERE}")


if __name__ == "__main__":
    main()
