#!/usr/bin/python3
"""Program test vectors of the integer transformer opcodes (PROTOCOL.md §16): tests/vectors/qint_*.json.

QLAYERNORM (48), QLUT (49), QATTENTION (50) and DEQUANT of i32 input (16, §16.4). The expected results
come from a model of the protocol text written here with exact Python integers (floor division by
//, isqrt by math.isqrt, the i-exp from its constants re-derived from ln 2, 1.353, 0.344 and 0.3585);
DEQUANT's float32 product is the independent NumPy model of PROTOCOL.md §15 (make_fmath_vectors.py).
Nothing is translated from engine/ or shaders/, and the C++ engine is never consulted. Each vector
also carries values worked out by hand, which the model must reproduce before anything is written.

    /usr/bin/python3 tests/vectors/make_qint_vectors.py             # writes tests/vectors/qint_*.json
    /usr/bin/python3 tests/vectors/make_qint_vectors.py --check     # fails if a file is stale
    /usr/bin/python3 tests/vectors/make_qint_vectors.py --accuracy  # i-exp against exp (§16.3)
"""
import importlib.util
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vector_files  # noqa: E402 (the JSON files every vector generator writes)
from vector_files import M32, Prog, Trap, bits, check_hand, pix, word  # noqa: E402
_spec = importlib.util.spec_from_file_location("fmodel", os.path.join(HERE, "make_fmath_vectors.py"))
fm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fm)  # exits 77 (skip) where NumPy is missing
np, F32, U32 = fm.np, fm.F32, fm.U32

HALT, DEQUANT, QLAYERNORM, QLUT, QATTENTION = 0, 16, 48, 49, 50
PARAMS = {HALT: 0, DEQUANT: 3, QLAYERNORM: 3, QLUT: 0, QATTENTION: 5}

# §16.3's constants, from their definitions.
F, P = 16, 22
LN2 = round(math.log(2) * 2**F)
EXP_B = round(1.353 * 2**F)
EXP_C = round(0.344 / 0.3585 * 2**(2 * F))
assert (LN2, EXP_B, EXP_C) == (45426, 88670, 4121251743), "the constants PROTOCOL.md §16.3 lists"


def i32(w):
    w &= M32
    return w - (1 << 32) if w & 0x80000000 else w


def rq(x, m, shift):
    return (x * m + (1 << (shift - 1))) // (1 << shift)


def clamp(v, lo, hi):
    return max(lo, min(hi, v))


def iexp(z):
    """§16.3: z <= 0 with F fraction bits."""
    u = -z
    k, r = divmod(u, LN2)
    L = (EXP_B - r) ** 2 + EXP_C
    return L >> k if k < 64 else 0


