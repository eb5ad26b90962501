#!/usr/bin/python3
"""Test vectors for the pxOS float definitions (PROTOCOL.md §15), from an independent model.

This is a model of the text of PROTOCOL.md §15 written with NumPy float32 arrays, not a
translation of engine/numeric/fmath.cpp: it is vectorized (every branch computed for all inputs, then
selected), derives the constants from their mathematical definitions and checks them against the
bit patterns the spec lists, converts float16 with NumPy's own float16 type, computes Dekker's
exact product as a float64 product, and scales by 2^n with ldexp in float64 (the spec claims the
two-step scaling rounds only once; the model relies on that claim, the C++ does not, so the
vectors test it). Run with Debian's /usr/bin/python3 (NumPy 1.24):

    /usr/bin/python3 tests/vectors/make_fmath_vectors.py

It writes tests/vectors/fmath/*.json, checked byte for byte by tests/fmath_test.cpp. With
--check it writes nothing and fails (exit 1) if a file differs from what the model produces now
(ctest fmath_vectors_current; exit 77, skipped, where NumPy is missing).
"""
import json
import math
import os
import sys
from fractions import Fraction

try:
    import numpy as np
except ImportError:
    print("SKIP: NumPy is not installed for", sys.executable)
    sys.exit(77)

F32 = np.float32
U32 = np.uint32
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fmath")

# ---- Bits and canonicalization (spec: "Canonical values") ----


def f(bits):
    return np.asarray(bits, dtype=U32).view(F32)


def b(x):
    return np.asarray(x, dtype=F32).view(U32)


def canon(x):
    """NaN -> 0x7FC00000; |x| <= 2^-126 (zeros, subnormals, 2^-126) -> +0; else x."""
    u = b(x)
    mag = u & U32(0x7FFFFFFF)
    out = np.where(mag > 0x7F800000, U32(0x7FC00000), np.where(mag <= 0x00800000, U32(0), u))
    return f(out.astype(U32))


def add(x, y):
    with np.errstate(all="ignore"):
        return canon(np.asarray(x, F32) + np.asarray(y, F32))


def sub(x, y):
    with np.errstate(all="ignore"):
        return canon(np.asarray(x, F32) - np.asarray(y, F32))


def mul(x, y):
    with np.errstate(all="ignore"):
        return canon(np.asarray(x, F32) * np.asarray(y, F32))


def isnan(x):
    return (b(x) & U32(0x7FFFFFFF)) > 0x7F800000


# ---- Constants: each defined mathematically, rounded to nearest float32, checked against the
# bit pattern the spec lists ----


def rn32(q):
    """A rational rounded to the nearest float32 (ties to even), via exact integer arithmetic."""
    q = Fraction(q)
    assert q > 0
    e = math.floor(math.log2(q))
    while Fraction(2) ** e > q:
        e -= 1
    while Fraction(2) ** (e + 1) <= q:
        e += 1
    scaled = q / Fraction(2) ** (e - 23)  # in [2^23, 2^24)
    n = math.floor(scaled)
    rest = scaled - n
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and n % 2 == 1):
        n += 1
    return F32(math.ldexp(n, e - 23))


def taylor_tanh(k):
    """Coefficient of x^(2k-1) in tanh x: 2^(2k) (2^(2k) - 1) B_(2k) / (2k)!."""
    bern = [Fraction(1)]
    for m in range(1, 2 * k + 1):
        bern.append(-sum(math.comb(m + 1, j) * bern[j] for j in range(m)) / (m + 1))
    return Fraction(2 ** (2 * k) * (2 ** (2 * k) - 1)) * bern[2 * k] / math.factorial(2 * k)


def const(q, spec_bits):
    neg = q < 0
    v = rn32(-q if neg else q)
    v = F32(-v) if neg else v
    assert int(b(v)) == spec_bits, f"constant {q}: model {int(b(v)):#x}, spec {spec_bits:#x}"
    return v


# ln 2 to 40 digits; ln2_hi is ln 2 with its significand cut to 16 bits, ln2_lo the float32
# nearest to the remainder.
LN2 = Fraction("0.6931471805599453094172321214581765680755")
LOG2E = 1 / LN2
L2E = const(LOG2E, 0x3FB8AA3B)
LN2_HI = F32(math.ldexp(math.floor(LN2 * 2**16), -16))
assert int(b(LN2_HI)) == 0x3F317200
LN2_LO = const(LN2 - Fraction(float(LN2_HI)), 0x35BFBE8E)
EXP_C = [const(Fraction(1, math.factorial(n)), s) for n, s in
         [(7, 0x39500D01), (6, 0x3AB60B61), (5, 0x3C088889), (4, 0x3D2AAAAB), (3, 0x3E2AAAAB), (2, 0x3F000000)]]
