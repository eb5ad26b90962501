#!/usr/bin/python3
"""make_float_seeds.py — writes the seed corpus of fuzz_float (tests/fuzz/seeds/float/).

The seeds are recipes in fuzz_float.cpp's input format (read there byte by byte): hand-made
programs of FMATMUL, FADD and FMUL on hostile element words (NaN payloads, infinities,
subnormals, -0, f16 patterns, bad dtype pixels), and a few seeded random byte strings. The
typed opcodes are picked by index into the typed part of the opcode table (FMATMUL, FADD, FMUL
first), so when the table grows a seed may reach another opcode: still a valid input.
"""
import os
import random

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds", "float")
FMATMUL, FADD, FMUL = 1, 5, 9  # "pick" bytes: typed opcode 0, 1, 2
HOSTILE = {"0": 0, "-0": 1, "sub_min": 2, "-sub_min": 3, "sub_max": 4, "-sub_max": 5, "min": 6, "-min": 7,
           "inf": 8, "-inf": 9, "qnan": 10, "-qnan": 11, "nan_payload": 12, "snan": 13, "-snan": 14,
           "snan_max": 15, "nan_all": 16, "max": 17, "-max": 18, "one": 19, "-one": 20, "2^64": 21,
           "2^-64": 22, "one_ulp": 23, "2^-24": 24, "2^24": 25, "h_inf": 26, "h_-inf": 27, "h_nan": 28,
           "h_sub": 29, "h_sub_max": 30, "h_max": 31}


def word(w):
    """An element word: a hostile name, a small float (quarters from -8), or a raw int."""
    if isinstance(w, str):
        return [HOSTILE[w] << 2]
    if isinstance(w, float):
        return [(int(w * 4) + 32) << 2 | 1]
    return [3, w & 255, w >> 8 & 255, w >> 16 & 255, w >> 24 & 255]


def recipe(width, shapes, elements, instructions, threads=0):
    """shapes: 4 (cols, rows); elements: 4 lists of element words (None: empty slot);
    instructions: (pick, (slot or raw row, ...), [param pixels as channel codes])."""
    b = [width - 2]
    for cols, rows in shapes:
        b += [cols - 1, rows - 1]
    b.append(0)
    for s, elems in enumerate(elements):
        if elems is None:
            b.append(0)
            continue
        b.append(0x11)  # filled, every element its own word
        b += word(elems[0])  # the fill word (unused)
        n = shapes[s][0] * shapes[s][1]
        for i in range(n):
            b += word(elems[i % len(elems)])
    b.append(len(instructions) - 1)
    for pick, operands, params in instructions:
        b.append(pick)
        b += list(operands)
        for p in params:
            b.append(1)  # A channel 0
            b += p
    b.append(threads)
    return bytes(b)


def dtypes(a, b_, c):
    code = {0: 0, 1: 1, 2: 3, 3: 4}  # u8, f32, f16, i32 -> channel codes
    return [code[a], code[b_], code[c]]


def bias_act(slot, act):
    return [5 + (slot << 3), 0, {0: 0, 1: 1, 2: 3}[act]]


def main():
    os.makedirs(OUT, exist_ok=True)
    hostile = list(HOSTILE)
    seeds = {
        "fmatmul_bias_gelu": recipe(
            18, [(5, 3), (4, 5), (4, 1), (4, 3)],
            [["one", "nan_payload", 0.5, "sub_min", "-0", "inf"], [0.25, "-one", "max", "2^-64", "snan"],
             ["-inf", 1.5, "h_nan", "-sub_max"], None],
            [(FMATMUL, (0, 1, 3), [dtypes(1, 1, 1), bias_act(2, 2)])]),
        "fmatmul_relu_inf_times_zero": recipe(
            9, [(3, 2), (2, 3), (2, 1), (2, 2)],
            [["inf", "0", "-inf"], ["-0", "0", "max", "max", "2^64", "2^64"], ["-max", "qnan"], None],
            [(FMATMUL, (0, 1, 3), [dtypes(1, 1, 1), bias_act(2, 1)])]),
        "fadd_row_broadcast_nans": recipe(
            12, [(6, 4), (6, 1), (6, 1), (6, 4)],
            [["qnan", "-qnan", "nan_payload", "snan", "inf", "-inf", "sub_max", "-sub_max"],
             ["-inf", "inf", 1.0, "-one", "min", "-min"], ["one"], None],
            [(FADD, (0, 1, 3), [dtypes(1, 1, 1)]), (FADD, (3, 3, 3), [dtypes(1, 1, 1)])]),
        "fmul_subnormals_overflow": recipe(
            7, [(4, 4), (4, 4), (4, 1), (4, 4)],
            [["sub_min", "2^-64", "2^64", "max", "-0", "one_ulp"], ["2^-64", "sub_max", "2^64", "2^24", "-max"],
             ["0"], None],
            [(FMUL, (0, 1, 3), [dtypes(1, 1, 1)]), (FMUL, (3, 2, 0), [dtypes(1, 1, 1)])]),
        "f16_operands": recipe(
            10, [(4, 2), (3, 4), (3, 1), (3, 2)],
            [["h_inf", "h_-inf", "h_nan", "h_sub", "h_sub_max", "h_max"], ["h_sub", "one", 0.75],
             ["h_max"], None],
            [(FMATMUL, (0, 1, 3), [dtypes(2, 2, 1), bias_act(0, 0)]), (FADD, (3, 3, 3), [dtypes(1, 1, 2)])]),
        "bad_dtype_pixels": recipe(
            8, [(2, 2), (2, 2), (2, 1), (2, 2)],
            [["one"], ["-one"], ["one"], ["0"]],
            [(FADD, (0, 1, 3), [[7, 9, 1, 4]]), (FMUL, (0, 1, 3), [dtypes(3, 1, 0)]),
             (FMATMUL, (0, 1, 3), [dtypes(1, 1, 1), [5 + (1 << 3), 7, 255, 0]])]),
        "chain_in_place": recipe(
            20, [(8, 8), (8, 8), (8, 1), (8, 8)],
            [[0.5, -0.25, 1.75, "sub_min", "-0"], [1.0, -1.0, 0.25, "2^-24"], ["nan_all"], None],
            [(FMATMUL, (0, 1, 3), [dtypes(1, 1, 1), bias_act(2, 2)]), (FMATMUL, (3, 1, 3), [dtypes(1, 1, 1), bias_act(0, 1)]),
             (FADD, (3, 2, 3), [dtypes(1, 1, 1)]), (FMUL, (3, 3, 0), [dtypes(1, 1, 1)])], threads=1),
    }
    rng = random.Random(18)
    for n in range(8):
        seeds[f"random_{n}"] = bytes(rng.randrange(256) for _ in range(rng.randrange(40, 400)))
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"{len(seeds)} seeds in {OUT}")


if __name__ == "__main__":
    main()