def layernorm_row(x_codes, G, B, za, zc, shift, E, lo, hi):
    """§16.1, one row."""
    N = len(x_codes)
    x = [a - za for a in x_codes]
    S = sum(x)
    d = [N * xi - S for xi in x]
    V = sum(di * di for di in d)
    D = math.isqrt(V // N + E)
    out = []
    for j, di in enumerate(d):
        t = 0 if D == 0 else (di * 2**17 + D) // (2 * D)
        acc = t * G[j] + B[j]
        out.append(clamp(zc + (acc + (1 << (shift - 1))) // (1 << shift), lo, hi))
    return out


def attention(q, k, v, T, L, D, heads, zq, zk, zv, zc, ms, mo, shift_s, shift_o, lo, hi):
    """§16.3 on row-major lists of codes."""
    hd = D // heads
    out = [0] * (T * D)
    for t in range(T):
        n = L - T + t + 1
        for h in range(heads):
            c0 = h * hd
            s = [i32(sum((q[t * D + c0 + d] - zq) * (k[j * D + c0 + d] - zk) for d in range(hd)))
                 for j in range(n)]
            m = max(s)
            e = [iexp(rq(max(sj - m, -2**30), ms, shift_s)) for sj in s]
            tot = sum(e)
            p = [(ej << P) // tot for ej in e]
            for d in range(hd):
                o = sum(p[j] * (v[j * D + c0 + d] - zv) for j in range(n))
                out[t * D + c0 + d] = clamp(zc + rq(o, mo, shift_o), lo, hi)
    return out


def model(width, height, pixels, step_limit=65536):
    img = {k: list(v) for k, v in pixels.items()}

    def px(x, y):
        return img.get((x, y), [0, 0, 0, 0])

    def header(row):
        p = px(0, row)
        return p[0] + 256 * p[1], p[2] + 256 * p[3]  # cols, rows

    def fits(row, cols, rows):
        n = cols * rows
        return 1 <= row < height and row + max(1, -(-n // (width - 1))) <= height

    def xy(row, i):
        return 1 + i % (width - 1), row + i // (width - 1)

    def r8(row, i):
        return px(*xy(row, i))[0]

    def rw(row, i):
        return word(px(*xy(row, i)))

    def set_header(row, cols, rows):
        img[(0, row)] = [cols & 255, cols >> 8, rows & 255, rows >> 8]

    def write_u8(row, vals):
        for i, v in enumerate(vals):
            p = xy(row, i)
            img[p] = [v] + px(*p)[1:]

    pc, steps = 0, 0
    while True:
        if pc >= width:
            return dict(status="halted", steps=steps, pc=pc, image=img)
        try:
            if steps >= step_limit:
                raise Trap("STEP_LIMIT", pc, 0)
            opp = px(pc, 0)
            op = opp[0]
            if op not in PARAMS:
                raise Trap("BAD_OPCODE", pc, 0)
            if pc + PARAMS[op] >= width:
                raise Trap("TRUNCATED", pc, 0)
            Pp = [px(pc + 1 + i, 0) for i in range(PARAMS[op])]
            rows = opp[1:4]
            ins = [] if op == HALT else ([0, 2] if op == DEQUANT else [0, 1, 2])
            for i in ins:
                if not 1 <= rows[i] < height:
                    raise Trap("ROW_OUT_OF_IMAGE", pc, 0)
            shape = [None] * 3
            for i in ins[:-1]:  # the inputs (c is out)
                cols, rws = header(rows[i])
                if cols == 0 or rws == 0:
                    raise Trap("BAD_HEADER", 0, rows[i])
                if not fits(rows[i], cols, rws):
                    raise Trap("MATRIX_OVERFLOW", 0, rows[i])
                shape[i] = (cols, rws)
            out = None
            if op == DEQUANT:  # only the i32 form is modelled here (§16.4)
                scale = word(Pp[1])
                if Pp[0] != [3, 0, 1, 0] or not 0x00800000 < scale < 0x7F800000 or Pp[2] != [0, 0, 0, 0]:
                    raise Trap("BAD_PARAM", pc, 0)
                out = shape[0]
            elif op == QLAYERNORM:
                za, zc, shift, r1 = Pp[0]
                E = i32(word(Pp[1]))
                lo, hi, r3, r4 = Pp[2]
                if not 1 <= shift <= 62 or r1 or E < 0 or lo > hi or r3 or r4:
                    raise Trap("BAD_PARAM", pc, 0)
                (N, R), hb = shape[0], shape[1]
                if N > 8192:
                    raise Trap("SHAPE_MISMATCH", 0, rows[0])
                if hb != (N, 2):
                    raise Trap("SHAPE_MISMATCH", 0, rows[1])
                out = shape[0]
            elif op == QLUT:
                if shape[1] != (256, 1):
                    raise Trap("SHAPE_MISMATCH", 0, rows[1])
                out = shape[0]
            elif op == QATTENTION:
                zq, zk, zv, zc = Pp[0]
                v_row, heads = Pp[1][0] + 256 * Pp[1][1], Pp[1][2] + 256 * Pp[1][3]
                ms, mo = i32(word(Pp[2])), i32(word(Pp[3]))
                shift_s, shift_o, lo, hi = Pp[4]
                if not 1 <= v_row < height or heads == 0 or ms < 0 or mo < 0 or not 1 <= shift_s <= 62 or \
                        not 1 <= shift_o <= 62 or lo > hi:
                    raise Trap("BAD_PARAM", pc, 0)
                (D, T), (kc, L) = shape[0], shape[1]
                if D % heads:
                    raise Trap("SHAPE_MISMATCH", 0, rows[0])
                if kc != D or L < T:
                    raise Trap("SHAPE_MISMATCH", 0, rows[1])
                if header(v_row) != (kc, L):
                    raise Trap("SHAPE_MISMATCH", 0, v_row)
                if not fits(v_row, kc, L):
                    raise Trap("MATRIX_OVERFLOW", 0, v_row)
                out = shape[0]
            if out is not None and not fits(rows[2], *out):
                raise Trap("MATRIX_OVERFLOW", 0, rows[2])
        except Trap as t:
            return dict(status="trapped", steps=steps, pc=pc, trap=t.name, trap_x=t.x, trap_y=t.y, image=img)

        if op == DEQUANT:
            n = out[0] * out[1]
            a = np.array([float(i32(rw(rows[0], i))) for i in range(n)], np.float64).astype(F32)  # one rounding
            c = fm.mul(a, fm.f(np.array([scale] * n, U32)))
            vals = [int(w) for w in fm.b(c)]
            set_header(rows[2], *out)
            for i, w in enumerate(vals):
                img[xy(rows[2], i)] = pix(w)
        elif op == QLAYERNORM:
            G = [i32(rw(rows[1], j)) for j in range(N)]
            Bv = [i32(rw(rows[1], N + j)) for j in range(N)]
            a = [[r8(rows[0], r * N + j) for j in range(N)] for r in range(R)]
            res = [vv for row in a for vv in layernorm_row(row, G, Bv, za, zc, shift, E, lo, hi)]
            set_header(rows[2], *out)
            write_u8(rows[2], res)
        elif op == QLUT:
            n = out[0] * out[1]
            table = [r8(rows[1], i) for i in range(256)]
            res = [table[r8(rows[0], i)] for i in range(n)]
            set_header(rows[2], *out)
            write_u8(rows[2], res)
        elif op == QATTENTION:
            q = [r8(rows[0], i) for i in range(T * D)]
            k = [r8(rows[1], i) for i in range(L * D)]
            v = [r8(v_row, i) for i in range(L * D)]
            res = attention(q, k, v, T, L, D, heads, zq, zk, zv, zc, ms, mo, shift_s, shift_o, lo, hi)
            set_header(rows[2], *out)
            write_u8(rows[2], res)
        steps += 1
        if op == HALT:
            return dict(status="halted", steps=steps, pc=pc, image=img)
        pc = pc + 1 + PARAMS[op]


# ---- Building programs ----


def ln_p(za, zc, shift, E, lo=0, hi=255, r1=0, r3=0):
    return [[za, zc, shift, r1], pix(E), [lo, hi, r3, 0]]


def att_p(zq, zk, zv, zc, v_row, heads, ms, mo, shift_s, shift_o, lo=0, hi=255):
    return [[zq, zk, zv, zc], [v_row & 255, v_row >> 8, heads & 255, heads >> 8], pix(ms), pix(mo),
            [shift_s, shift_o, lo, hi]]


def deq_p(scale_bits, zp=0, dtype=(3, 0, 1, 0)):
    return [list(dtype), pix(scale_bits), [zp, 0, 0, 0]]


VECTORS = []


def vector(name, description, prog, hand):
    r = model(prog.width, prog.height, prog.px, prog.step_limit)
    check_hand(name, prog, r, hand)
    VECTORS.append((name, description, prog, r))


# ------------------------------------------------------------------------------------------------
# The vectors. Hand values in the comments.

def rnd(seed):
    """A small deterministic generator (LCG) so the vectors never depend on a library's RNG."""
    state = [seed & M32]

    def nxt(lo, hi):
        state[0] = (state[0] * 1664525 + 1013904223) & M32
        return lo + (state[0] >> 8) % (hi - lo + 1)
    return nxt


# ---- QLAYERNORM (§16.1) ----

# Row 0 [130 126 128 128], za 128: x = [2 -2 0 0], S = 0, d = [8 -8 0 0], V = 128, Q = 32, D = 5;
# t0 = (8*2^17 + 5) // 10 = 104858, t1 = (-8*2^17 + 5) // 10 = -104858, t2 = t3 = 0. G = 16,
# shift 16: (104858*16 + 2^15) // 2^16 = 26 -> 126; (-1677728 + 32768) // 65536 = -26 -> 74;
# B = -2^15: (0) // 2^16 = 0 -> 100 (the tie rounds up); B = -3*2^15: -65536 // 65536 = -1 -> 99.
# Row 1 all 77 (E = 0): V = 0, D = 0, every t = 0: the biases alone, [100 100 100 99].
vector("qint_layernorm", "QLAYERNORM of 2 rows of 4: a worked row and an all-equal row (D = 0: the "
       "bias alone); ties of the final rounding go up",
       Prog(10, 4).ins(0, QLAYERNORM, 1, 2, 3, ln_p(128, 100, 16, 0)).ins(4, HALT, 0, 0, 0)
       .mat(1, 2, 4, u8=[130, 126, 128, 128, 77, 77, 77, 77])
       .mat(2, 2, 4, [16, 16, 16, 16, 0, 0, -32768, -98304]),
       dict(status="halted", steps=2, pc=4, pixels={(0, 3): [4, 0, 2, 0]},
            r={(1, 3): 126, (2, 3): 74, (3, 3): 100, (4, 3): 99, (5, 3): 100, (8, 3): 99}))

# za 255, zc 0, clamp [3, 250], E = 5, shift 20: row [255 255 255] is all equal (d = 0) but
# D = isqrt(0 + 5) = 2 > 0; t = 0 anyway. B = [3*2^20, -2^20, 2^30]: rq = 3, -1, 1024 -> clamp to
# 3, 3 (below clamp_lo), 250 (above clamp_hi). G, B, A of c's pixels are kept.
vector("qint_layernorm_eps_clamp", "QLAYERNORM with E > 0 on an all-equal row (D = 2, t = 0), zero "
       "point 255, and both clamp bounds; c's G, B, A kept",
       Prog(10, 4).ins(0, QLAYERNORM, 1, 2, 3, ln_p(255, 0, 20, 5, 3, 250)).ins(4, HALT, 0, 0, 0)
       .mat(1, 1, 3, u8=[255, 255, 255]).mat(2, 2, 3, [7, -7, 1 << 30, 3 << 20, -(1 << 20), 1 << 30])
       .mat(3, 1, 3, u8=[[0, 1, 2, 3]] * 3),
       dict(status="halted", steps=2, pc=4, pixels={(1, 3): [3, 1, 2, 3], (2, 3): [3, 1, 2, 3],
                                                     (3, 3): [250, 1, 2, 3]}))


def layernorm_tool(x_rows, gamma, beta, s_a, s_c, eps, shift):
    """What a tool writes (§16.1 "Meaning"): E, G, B from real values."""
    N = len(gamma)
    E = round(eps * N * N / s_a**2)
    G = [round(g * 2**(shift - 16) / s_c) for g in gamma]
    B = [round(b * 2**shift / s_c) for b in beta]
    return E, G, B


def random_layernorm(name, seed, R, N, za, zc, width):
    r = rnd(seed)
    a = [r(0, 255) for _ in range(R * N)]
    gamma = [r(500, 1500) / 1000 for _ in range(N)]
    beta = [r(-500, 500) / 1000 for _ in range(N)]
    E, G, B = layernorm_tool(None, gamma, beta, 0.05, 0.02, 1e-5, 24)
    rows_a = -(-R * N // (width - 1))
    rows_b = -(-2 * N // (width - 1))
    p = Prog(width, 1 + 2 * rows_a + rows_b).ins(0, QLAYERNORM, 1, 1 + rows_a, 1 + rows_a + rows_b,
                                                 ln_p(za, zc, 24, E)).ins(4, HALT, 0, 0, 0)
    p.mat(1, R, N, u8=a).mat(1 + rows_a, 2, N, G + B)
    vector(name, f"QLAYERNORM of {R} rows of {N} random codes (za {za}, zc {zc}) with a tool's E, gains "
           "and biases (s_a 0.05, s_c 0.02, eps 1e-5, shift 24); matrices span several image rows",
           p, dict(status="halted", steps=2, pc=4))
    # The integers against the real layer norm they stand for: within a few codes.
    res = model(p.width, p.height, p.px)["image"]
    for rr in range(R):
        x = np.array([(v - za) * 0.05 for v in a[rr * N:(rr + 1) * N]])
        y = (x - x.mean()) / np.sqrt(x.var() + 1e-5) * np.array(gamma) + np.array(beta)
        want = np.clip(np.round(y / 0.02) + zc, 0, 255)
        row_c = 1 + rows_a + rows_b
        got = np.array([res[(1 + i % (width - 1), row_c + i // (width - 1))][0]
                        for i in range(rr * N, (rr + 1) * N)])
        assert np.abs(got - want).max() <= 1, (name, rr, np.abs(got - want).max())


random_layernorm("qint_layernorm_random", 11, 3, 40, 131, 117, 17)

# N = 8192, the limit: one row, za 0, codes 0 except 255 at columns 0 and 4000; gains 0 except at
# 0, 1, 4000, 8191, biases 0, zc 0: the other outputs are 0 and not listed. S = 510,
# d(255) = 8192*255 - 510 = 2088450, d(0) = -510, V = 2*2088450^2 + 8190*510^2.
wide = Prog(257, 1 + 32 + 64 + 32).ins(0, QLAYERNORM, 1, 33, 97, ln_p(0, 0, 20, 0)).ins(4, HALT, 0, 0, 0)
wide_a = [0] * 8192
wide_a[0] = wide_a[4000] = 255
wide_g = [0] * 8192
wide_g[0], wide_g[1], wide_g[4000], wide_g[8191] = 1000, -300000, 7, -2**31
wide.mat(1, 1, 8192, u8=wide_a).mat(33, 2, 8192, wide_g + [0] * 8192)
_S, _V = 510, 2 * 2088450**2 + 8190 * 510**2
_D = math.isqrt(_V // 8192)
_t_hi, _t_lo = (2088450 * 2**17 + _D) // (2 * _D), (-510 * 2**17 + _D) // (2 * _D)
vector("qint_layernorm_n8192", "QLAYERNORM of one row of N = 8192 columns (the limit): the largest "
       "d_i and V of the spec's bounds, gains up to -2^31",
       wide, dict(status="halted", steps=2, pc=4,
                  r={(1, 97): clamp((_t_hi * 1000 + 2**19) >> 20, 0, 255),
                     (2, 97): clamp((_t_lo * -300000 + 2**19) >> 20, 0, 255),
                     (256, 97 + 31): clamp((_t_lo * -2**31 + 2**19) >> 20, 0, 255)}))

vector("qint_trap_layernorm_n", "QLAYERNORM of rows of 8193 columns is SHAPE_MISMATCH at a's header",
       Prog(257, 1 + 33 + 65).ins(0, QLAYERNORM, 1, 34, 34, ln_p(0, 0, 20, 0)).ins(4, HALT, 0, 0, 0)
       .mat(1, 1, 8193).mat(34, 2, 8193),
       dict(status="trapped", steps=0, pc=0, trap=("SHAPE_MISMATCH", 0, 1), unchanged=True))


def ln_trap(name, desc, params, b_rows=2, trap=("BAD_PARAM", 0, 0)):
    vector(name, desc, Prog(10, 4).ins(0, QLAYERNORM, 1, 2, 3, params).ins(4, HALT, 0, 0, 0)
           .mat(1, 1, 3, u8=[1, 2, 3]).mat(2, b_rows, 3, [1] * (3 * b_rows)),
           dict(status="trapped", steps=0, pc=0, trap=trap, unchanged=True))


ln_trap("qint_trap_layernorm_shift", "QLAYERNORM shift 0 is BAD_PARAM", ln_p(0, 0, 0, 0))
ln_trap("qint_trap_layernorm_shift63", "QLAYERNORM shift 63 is BAD_PARAM", ln_p(0, 0, 63, 0))
ln_trap("qint_trap_layernorm_reserved", "QLAYERNORM with P1's A = 1 is BAD_PARAM", ln_p(0, 0, 8, 0, r1=1))
ln_trap("qint_trap_layernorm_eps", "QLAYERNORM with E = -1 is BAD_PARAM", ln_p(0, 0, 8, -1))
ln_trap("qint_trap_layernorm_clamp", "QLAYERNORM with clamp_lo 9 > clamp_hi 8 is BAD_PARAM",
        ln_p(0, 0, 8, 0, 9, 8))
ln_trap("qint_trap_layernorm_reserved3", "QLAYERNORM with P3's B = 1 is BAD_PARAM", ln_p(0, 0, 8, 0, r3=1))
ln_trap("qint_trap_layernorm_b", "QLAYERNORM with b 1x3 (not 2x3) is SHAPE_MISMATCH at b's header",
        ln_p(0, 0, 8, 0), b_rows=1, trap=("SHAPE_MISMATCH", 0, 2))

# ---- QLUT (§16.2) ----

LUT = [255 - i for i in range(256)]
LUT[0] = 7
# a = [0 1 128 254 255 3] -> [7 254 127 1 0 252]; c's G, B, A (1, 2, 3) kept.
vector("qint_lut", "QLUT: c[i] = b[a[i]] over a 2x3 matrix, codes 0 and 255 included; c's G, B, A kept",
       Prog(8, 42).ins(0, QLUT, 1, 2, 40).ins(1, HALT, 0, 0, 0)
       .mat(1, 2, 3, u8=[0, 1, 128, 254, 255, 3]).mat(2, 1, 256, u8=LUT).mat(40, 2, 3, u8=[[0, 1, 2, 3]] * 6),
       dict(status="halted", steps=2, pc=1, pixels={(0, 40): [3, 0, 2, 0], (1, 40): [7, 1, 2, 3],
                                                     (2, 40): [254, 1, 2, 3], (3, 40): [127, 1, 2, 3],
                                                     (4, 40): [1, 1, 2, 3], (5, 40): [0, 1, 2, 3],
                                                     (6, 40): [252, 1, 2, 3]}))


def gelu(x):
    return 0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


# The GELU table a tool fills (§16.2): in scale 0.05, zero point 128; out scale 0.03, zero point 10.
GELU_LUT = [clamp(round(gelu((c - 128) * 0.05) / 0.03) + 10, 0, 255) for c in range(256)]
vector("qint_lut_gelu_in_place", "QLUT with a tool's GELU table (in 0.05/128, out 0.03/10), in place "
       "(c = a): code 128 (real 0) gives 10 (real 0)",
       Prog(9, 40).ins(0, QLUT, 1, 2, 1).ins(1, HALT, 0, 0, 0)
       .mat(1, 2, 8, u8=[0, 60, 100, 127, 128, 129, 160, 255] * 2).mat(2, 1, 256, u8=GELU_LUT),
       dict(status="halted", steps=2, pc=1, r={(5, 1): 10, (1, 1): GELU_LUT[0], (8, 1): GELU_LUT[255]}))

vector("qint_trap_lut_table", "QLUT with a 1x255 table is SHAPE_MISMATCH at b's header",
       Prog(8, 40).ins(0, QLUT, 1, 2, 1).ins(1, HALT, 0, 0, 0).mat(1, 1, 2, u8=[1, 2])
       .mat(2, 1, 255, u8=[1] * 255),
       dict(status="trapped", steps=0, pc=0, trap=("SHAPE_MISMATCH", 0, 2), unchanged=True))
vector("qint_trap_lut_table_rows", "QLUT with a 2x128 table is SHAPE_MISMATCH at b's header",
       Prog(8, 40).ins(0, QLUT, 1, 2, 1).ins(1, HALT, 0, 0, 0).mat(1, 1, 2, u8=[1, 2])
       .mat(2, 2, 128, u8=[1] * 256),
       dict(status="trapped", steps=0, pc=0, trap=("SHAPE_MISMATCH", 0, 2), unchanged=True))

# ---- QATTENTION (§16.3) ----

# One visible row (T = L = 1): p_0 = 2^22 exactly; Mo = 1, shift_o = 22: out = zc + (v - zv):
# [140 100] with v = [140 100], zv = zc = 128.
vector("qint_attention_one_row", "QATTENTION with one visible row: p = 2^22 exactly, out = zc + v - zv",
       Prog(8, 5).ins(0, QATTENTION, 1, 2, 4, att_p(128, 128, 128, 128, 3, 1, 1 << 30, 1, 31, 22))
       .ins(6, HALT, 0, 0, 0)
       .mat(1, 1, 2, u8=[130, 120]).mat(2, 1, 2, u8=[100, 200]).mat(3, 1, 2, u8=[140, 100]),
       dict(status="halted", steps=2, pc=6, pixels={(0, 4): [2, 0, 1, 0]}, r={(1, 4): 140, (2, 4): 100}))

# All scores equal (q = zq): e_j = iexp(0) for the 3 rows, p = 2^22 // 3 = 1398101. Column 0:
# v - zv = [2 3 7], o = 1398101 * 12 = 16777212, rq(o, 1, 22) = (16777212 + 2^21) >> 22 = 4;
# column 1: [0 0 1], o = 1398101 -> 0. zc = 0.
vector("qint_attention_uniform", "QATTENTION over 3 rows with equal scores: p = floor(2^22/3) each",
       Prog(8, 5).ins(0, QATTENTION, 1, 2, 4, att_p(128, 128, 128, 0, 3, 1, 1 << 30, 1, 31, 22))
       .ins(6, HALT, 0, 0, 0)
       .mat(1, 1, 2, u8=[128, 128]).mat(2, 3, 2, u8=[1, 2, 3, 4, 5, 6]).mat(3, 3, 2, u8=[130, 128, 131, 128, 135, 129]),
       dict(status="halted", steps=2, pc=6, r={(1, 4): 4, (2, 4): 0}))

# Scores [0 3 -1] (q - zq = [1 1], K - zk = [0 0; 2 1; -1 0]); Ms = 2^31 - 1, shift_s 1: any
# delta <= -1 gives z <= -2^30 + ..., k >= 64, e = 0: p = [0 2^22 0], out = v[1] = [200 255] -> clamp
# 250.
vector("qint_attention_one_hot", "QATTENTION whose scaled score gaps push iexp to 0 (k >= 64): out = "
       "the best row's values, clamped to 250",
       Prog(8, 5).ins(0, QATTENTION, 1, 2, 4, att_p(128, 128, 0, 0, 3, 1, 2**31 - 1, 1, 1, 22, 0, 250))
       .ins(6, HALT, 0, 0, 0)
       .mat(1, 1, 2, u8=[129, 129]).mat(2, 3, 2, u8=[128, 128, 130, 129, 127, 128])
       .mat(3, 3, 2, u8=[10, 0, 200, 255, 50, 1]),
       dict(status="halted", steps=2, pc=6, r={(1, 4): 200, (2, 4): 250}))


def att_prog(seed, T, L, D, heads, z, width, s_q=0.04, s_k=0.05, s_v=0.03, s_o=0.02, lo=0, hi=255, step=False):
    """Random codes and a tool's multipliers (§16.3 "Meaning"); with step, a second instruction runs
    the last query row alone (T = 1) into another matrix."""
    r = rnd(seed)
    q = [r(0, 255) for _ in range(T * D)]
    k = [r(0, 255) for _ in range(L * D)]
    v = [r(0, 255) for _ in range(L * D)]
    hd = D // heads
    ms_real = s_q * s_k / math.sqrt(hd) * 2**F
    mo_real = s_v / (s_o * 2**P)

    def mult(x):
        e = math.frexp(x)[1]
        shift = 31 - e
        return round(x * 2**shift), shift
    ms, shift_s = mult(ms_real)
    mo, shift_o = mult(mo_real)
    per = width - 1
    nrows = lambda n: -(-n // per)  # noqa: E731
    rq_, rk, rv, ro = 1, 1 + nrows(T * D), 1 + nrows(T * D) + nrows(L * D), 1 + nrows(T * D) + 2 * nrows(L * D)
    height = ro + nrows(T * D) + (nrows(D) * 2 if step else 0)
    p = Prog(width, height).ins(0, QATTENTION, rq_, rk, ro, att_p(*z, rv, heads, ms, mo, shift_s, shift_o, lo, hi))
    p.mat(rq_, T, D, u8=q).mat(rk, L, D, u8=k).mat(rv, L, D, u8=v)
    if step:
        rq1 = ro + nrows(T * D)
        ro1 = rq1 + nrows(D)
        p.ins(6, QATTENTION, rq1, rk, ro1, att_p(*z, rv, heads, ms, mo, shift_s, shift_o, lo, hi))
        p.ins(12, HALT, 0, 0, 0).mat(rq1, 1, D, u8=q[(T - 1) * D:])
        return p, (ro, ro1)
    p.ins(6, HALT, 0, 0, 0)
    return p, (ro,)


p_pre, (r_pre, r_step) = att_prog(5, 3, 3, 4, 2, (120, 130, 128, 125), 13, step=True)
res = model(p_pre.width, p_pre.height, p_pre.px)["image"]
vector("qint_attention_prefill_step", "QATTENTION prefill (T = L = 3, 2 heads) then the step of the last "
       "query alone (T = 1): the step's row equals the prefill's last row",
       p_pre, dict(status="halted", steps=3, pc=12,
                   r={(1 + d, r_step): res[(1 + (8 + d) % 12, r_pre + (8 + d) // 12)][0] for d in range(4)}))

p_heads, _ = att_prog(6, 2, 7, 12, 3, (0, 255, 255, 255), 11, lo=20, hi=230)
vector("qint_attention_heads", "QATTENTION with 3 heads of 4, T = 2 over L = 7 (rows 0..5 and 0..6 "
       "visible), extreme zero points (0, 255, 255, 255) and a clamp [20, 230]",
       p_heads, dict(status="halted", steps=2, pc=6))

p_long, _ = att_prog(7, 1, 40, 8, 1, (128, 128, 128, 128), 33, s_q=0.1, s_k=0.1)
vector("qint_attention_long", "QATTENTION step (T = 1) over L = 40 cached rows, one head of 8, wide "
       "score range (s_q = s_k = 0.1)", p_long, dict(status="halted", steps=2, pc=6))


def att_trap(name, desc, params, trap=("BAD_PARAM", 0, 0), q=(1, 2), k=(2, 2), v=(2, 2), v_at=3):
    p = Prog(8, 6).ins(0, QATTENTION, 1, 2, 4, params).ins(6, HALT, 0, 0, 0)
    p.mat(1, q[0], q[1], u8=[1] * (q[0] * q[1])).mat(2, k[0], k[1], u8=[2] * (k[0] * k[1]))
    p.mat(v_at, v[0], v[1], u8=[3] * (v[0] * v[1]))
    vector(name, desc, p, dict(status="trapped", steps=0, pc=0, trap=trap, unchanged=True))


OK_P = dict(zq=0, zk=0, zv=0, zc=0, v_row=3, heads=1, ms=1, mo=1, shift_s=1, shift_o=1)


def ap(**kw):
    d = dict(OK_P, **kw)
    lo, hi = d.pop("lo", 0), d.pop("hi", 255)
    return att_p(d["zq"], d["zk"], d["zv"], d["zc"], d["v_row"], d["heads"], d["ms"], d["mo"], d["shift_s"],
                 d["shift_o"], lo, hi)


att_trap("qint_trap_attention_v_row", "QATTENTION with v_row 0 is BAD_PARAM", ap(v_row=0))
att_trap("qint_trap_attention_v_row_out", "QATTENTION with v_row 6 (= height) is BAD_PARAM", ap(v_row=6))
att_trap("qint_trap_attention_heads0", "QATTENTION with 0 heads is BAD_PARAM", ap(heads=0))
att_trap("qint_trap_attention_ms", "QATTENTION with Ms = -1 is BAD_PARAM", ap(ms=-1))
att_trap("qint_trap_attention_mo", "QATTENTION with Mo = -2^31 is BAD_PARAM", ap(mo=-2**31))
att_trap("qint_trap_attention_shift_s", "QATTENTION with shift_s 0 is BAD_PARAM", ap(shift_s=0))
att_trap("qint_trap_attention_shift_o", "QATTENTION with shift_o 63 is BAD_PARAM", ap(shift_o=63))
att_trap("qint_trap_attention_clamp", "QATTENTION with clamp_lo 200 > clamp_hi 100 is BAD_PARAM",
         ap(lo=200, hi=100))
att_trap("qint_trap_attention_heads", "QATTENTION with 3 heads for 2 columns is SHAPE_MISMATCH at q",
         ap(heads=3), trap=("SHAPE_MISMATCH", 0, 1))
att_trap("qint_trap_attention_k_cols", "QATTENTION with K 2x3 for q 1x2 is SHAPE_MISMATCH at K",
         ap(), trap=("SHAPE_MISMATCH", 0, 2), k=(2, 3), v=(2, 3))
att_trap("qint_trap_attention_empty", "QATTENTION with 2 query rows over a 1-row cache (T > L) is "
         "SHAPE_MISMATCH at K", ap(), trap=("SHAPE_MISMATCH", 0, 2), q=(2, 2), k=(1, 2), v=(1, 2))
att_trap("qint_trap_attention_v_shape", "QATTENTION with V 1x2 for K 2x2 is SHAPE_MISMATCH at V's header",
         ap(), trap=("SHAPE_MISMATCH", 0, 3), v=(1, 2))

# V's header equal to K's (14 x 2 = 28 elements, 4 rows of 7) but V at row 4 of a 6-row image
# does not fit: MATRIX_OVERFLOW at (0, 4). K (row 1 here) fits.
_pv = Prog(8, 6).ins(0, QATTENTION, 5, 1, 5, ap(v_row=4)).ins(6, HALT, 0, 0, 0)
_pv.mat(5, 1, 2, u8=[1, 1]).mat(1, 14, 2).mat(4, 14, 2)
vector("qint_trap_attention_v_fit", "QATTENTION whose V (14x2 at row 4 of 6) does not fit is "
       "MATRIX_OVERFLOW at V's header", _pv,
       dict(status="trapped", steps=0, pc=0, trap=("MATRIX_OVERFLOW", 0, 4), unchanged=True))

# ---- DEQUANT of i32 (§16.4) ----

# scale 0.5: 0 -> +0; 1 -> 0.5; -1 -> -0.5; 2^24 + 1 -> 2^24 (tie to even) -> 2^23;
# 2^24 + 3 -> 2^24 + 4 (tie to even) -> 2^23 + 2; -2^31 -> -2^30; 2^31 - 1 -> 2^31 -> 2^30;
# 123456789 -> 123456792 -> 61728396.
DQ = [0, 1, -1, 2**24 + 1, 2**24 + 3, -2**31, 2**31 - 1, 123456789]
vector("qint_dequant_i32", "DEQUANT of i32 input: int32 -> binary32 rounds to nearest even "
       "(2^24+1, 2^24+3, 2^31-1, 123456789), times the scale 0.5",
       Prog(10, 4).ins(0, DEQUANT, 1, 0, 2, deq_p(bits(0.5))).ins(4, HALT, 0, 0, 0).mat(1, 1, 8, DQ),
       dict(status="halted", steps=2, pc=4,
            words={(1, 2): 0, (2, 2): bits(0.5), (3, 2): bits(-0.5), (4, 2): bits(2.0**23),
                   (5, 2): bits(2.0**23 + 2), (6, 2): bits(-2.0**30), (7, 2): bits(2.0**30),
                   (8, 2): bits(61728396.0)}))

# scale 2^100: 2^31 - 1 -> 2^31 * 2^100 = 2^131 > max -> +inf; -3 -> -3 * 2^100.
vector("qint_dequant_i32_overflow", "DEQUANT of i32 with scale 2^100: 2^31-1 overflows to +inf",
       Prog(10, 4).ins(0, DEQUANT, 1, 0, 2, deq_p(bits(2.0**100))).ins(4, HALT, 0, 0, 0)
       .mat(1, 1, 2, [2**31 - 1, -3]),
       dict(status="halted", steps=2, pc=4, words={(1, 2): 0x7F800000, (2, 2): bits(-3 * 2.0**100)}))

vector("qint_trap_dequant_i32_zero_point", "DEQUANT of i32 with zero point 3 is BAD_PARAM",
       Prog(10, 4).ins(0, DEQUANT, 1, 0, 2, deq_p(bits(0.5), zp=3)).ins(4, HALT, 0, 0, 0).mat(1, 1, 2, [1, 2]),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 0, 0), unchanged=True))
vector("qint_trap_dequant_i32_dtype", "DEQUANT declaring (i32, none, f16) is BAD_PARAM",
       Prog(10, 4).ins(0, DEQUANT, 1, 0, 2, deq_p(bits(0.5), dtype=(3, 0, 2, 0))).ins(4, HALT, 0, 0, 0)
       .mat(1, 1, 2, [1, 2]),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 0, 0), unchanged=True))


def accuracy():
    """§16.3: iexp(z) * 0.3585 / 2^32 against exp(z / 2^16) on every u = -z with k <= K."""
    u = np.arange(0, 24 * LN2, dtype=np.int64)
    k, r = u // LN2, u % LN2
    L = (EXP_B - r) ** 2 + EXP_C
    e = (L >> k).astype(np.float64) * 0.3585 / 2**32
    rel = np.abs(e / np.exp(-u / 2**F) - 1)
    for K in (0, 15, 19, 23):
        sel = k <= K
        i = np.argmax(rel * sel)
        print(f"k <= {K:2d} (z >= {-(K + 1) * LN2 / 2**F:6.2f}): max relative error {rel[sel].max():.4%} "
              f"at z = {-u[i] / 2**F:.4f}")


if __name__ == "__main__":
    if "--accuracy" in sys.argv[1:]:
        accuracy()
    else:
        vector_files.write_all(VECTORS, HERE, "qint_", "make_qint_vectors.py", "integer transformer",
                               "--check" in sys.argv[1:])