TANH_C = [const(taylor_tanh(k), s) for k, s in
          [(9, 0x3A1AAC12), (8, 0xBABED1B2), (7, 0x3B6B69E8), (6, 0xBC11371B), (5, 0x3CB327A4),
           (4, 0xBD5D0DD1), (3, 0x3E088889), (2, 0xBEAAAAAB)]]
# sqrt(2/pi) to 12 digits is enough to fix its float32 rounding (checked against the spec's bits).
SQRT_2_PI = const(Fraction("0.797884560802865"), 0x3F4C422A)
GELU_A = const(Fraction("0.044715"), 0x3D372713)
R_A = const(Fraction(24, 17), 0x3FB4B4B5)
R_B = const(Fraction(8, 17), 0x3EF0F0F1)

# ---- float16 (spec: "float16") ----


def to_f16(x):
    x = canon(x)
    with np.errstate(all="ignore"):
        h = x.astype(np.float16).view(np.uint16)  # NumPy: round to nearest even, with subnormals
    h = np.where(isnan(x), np.uint16(0x7E00), h)
    return np.where(h == 0x8000, np.uint16(0), h).astype(np.uint16)


def from_f16(h):
    x = np.asarray(h, np.uint16).view(np.float16).astype(F32)  # exact
    return canon(x)  # NaN -> canonical; -0 -> +0 (no f16 value is <= 2^-126 except zero)


# ---- Reductions (spec: "Summation order") ----


def block_sums(t):
    """t: (nb, 16). The halving tree: u[i] + u[i+8], then i+4, i+2, i+1."""
    v = t
    while v.shape[1] > 1:
        h = v.shape[1] // 2
        v = add(v[:, :h], v[:, h:])
    return v[:, 0]


def fsum(t):
    t = canon(np.asarray(t, F32))
    nb = -(-len(t) // 16)
    padded = np.zeros(nb * 16, F32)
    padded[: len(t)] = t
    acc = F32(0)
    for s in block_sums(padded.reshape(nb, 16)):
        acc = add(acc, s)
    return F32(acc)


def fdot(x, y):
    return fsum(mul(canon(np.asarray(x, F32)), canon(np.asarray(y, F32))))


# ---- Functions (spec: "Functions") ----


def scale2(p, n):
    """p * 2^n rounded once, then canonicalized (the spec's two exact steps)."""
    with np.errstate(all="ignore"):
        return canon(np.ldexp(np.asarray(p, np.float64), n).astype(F32))


def fexp(x):
    x = canon(np.asarray(x, F32))
    with np.errstate(all="ignore"):
        xs = np.where(isnan(x) | (x > 89) | (x < -104), F32(0), x)
        n = np.floor(add(mul(xs, L2E), F32(0.5)))
        r = sub(sub(xs, mul(n, LN2_HI)), mul(n, LN2_LO))
        p = np.full_like(r, EXP_C[0])
        for c in EXP_C[1:] + [F32(1), F32(1)]:
            p = add(mul(p, r), c)
        y = scale2(p, n.astype(np.int64))
        y = np.where(x > 89, F32(np.inf), np.where(x < -104, F32(0), y))
        return canon(np.where(isnan(x), F32(np.nan), y))


def two_product(x, y):
    exact = np.asarray(x, np.float64) * np.asarray(y, np.float64)  # 48 bits: exact in float64
    h = exact.astype(F32)
    return h, (exact - h.astype(np.float64)).astype(F32)


def frecip(x):
    x = canon(np.asarray(x, F32))
    u = b(x)
    mag = u & U32(0x7FFFFFFF)
    e = (mag >> U32(23)).astype(np.int64) - 127
    m = f((mag & U32(0x7FFFFF)) | U32(0x3F800000))
    y = sub(R_A, mul(R_B, m))
    for _ in range(3):
        y = add(y, mul(y, sub(F32(1), mul(m, y))))
    h, l = two_product(m, y)
    y = add(y, mul(y, sub(sub(F32(1), h), l)))
    y = scale2(y, -e)
    y = np.where(u & U32(0x80000000), -y, y)
    y = np.where(mag == 0, F32(np.inf), np.where(mag == 0x7F800000, F32(0), y))
    return canon(np.where(isnan(x), F32(np.nan), y))


def frsqrt(x):
    x = canon(np.asarray(x, F32))
    u = b(x)
    e = ((u >> U32(23)) & U32(0xFF)).astype(np.int64) - 127
    h = np.floor_divide(e, 2)
    m = f((u & U32(0x7FFFFF)) | ((127 + e - 2 * h).astype(U32) << U32(23)))
    y = f(U32(0x5F3759DF) - (b(m) >> U32(1)))
    for _ in range(2):
        y = add(y, mul(mul(F32(0.5), y), sub(F32(1), mul(mul(m, y), y))))
    yh, yl = two_product(y, y)
    mh, ml = two_product(m, yh)
    r = sub(sub(sub(F32(1), mh), ml), mul(m, yl))
    y = add(y, mul(mul(F32(0.5), y), r))
    y = scale2(y, -h)
    y = np.where(u == 0, F32(np.inf), np.where(u == 0x7F800000, F32(0), y))
    return canon(np.where(isnan(x) | (u >= 0x80000000), F32(np.nan), y))


def ftanh(x):
    x = canon(np.asarray(x, F32))
    a = np.abs(x)
    big = sub(F32(1), mul(F32(2), frecip(add(fexp(mul(F32(2), a)), F32(1)))))
    s = mul(a, a)
    p = np.full_like(s, TANH_C[0])
    for c in TANH_C[1:]:
        p = add(mul(p, s), c)
    small = add(a, mul(a, mul(s, p)))
    y = np.where(a >= 10, F32(1), np.where(a >= 0.5, big, small))
    y = np.where(x < 0, -y, y)
    return canon(np.where(isnan(x), F32(np.nan), y))


def fgelu(x):
    x = canon(np.asarray(x, F32))
    u = mul(SQRT_2_PI, add(x, mul(GELU_A, mul(mul(x, x), x))))
    y = mul(x, frecip(add(F32(1), fexp(mul(F32(-2), u)))))
    y = np.where(b(x) == 0x7F800000, F32(np.inf), np.where(b(x) == 0xFF800000, F32(0), y))
    return canon(np.where(isnan(x), F32(np.nan), y))


def fsoftmax(x):
    x = canon(np.asarray(x, F32))
    if isnan(x).any():
        return np.full_like(x, F32(np.nan))
    e = fexp(sub(x, np.max(x)))
    return mul(e, frecip(fsum(e)))


def flayernorm(x, g, bias, eps):
    x = canon(np.asarray(x, F32))
    r = frecip(F32(len(x)))
    d = sub(x, mul(fsum(x), r))
    s = frsqrt(add(mul(fdot(d, d), r), canon(F32(eps))))
    return add(mul(mul(d, s), canon(np.asarray(g, F32))), canon(np.asarray(bias, F32)))


# ---- Inputs ----

SPECIALS = [
    0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF, 0x00400000, 0x00800000,
    0x80800000, 0x00800001, 0x80800001, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001,
    0xFF800001, 0x7FC12345, 0xFFFFFFFF, 0x7FFFFFFF, 0x7F7FFFFF, 0xFF7FFFFF, 0x7F000000, 0x3F800000,
    0xBF800000, 0x3F000000, 0x3F7FFFFF, 0x3F800001, 0x3EFFFFFF, 0x40000000, 0x40400000, 0x3DCCCCCD,
    0x42B17217, 0x42B17218, 0x42B20000, 0x42B20001, 0xC2AEAC4F, 0xC2AEAC50, 0xC2CFFFFF, 0xC2D00000,
    0xC2D00001, 0x41200000, 0x411FFFFF, 0xC1200000, 0x33800000, 0x39800000, 0xB3800000, 0x7E800000,
    0x7E7FFFFF, 0x00FFFFFF, 0x01000000, 0x477FE000, 0x477FF000, 0x477FEFFF, 0x33000000, 0x33000001,
    0x387FC000, 0x38800000, 0x387FE000, 0xC0400000, 0xC1100000, 0x4E800000,
]


def unary_inputs(rng, lo, hi, count):
    xs = list(SPECIALS)
    xs += [int(v) for v in rng.integers(0, 2**32, count, dtype=np.uint64)]
    xs += [int(v) for v in b(rng.uniform(lo, hi, count).astype(F32))]
    return np.array(xs, dtype=U32)


def hexs(v):
    return f"0x{int(v):08X}"


CHECK = "--check" in sys.argv[1:]
STALE = []


def write(name, description, payload):
    path = os.path.join(OUT, name + ".json")
    text = json.dumps({"name": name, "description": description, **payload}, separators=(",", ":")) + "\n"
    if CHECK:
        try:
            with open(path) as fh:
                same = fh.read() == text
        except OSError:
            same = False
        if not same:
            STALE.append(path)
        return
    os.makedirs(OUT, exist_ok=True)
    with open(path, "w") as fh:
        fh.write(text)
    print("wrote", path)


def hand_checks():
    """Values worked out by hand (or from the definition of IEEE rounding), which the model must
    reproduce before it may write anything."""
    one = lambda fn, bits: int(b(fn(f(np.array([bits], U32))))[0])
    assert one(canon, 0x80000000) == 0 and one(canon, 0x00800000) == 0 and one(canon, 0x00800001) == 0x00800001
    assert one(canon, 0xFFC00001) == 0x7FC00000
    assert one(fexp, 0x00000000) == 0x3F800000  # e^0 = 1
    assert one(fexp, 0x3F800000) == 0x402DF854  # e = 2.71828182..., nearest float 0x402DF854
    assert one(fexp, 0x42B20000) == 0x7F800000 and one(fexp, 0xFF800000) == 0
    assert one(frecip, 0x40400000) == 0x3EAAAAAB  # 1/3 correctly rounded
    assert one(frecip, 0x80000000) == 0x7F800000  # 1/-0 = 1/+0 = +inf
    assert one(frsqrt, 0x40800000) == 0x3F000000  # 1/sqrt(4)
    assert one(frsqrt, 0xBF800000) == 0x7FC00000
    assert one(ftanh, 0x41200000) == 0x3F800000 and one(ftanh, 0xC1200000) == 0xBF800000
    assert int(to_f16(f(np.array([0x477FF000], U32)))[0]) == 0x7C00  # 65520 -> inf
    assert int(to_f16(f(np.array([0x477FE000], U32)))[0]) == 0x7BFF  # 65504 = max f16
    assert int(to_f16(f(np.array([0x33000000], U32)))[0]) == 0  # 2^-25: tie to even 0
    assert int(to_f16(f(np.array([0x33000001], U32)))[0]) == 1  # just above: 2^-24
    # fma-sensitive: (1+2^-12)^2 - (1+2^-11) is 2^-24 exactly, 0 with two roundings.
    a = f(np.array([0x3F800800, 0x3F801000], U32))
    c = f(np.array([0x3F800800, 0xBF800000], U32))
    assert int(b(fdot(a, c))) == 0
    # The order is the tree, not left to right: 1e8, 1, -1e8, 1 ... sums differently.
    # Left to right in float32 gives 1 (1e8 + 1 rounds back to 1e8); the tree pairs u[i] with
    # u[i+8]: [2e8, 2, -2e8, 2, ...] -> [4e8, 4, -4e8, 4] -> [0, 8] -> 8, the exact sum.
    t = np.array([1e8, 1, -1e8, 1] * 4, F32)
    seq = F32(0)
    for v in t:
        seq = F32(seq + v)
    assert float(seq) == 1.0 and float(fsum(t)) == 8.0


def main():
    hand_checks()
    rng = np.random.default_rng(20261201)
    fns = {"exp": (fexp, -110, 110), "tanh": (ftanh, -12, 12), "gelu": (fgelu, -12, 12),
           "recip": (frecip, -1e6, 1e6), "rsqrt": (frsqrt, 0, 1e6), "canon": (canon, -1, 1)}
    for name, (fn, lo, hi) in fns.items():
        x = unary_inputs(rng, lo, hi, 1000)
        y = b(fn(f(x)))
        write("fmath_" + name, f"{name}(x) for special, random-bit and random [{lo}, {hi}] inputs: [x, y] bits",
              {"cases": [[hexs(a), hexs(c)] for a, c in zip(x, y)]})
    x = unary_inputs(rng, -70000, 70000, 1500)
    x = np.concatenate([x, b(rng.uniform(-1e-4, 1e-4, 1000).astype(F32))])
    write("fmath_to_f16", "to_f16(x): [x bits, binary16 bits]",
          {"cases": [[hexs(a), f"0x{int(c):04X}"] for a, c in zip(x, to_f16(f(x)))]})
    # Every subnormal, inf and NaN pattern's edges, and every 13th pattern (the C++ test also runs
    # all 65536 through a round trip).
    h = np.unique(np.concatenate([np.arange(0, 65536, 13), np.arange(0, 40), np.arange(0x3F0, 0x410),
                                  np.arange(0x7BF0, 0x7E10), np.arange(0x8000, 0x8010), np.arange(0xFBF0, 0x10000)]))
    h = h.astype(np.uint16)
    write("fmath_from_f16", "from_f16(h) for binary16 patterns: [h, x bits]",
          {"cases": [[f"0x{int(a):04X}", hexs(c)] for a, c in zip(h, b(from_f16(h)))]})
    # Binary operations: all pairs of specials, random pairs, rounding ties.
    pa, pb = [], []
    for i in SPECIALS:
        for j in SPECIALS:
            pa.append(i), pb.append(j)
    r = unary_inputs(rng, -100, 100, 400)
    pa += list(r)
    pb += list(rng.permutation(r))
    for d in range(32):
        pa.append(0x3F800800 + d), pb.append(0x3F800800 - d)
        pa.append(0x00800000 + 3 * d + 1), pb.append(0x80800000 + 5 * d + 2)
    A, B = f(np.array(pa, U32)), f(np.array(pb, U32))
    ca, cb = canon(A), canon(B)
    write("fmath_arith", "add, sub, mul of canon(a), canon(b): [a, b, a+b, a-b, a*b] bits",
          {"cases": [[hexs(a), hexs(c), hexs(s), hexs(t), hexs(p)] for a, c, s, t, p in
                     zip(b(A), b(B), b(add(ca, cb)), b(sub(ca, cb)), b(mul(ca, cb)))]})
    # Reductions.
    rows = []
    for n in [0, 1, 2, 15, 16, 17, 31, 32, 33, 100, 257, 1000, 5000]:
        rows.append((rng.normal(size=n) * 50).astype(F32))
    rows.append(np.array([1e8, 1, -1e8] * 100, F32))
    rows.append(np.full(40, 3e38, F32))
    s = np.ones(50, F32)
    s[20] = f(np.array([0x7FC12345], U32))[0]
    rows.append(s.copy())
    s[20] = np.inf
    rows.append(s.copy())
    s[21] = -np.inf
    rows.append(s.copy())
    d = np.full(40, 1e-38, F32)
    d[3], d[9] = f(np.array([5], U32))[0], f(np.array([0x80400000], U32))[0]
    rows.append(d)
    red = []
    for a in rows:
        c = a[::-1].copy()
        if len(a) >= 2:
            a = a.copy()
            a[0], c[0] = f(np.array([0x3F800800], U32))[0], f(np.array([0x3F800800], U32))[0]
            a[1], c[1] = f(np.array([0x3F801000], U32))[0], F32(-1)
        red.append({"a": [hexs(v) for v in b(a)], "b": [hexs(v) for v in b(c)],
                    "dot": hexs(b(fdot(a, c))), "sum_a": hexs(b(fsum(a)))})
    write("fmath_reduce", "dot(a, b) and sum(a) in the fixed order", {"rows": red})
    sm, ln = [], []
    rows = [(rng.normal(size=n) * 4).astype(F32) for n in [1, 2, 7, 16, 17, 64, 100, 768]]
    rows += [np.full(33, 2.5, F32), np.array([1e30, -1e30, 88, 0, 1e30], F32),
             np.array([1, f(np.array([0xFFC00001], U32))[0], 2], F32), np.array([1, np.inf, 2], F32),
             np.full(5, -np.inf, F32), f(np.array([7, 0, 0x80000000, 0x006CE3EE], U32)),
             np.array([-50, 0, 50, 100], F32)]
    for x in rows:
        g = (1 + 0.1 * rng.normal(size=len(x))).astype(F32)
        bb = (0.1 * rng.normal(size=len(x))).astype(F32)
        sm.append({"x": [hexs(v) for v in b(x)], "y": [hexs(v) for v in b(fsoftmax(x))]})
        ln.append({"x": [hexs(v) for v in b(x)], "gain": [hexs(v) for v in b(g)],
                   "bias": [hexs(v) for v in b(bb)], "eps": hexs(b(F32(1e-5))),
                   "y": [hexs(v) for v in b(flayernorm(x, g, bb, F32(1e-5)))]})
    write("fmath_softmax", "softmax rows: x -> y", {"rows": sm})
    write("fmath_layernorm", "layer norm rows: x, gain, bias, eps -> y", {"rows": ln})


if __name__ == "__main__":
    main()
    if STALE:
        print("stale (rerun tests/vectors/make_fmath_vectors.py):", *STALE, sep="\n  ")
        sys.exit(1)
    if CHECK:
        print("tests/vectors/fmath/ is what the model writes")
