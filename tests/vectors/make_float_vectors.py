#!/usr/bin/python3
"""Program test vectors of the float opcodes (PROTOCOL.md §11): tests/vectors/float_*.json.

The expected results come from a model of the protocol text written here, whose float arithmetic
is the independent NumPy model of PROTOCOL.md §15 in make_fmath_vectors.py (NumPy float32
arrays, not a translation of engine/numeric/fmath.cpp or engine/vm/ops/). Each vector also carries values
worked out by hand (status, steps, pc, trap and key result pixels, arithmetic in the comments),
which the model must reproduce before anything is written. The C++ engine is never consulted.

    /usr/bin/python3 tests/vectors/make_float_vectors.py          # writes tests/vectors/float_*.json
    /usr/bin/python3 tests/vectors/make_float_vectors.py --check  # fails if a file is stale

The files have the format of tests/vectors/README.md, so every executor runs them with the rest of
the corpus (tests/vectors_test.cpp, tests/opcodes_test.cpp, the GL parity tests).
"""
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vector_files  # noqa: E402 (the JSON files every vector generator writes)
from vector_files import Trap, bits, check_hand, pix, word  # noqa: E402
_spec = importlib.util.spec_from_file_location("fmodel", os.path.join(HERE, "make_fmath_vectors.py"))
fm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fm)  # exits 77 (skip) where NumPy is missing
np, F32, U32 = fm.np, fm.F32, fm.U32

HALT, FMATMUL, FADD, FMUL = 0, 12, 13, 14
FSOFTMAX, FATTENTION = 24, 25
DEQUANT, QUANT, FCONVERT, LAYERNORM, GELU = 16, 17, 18, 19, 20
IN, OUT, NONE = "in", "out", "none"
KINDS = {HALT: (NONE, NONE, NONE), FMATMUL: (IN, IN, OUT), FADD: (IN, IN, OUT), FMUL: (IN, IN, OUT),
         DEQUANT: (IN, NONE, OUT), QUANT: (IN, NONE, OUT), FCONVERT: (IN, NONE, OUT),
         LAYERNORM: (IN, IN, OUT), GELU: (IN, NONE, OUT), FSOFTMAX: (IN, NONE, OUT), FATTENTION: (IN, IN, OUT)}
PARAMS = {HALT: 0, FMATMUL: 2, FADD: 1, FMUL: 1, DEQUANT: 3, QUANT: 3, FCONVERT: 1, LAYERNORM: 3, GELU: 1,
          FSOFTMAX: 2, FATTENTION: 3}
# §11.1: the dtype codes each float opcode accepts in P1 (0 for an operand of kind none); FCONVERT
# accepts two combinations (§11.5).
ACCEPT = {FMATMUL: [(1, 1, 1)], FADD: [(1, 1, 1)], FMUL: [(1, 1, 1)], DEQUANT: [(0, 0, 1)], QUANT: [(1, 0, 0)],
          FCONVERT: [(2, 0, 1), (1, 0, 2)], LAYERNORM: [(1, 1, 1)], GELU: [(1, 0, 1)],
          FSOFTMAX: [(1, 0, 1)], FATTENTION: [(1, 1, 1)]}
F16 = 2


def positive_normal(w):
    """A scale / inv_scale (§11.4): finite, > 2^-126, sign clear."""
    return 0x00800000 < w < 0x7F800000


def model(width, height, pixels, step_limit=65536):
    """Runs a program of HALT and float opcodes per PROTOCOL.md §4 and §11."""
    img = {k: list(v) for k, v in pixels.items()}

    def px(x, y):
        return img.get((x, y), [0, 0, 0, 0])

    def header(row):
        p = px(0, row)
        return p[0] + 256 * p[1], p[2] + 256 * p[3]  # cols, rows

    def fits(row, cols, rows, code=1):
        n = cols * rows
        if code == F16:  # §11.1: two f16 elements per pixel
            n = -(-n // 2)
        return 1 <= row < height and row + max(1, -(-n // (width - 1))) <= height

    def xy(row, i):
        return 1 + i % (width - 1), row + i // (width - 1)

    def gather(row, n):  # f32 elements, canonicalized on load (PROTOCOL.md F.3)
        return fm.canon(fm.f(np.array([word(px(*xy(row, i))) for i in range(n)], dtype=U32)))

    def scatter(row, cols, rows, values):
        img[(0, row)] = [cols & 255, cols >> 8, rows & 255, rows >> 8]
        for i, v in enumerate(fm.b(values)):
            img[xy(row, i)] = pix(v)

    def gather_u8(row, n):
        return np.array([px(*xy(row, i))[0] for i in range(n)], dtype=np.int64)

    def scatter_u8(row, cols, rows, values):  # R only: G, B, A of the element pixels kept
        img[(0, row)] = [cols & 255, cols >> 8, rows & 255, rows >> 8]
        for i, v in enumerate(values):
            img[xy(row, i)] = [int(v)] + px(*xy(row, i))[1:]

    def gather_f16(row, n):  # element i: half i % 2 of pixel i // 2 (low half first)
        w = [word(px(*xy(row, i // 2))) for i in range(n)]
        return fm.from_f16(np.array([(w[i] >> 16) if i % 2 else (w[i] & 0xFFFF) for i in range(n)], np.uint16))

    def scatter_f16(row, cols, rows, values):
        img[(0, row)] = [cols & 255, cols >> 8, rows & 255, rows >> 8]
        h = [int(v) for v in fm.to_f16(np.asarray(values, F32))]
        for j in range(-(-len(h) // 2)):
            hi = h[2 * j + 1] if 2 * j + 1 < len(h) else 0
            img[xy(row, j)] = pix(h[2 * j] | hi << 16)

    pc, steps = 0, 0
    while True:
        if pc >= width:
            return dict(status="halted", steps=steps, pc=pc, image=img)
        try:
            if steps >= step_limit:
                raise Trap("STEP_LIMIT", pc, 0)
            opp = px(pc, 0)
            op = opp[0]
            if op not in KINDS:
                raise Trap("BAD_OPCODE", pc, 0)
            kinds = KINDS[op]
            if pc + PARAMS[op] >= width:
                raise Trap("TRUNCATED", pc, 0)
            P = [px(pc + 1 + i, 0) for i in range(PARAMS[op])]
            rows = opp[1:4]
            for i in range(3):
                if kinds[i] != NONE and not 1 <= rows[i] < height:
                    raise Trap("ROW_OUT_OF_IMAGE", pc, 0)
            shape = [None] * 3
            code = P[0][:3] if op in ACCEPT else [0, 0, 0]  # declared types: f16 counts half the pixels
            for i in range(3):
                if kinds[i] == IN:
                    cols, rws = header(rows[i])
                    if cols == 0 or rws == 0:
                        raise Trap("BAD_HEADER", 0, rows[i])
                    if not fits(rows[i], cols, rws, code[i]):
                        raise Trap("MATRIX_OVERFLOW", 0, rows[i])
                    shape[i] = (cols, rws)
            if op in ACCEPT:  # check 7: P1 = (dtype_a, dtype_b, dtype_c, 0)
                if tuple(P[0][:3]) not in ACCEPT[op] or P[0][3] != 0:
                    raise Trap("BAD_PARAM", pc, 0)
            if op in (DEQUANT, QUANT):  # P2 = scale (f32 pixel), P3 = (zero_point, 0, 0, 0)
                if not positive_normal(word(P[1])) or any(P[2][1:]):
                    raise Trap("BAD_PARAM", pc, 0)
            if op in (DEQUANT, QUANT, FCONVERT, GELU):  # c gets a's shape
                if not fits(rows[2], *shape[0], code[2]):
                    raise Trap("MATRIX_OVERFLOW", 0, rows[2])
            if op == LAYERNORM:  # P2 = (bias lo, bias hi, 0, 0), P3 = epsilon: 0 or positive normal
                bias_row = P[1][0] + 256 * P[1][1]
                eps = word(P[2])
                if not (bias_row == 0 or bias_row < height) or any(P[1][2:]):
                    raise Trap("BAD_PARAM", pc, 0)
                if not (eps == 0 or positive_normal(eps)):
                    raise Trap("BAD_PARAM", pc, 0)
                if shape[1] != (shape[0][0], 1):
                    raise Trap("SHAPE_MISMATCH", 0, rows[1])
                if bias_row:
                    if header(bias_row) != (shape[0][0], 1):
                        raise Trap("SHAPE_MISMATCH", 0, bias_row)
                    if not fits(bias_row, shape[0][0], 1):
                        raise Trap("MATRIX_OVERFLOW", 0, bias_row)
                if not fits(rows[2], *shape[0]):
                    raise Trap("MATRIX_OVERFLOW", 0, rows[2])
            if op == FMATMUL:  # P2 = (bias lo, bias hi, activation 0..2, 0)
                bias_row = P[1][0] + 256 * P[1][1]
                if not (bias_row == 0 or bias_row < height) or P[1][2] > 2 or P[1][3]:
                    raise Trap("BAD_PARAM", pc, 0)
                if shape[0][0] != shape[1][1]:
                    raise Trap("SHAPE_MISMATCH", 0, rows[1])
                out = (shape[1][0], shape[0][1])
                if bias_row:
                    if header(bias_row) != (out[0], 1):
                        raise Trap("SHAPE_MISMATCH", 0, bias_row)
                    if not fits(bias_row, out[0], 1):
                        raise Trap("MATRIX_OVERFLOW", 0, bias_row)
                if not fits(rows[2], *out):
                    raise Trap("MATRIX_OVERFLOW", 0, rows[2])
            if op == FSOFTMAX:  # §12.1: c gets a's shape; every scale is valid
                if not fits(rows[2], *shape[0]):
                    raise Trap("MATRIX_OVERFLOW", 0, rows[2])
            if op == FATTENTION:  # §12.2: P2 = (v_row lo, hi, heads lo, hi), P3 = scale
                v_row, heads = P[1][0] + 256 * P[1][1], P[1][2] + 256 * P[1][3]
                if not 1 <= v_row < height or heads == 0:
                    raise Trap("BAD_PARAM", pc, 0)
                (D, T), (kc, L) = shape[0], shape[1]
                if D % heads:
                    raise Trap("SHAPE_MISMATCH", 0, rows[0])
                if kc != D or L < T:
                    raise Trap("SHAPE_MISMATCH", 0, rows[1])
                if header(v_row) != (D, L):
                    raise Trap("SHAPE_MISMATCH", 0, v_row)
                if not fits(v_row, D, L):
                    raise Trap("MATRIX_OVERFLOW", 0, v_row)
                if not fits(rows[2], D, T):
                    raise Trap("MATRIX_OVERFLOW", 0, rows[2])
            if op in (FADD, FMUL):  # §11.3: equal shapes, or b a 1 x cols(a) row
                if not (shape[0] == shape[1] or shape[1] == (shape[0][0], 1)):
                    raise Trap("SHAPE_MISMATCH", 0, rows[1])
                if not fits(rows[2], *shape[0]):
                    raise Trap("MATRIX_OVERFLOW", 0, rows[2])
        except Trap as t:
            return dict(status="trapped", steps=steps, pc=pc, trap=t.name, trap_x=t.x, trap_y=t.y, image=img)

        if op == FMATMUL:
            (K, M), (N, _) = shape[0], shape[1]
            a = gather(rows[0], K * M).reshape(M, K)
            b = gather(rows[1], N * K).reshape(K, N)
            bias = gather(bias_row, N) if bias_row else None
            c = np.zeros((M, N), F32)
            for m in range(M):
                for n in range(N):
                    v = fm.fdot(a[m, :], b[:, n])
                    if bias is not None:
                        v = fm.add(v, bias[n])
                    c[m, n] = activate(F32(v), P[1][2])
            scatter(rows[2], N, M, c.reshape(-1))
        elif op == DEQUANT:  # §11.4: mul(float(q - zp), scale)
            (C, R) = shape[0]
            q = gather_u8(rows[0], C * R)
            c = fm.mul((q - P[2][0]).astype(F32), fm.f(np.array([word(P[1])], U32))[0])
            scatter(rows[2], C, R, np.asarray(c, F32))
        elif op == QUANT:  # §11.4: clamp(rne(mul(x, inv_scale)) + zp, 0, 255), NaN -> zp
            (C, R) = shape[0]
            t = fm.mul(gather(rows[0], C * R), fm.f(np.array([word(P[1])], U32))[0])
            nan = fm.isnan(t)
            with np.errstate(invalid="ignore"):
                r = np.rint(np.clip(np.where(nan, 0, t).astype(np.float64), -1e4, 1e4))  # half to even
            q = np.where(nan, P[2][0], np.clip(r.astype(np.int64) + P[2][0], 0, 255))
            scatter_u8(rows[2], C, R, q)
        elif op == FCONVERT:  # §11.5
            (C, R) = shape[0]
            if tuple(P[0][:3]) == (2, 0, 1):
                scatter(rows[2], C, R, gather_f16(rows[0], C * R))
            else:
                scatter_f16(rows[2], C, R, gather(rows[0], C * R))
        elif op == GELU:  # §11.7
            (C, R) = shape[0]
            scatter(rows[2], C, R, fm.fgelu(gather(rows[0], C * R)))
        elif op == LAYERNORM:  # §11.6: the layer norm of PROTOCOL.md F.6 on every row
            (N, M) = shape[0]
            x = gather(rows[0], N * M).reshape(M, N)
            g = gather(rows[1], N)
            bias = gather(bias_row, N) if bias_row else np.zeros(N, F32)
            eps = fm.f(np.array([eps], U32))[0]
            y = np.stack([fm.flayernorm(x[m], g, bias, eps) for m in range(M)])
            scatter(rows[2], N, M, y.reshape(-1))
        elif op in (FADD, FMUL):
            (C, R), (cb, rb) = shape[0], shape[1]
            a = gather(rows[0], C * R).reshape(R, C)
            b = gather(rows[1], cb * rb).reshape(rb, cb)  # 1 x C broadcasts over the rows
            c = fm.mul(a, b) if op == FMUL else fm.add(a, b)
            scatter(rows[2], C, R, np.asarray(c, F32).reshape(-1))
        elif op == FSOFTMAX:  # PROTOCOL.md F.11: softmax of mul(x, scale), row by row
            C, R = shape[0]
            x = gather(rows[0], C * R).reshape(R, C)
            scale = fm.canon(fm.f(np.array([word(P[1])], dtype=U32)))[0]
            c = np.stack([fm.fsoftmax(fm.mul(x[r], scale)) for r in range(R)])
            scatter(rows[2], C, R, np.asarray(c, F32).reshape(-1))
        elif op == FATTENTION:  # F.11: causal multi-head attention, reductions in F.5 order
            q = gather(rows[0], D * T).reshape(T, D)
            k = gather(rows[1], D * L).reshape(L, D)
            v = gather(v_row, D * L).reshape(L, D)
            scale = fm.canon(fm.f(np.array([word(P[2])], dtype=U32)))[0]
            scatter(rows[2], D, T, attention(q, k, v, heads, scale).reshape(-1))
        steps += 1
        if op == HALT:
            return dict(status="halted", steps=steps, pc=pc, image=img)
        pc += 1 + PARAMS[op]


def attention(q, k, v, heads, scale):
    """§12.2 / F.11: query t sees rows 0 .. L-T+t; per head, scores = F.5 dot times scale, the F.6
    softmax, then each output the F.5 sum over the visible positions of p[j] * V[j][col]."""
    (T, D), L = q.shape, k.shape[0]
    hd = D // heads
    out = np.zeros((T, D), F32)
    for t in range(T):
        n = L - T + t + 1
        for h in range(heads):
            cols = slice(h * hd, (h + 1) * hd)
            s = np.array([fm.mul(fm.fdot(q[t, cols], k[j, cols]), scale) for j in range(n)], F32)
            p = fm.fsoftmax(s)
            for d in range(h * hd, (h + 1) * hd):
                out[t, d] = fm.fdot(p, v[:n, d])
    return out


def activate(v, act):
    """§11.2: none; relu: NaN stays NaN, v > 0 stays, else +0; gelu: the GELU of PROTOCOL.md F.6."""
    if act == 1:
        return v if fm.isnan(v) or v > 0 else F32(0)
    if act == 2:
        return F32(fm.fgelu(np.array([v], F32))[0])
    return v


# ---- Building programs ----


class Prog(vector_files.Prog):
    """vector_files.Prog with typed matrices: f32, u8 with chosen G, B, A, f16 pairs."""

    def f32(self, row, rows, cols, words):
        """An f32 matrix from bit patterns (ints) or Python floats, placed per §3."""
        assert len(words) == rows * cols
        self.px[(0, row)] = [cols & 255, cols >> 8, rows & 255, rows >> 8]
        for i, v in enumerate(words):
            self.px[(1 + i % (self.width - 1), row + i // (self.width - 1))] = pix(v if isinstance(v, int) else bits(v))
        return self

    def u8(self, row, rows, cols, values, gba=(0, 0, 0)):
        """A u8 matrix (R of each element pixel), G, B, A set to gba (ignored by every opcode)."""
        assert len(values) == rows * cols
        self.px[(0, row)] = [cols & 255, cols >> 8, rows & 255, rows >> 8]
        for i, v in enumerate(values):
            self.px[(1 + i % (self.width - 1), row + i // (self.width - 1))] = [v] + list(gba)
        return self

    def f16(self, row, rows, cols, halves):
        """An f16 matrix from binary16 bit patterns, two per pixel (element 2j low half of pixel j)."""
        assert len(halves) == rows * cols
        self.px[(0, row)] = [cols & 255, cols >> 8, rows & 255, rows >> 8]
        for j in range(-(-len(halves) // 2)):
            hi = halves[2 * j + 1] if 2 * j + 1 < len(halves) else 0
            self.px[(1 + j % (self.width - 1), row + j // (self.width - 1))] = pix(halves[2 * j] | hi << 16)
        return self

    def fill(self, row, count, rgba):
        """count element pixels from `row` set to rgba (garbage an output must overwrite or keep)."""
        for i in range(count):
            self.px[(1 + i % (self.width - 1), row + i // (self.width - 1))] = list(rgba)
        return self

    def set(self, x, y, rgba):
        self.px[(x, y)] = list(rgba)
        return self


VECTORS = []


def vector(name, description, prog, hand):
    r = model(prog.width, prog.height, prog.px, prog.step_limit)
    check_hand(name, prog, r, hand)
    VECTORS.append((name, description, prog, r))


# ------------------------------------------------------------------------------------------------
# The vectors. Hand values in the comments.

F111 = [1, 1, 1, 0]  # P1: a, b, c all f32
NAN_PAYLOAD, NEG_NAN = 0x7FC12345, 0xFFFFFFFF
DENORM, NEG_ZERO, MIN_NORMAL = 0x00000001, 0x80000000, 0x00800000
INF, NEG_INF, MAX = 0x7F800000, 0xFF800000, 0x7F7FFFFF


def fmm(bias_row=0, act=0):
    return [F111, [bias_row & 255, bias_row >> 8, act, 0]]


# [1 2 3; 4 5 6] @ [1 0; 0 1; 1 1] = [1+3, 2+3; 4+6, 5+6] = [4 5; 10 11] (exact, K < 16: one block).
vector("float_fmatmul", "FMATMUL 2x3 @ 3x2 of small integers: [4 5; 10 11] as f32 pixels",
       Prog(8, 6).ins(0, FMATMUL, 1, 2, 4, fmm()).ins(3, HALT, 0, 0, 0)
       .f32(1, 2, 3, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).f32(2, 3, 2, [1.0, 0.0, 0.0, 1.0, 1.0, 1.0]),
       dict(status="halted", steps=2, pc=3,
            words={(1, 4): bits(4.0), (2, 4): bits(5.0), (3, 4): bits(10.0), (4, 4): bits(11.0)}))

# The defined order, not fma: (1+2^-12)^2 = 1 + 2^-11 + 2^-24 rounds (tie, to even) to 1 + 2^-11;
# minus (1+2^-11) gives 0, where a fused multiply-add would give 2^-24 (0x33800000). Second
# column: -0 * 5 and a subnormal * 2^100 read as +0 (canonicalized on load): 0 + 0 = 0, then 1 * 3.
E12, E11 = 1.0 + 2.0**-12, 1.0 + 2.0**-11
vector("float_fmatmul_no_fma", "FMATMUL where fma and mul+add differ: (1+2^-12)^2 - (1+2^-11) is 0, "
       "not 2^-24; -0 and subnormals read as +0",
       Prog(6, 6).ins(0, FMATMUL, 1, 2, 3, fmm()).ins(3, HALT, 0, 0, 0)
       .f32(1, 1, 3, [E12, -E11, 1.0]).f32(2, 3, 2, [E12, NEG_ZERO, 1.0, DENORM, 0.0, 3.0]),
       dict(status="halted", steps=2, pc=3, words={(1, 3): 0, (2, 3): bits(3.0)}))

# K = 37 (three blocks, the last one 5 terms + 11 zeros), M = 3, N = 4, with every kind of
# hostile value: NaN payloads (any NaN makes its outputs the one NaN 0x7FC00000), +-inf (inf - inf
# = NaN), overflow (MAX * 2 = inf), subnormals and -0 (+0 on load), 2^-126 (flushed too),
# cancellation that depends on the order, results that underflow below 2^-126.
rng = np.random.default_rng(20261202)
K, M, N = 37, 3, 4
a = [float(x) for x in rng.normal(0, 1, M * K).astype(np.float32)]
bm = [float(x) for x in rng.normal(0, 1, K * N).astype(np.float32)]
a[0] = NAN_PAYLOAD  # row 0: NaN in every output of row 0
a[K + 3] = MAX      # row 1: MAX * b[3][n]; column 0 scaled so it overflows to inf
bm[3 * N + 0] = 4.0
a[2 * K + 0], a[2 * K + 1] = 1e30, -1e30  # row 2: big terms that cancel inside the first block
a[2 * K + 17] = DENORM
a[2 * K + 36] = MIN_NORMAL
bm[1 * N + 1] = 1.0  # row 2, col 1: 1e30*b01 - 1e30*1; b01 random: large result
bm[0 * N + 2], bm[1 * N + 2] = 1.0, 1.0  # col 2: 1e30 - 1e30 = 0 exactly in the tree
bm[36 * N + 3] = NEG_INF  # col 3: -inf * a[m][36]: row 2 has 2^-126 there (+0): 0 * -inf = NaN
vector("float_fmatmul_hostile", "FMATMUL 3x37 @ 37x4 (K > 16, not a multiple of 16) with NaN payloads, "
       "+-inf, overflow, subnormals, -0, 2^-126 and cancelling 1e30 terms",
       Prog(40, 12).ins(0, FMATMUL, 1, 5, 10, fmm()).ins(3, HALT, 0, 0, 0)
       .f32(1, M, K, a).f32(5, K, N, bm),
       dict(status="halted", steps=2, pc=3,
            words={(1, 10): 0x7FC00000, (4, 10): 0x7FC00000, (5, 10): 0x7F800000, (12, 10): 0x7FC00000}))

# Bias and ReLU: c = relu(a @ b + bias). a = [1 -2; NaN 0], b = I, bias = [0.5, -inf]:
# row 0: [1.5, -inf] -> [1.5, +0]; row 1: NaN * anything is NaN, so [NaN, NaN + -inf = NaN] -> NaN, NaN.
vector("float_fmatmul_bias_relu", "FMATMUL with an f32 bias row and ReLU: NaN stays NaN, -inf and negatives become +0",
       Prog(6, 7).ins(0, FMATMUL, 1, 2, 4, fmm(3, 1)).ins(3, HALT, 0, 0, 0)
       .f32(1, 2, 2, [1.0, -2.0, NAN_PAYLOAD, 0.0]).f32(2, 2, 2, [1.0, 0.0, 0.0, 1.0]).f32(3, 1, 2, [0.5, NEG_INF]),
       dict(status="halted", steps=2, pc=3,
            words={(1, 4): bits(1.5), (2, 4): 0, (3, 4): 0x7FC00000, (4, 4): 0x7FC00000}))

# GELU (PROTOCOL.md F.6) of a @ I = a: gelu(0) = 0, gelu(+inf) = +inf, gelu(-inf) = +0,
# gelu(NaN) = NaN; the other values from the model.
gx = [0.0, 1.0, -1.0, 3.0, -3.0, 0.5, -9.0, 20.0, INF, NEG_INF, NEG_NAN, -0.1]
vector("float_fmatmul_gelu", "FMATMUL with GELU: 12 values through a @ I including +-inf, NaN, -9, 20",
       Prog(13, 5).ins(0, FMATMUL, 1, 2, 3, fmm(0, 2)).ins(3, HALT, 0, 0, 0)
       .f32(1, 12, 1, gx).f32(2, 1, 1, [1.0]),
       dict(status="halted", steps=2, pc=3,
            words={(1, 3): 0, (9, 3): INF, (10, 3): 0, (11, 3): 0x7FC00000}))

# c = a: every read before any write. a = [1 2; 3 4] @ b = [0 1; 1 0] swaps columns: [2 1; 4 3].
vector("float_fmatmul_c_is_a", "FMATMUL with c = a: [1 2; 3 4] @ [0 1; 1 0] = [2 1; 4 3] read before written",
       Prog(6, 4).ins(0, FMATMUL, 1, 2, 1, fmm()).ins(3, HALT, 0, 0, 0)
       .f32(1, 2, 2, [1.0, 2.0, 3.0, 4.0]).f32(2, 2, 2, [0.0, 1.0, 1.0, 0.0]),
       dict(status="halted", steps=2, pc=3,
            words={(1, 1): bits(2.0), (2, 1): bits(1.0), (3, 1): bits(4.0), (4, 1): bits(3.0)}))

# Traps: check 7 (dtype, activation, reserved) at the opcode pixel, shapes at b's / the bias's header.
base = lambda: Prog(6, 5).f32(1, 1, 2, [1.0, 2.0]).f32(2, 2, 1, [3.0, 4.0])
vector("float_trap_dtype", "FMATMUL declaring b as u8 (P1 = 1,0,1,0): BAD_PARAM at (0,0), nothing written",
       base().ins(0, FMATMUL, 1, 2, 3, [[1, 0, 1, 0], [0, 0, 0, 0]]),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 0, 0), unchanged=True))
vector("float_trap_activation", "FMATMUL with activation 3: BAD_PARAM at (0,0)",
       base().ins(0, FMATMUL, 1, 2, 3, [F111, [0, 0, 3, 0]]),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 0, 0), unchanged=True))
vector("float_trap_reserved", "FMATMUL with P1's A = 1: BAD_PARAM at (0,0)",
       base().ins(0, FMATMUL, 1, 2, 3, [[1, 1, 1, 1], [0, 0, 0, 0]]),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 0, 0), unchanged=True))
vector("float_trap_shape", "FMATMUL 1x2 @ 1x2: SHAPE_MISMATCH at b's header (0,2)",
       Prog(6, 5).f32(1, 1, 2, [1.0, 2.0]).f32(2, 1, 2, [3.0, 4.0]).ins(0, FMATMUL, 1, 2, 3, fmm()),
       dict(status="trapped", steps=0, pc=0, trap=("SHAPE_MISMATCH", 0, 2), unchanged=True))
vector("float_trap_bias_shape", "FMATMUL with a 1x2 bias for a 1-column result: SHAPE_MISMATCH at the bias (0,4)",
       base().f32(4, 1, 2, [1.0, 1.0]).ins(0, FMATMUL, 1, 2, 3, fmm(4)),
       dict(status="trapped", steps=0, pc=0, trap=("SHAPE_MISMATCH", 0, 4), unchanged=True))


# FADD, element by element (a row, b row -> c): inf + -inf = NaN; MAX + MAX = inf (overflow);
# subnormal + subnormal and -0 + -0 read as +0 + +0 = +0; NaN payload + 1 = the one NaN;
# 1.5*2^-126 + (-1.25*2^-126) = 2^-128 is below 2^-126: +0; 2^-126 (read as +0) + 0 = +0;
# second row: 1 + 2^-24 ties to even: 1; 2^24 + 1 ties to even: 2^24; 0.1 + 0.2 = 0x3E99999A;
# -1 + 1 = +0; 3 + -inf = -inf; 0x00800001 (just above 2^-126, kept) + 0 stays 0x00800001.
vector("float_fadd", "FADD 2x6: inf - inf, overflow, subnormals, -0, NaN payloads, results flushed "
       "below 2^-126, ties to even",
       Prog(8, 8).ins(0, FADD, 1, 3, 5, [F111]).ins(2, HALT, 0, 0, 0)
       .f32(1, 2, 6, [INF, MAX, DENORM, NEG_ZERO, NAN_PAYLOAD, 0x00C00000,
                      1.0, 16777216.0, 0.1, -1.0, 3.0, 0x00800001])
       .f32(3, 2, 6, [NEG_INF, MAX, DENORM, NEG_ZERO, 1.0, 0x80A00000,
                      2.0**-24, 1.0, 0.2, 1.0, NEG_INF, MIN_NORMAL]),
       dict(status="halted", steps=2, pc=2,
            words={(1, 5): 0x7FC00000, (2, 5): INF, (3, 5): 0, (4, 5): 0, (5, 5): 0x7FC00000, (6, 5): 0,
                   (7, 5): bits(1.0), (1, 6): bits(16777216.0), (2, 6): 0x3E99999A, (3, 6): 0,
                   (4, 6): NEG_INF, (5, 6): 0x00800001}))

# FMUL with a 1x4 row b = [0, inf, 2^-64, 3] over 3 rows (element i at x = 1 + i % 5, y = 1 + i / 5):
# 1 * 0 = 0; 0 * inf = NaN; 2^-64 * 2^-64 = 2^-128: +0; MAX * 3 = inf; 5 * 0 = 0; -2 * inf = -inf;
# 1 * 2^-64 = 2^-64; 0x3EAAAAAB (1/3) * 3 rounds to exactly 1; NaN * 0 = NaN; 1 * inf = inf;
# -1 * 2^-64 = -2^-64; -0.5 * 3 = -1.5.
vector("float_fmul_row", "FMUL broadcasting a 1x4 row: 0 * inf = NaN, underflow to +0, overflow to inf, "
       "1/3 * 3 = 1, in place (c = a)",
       Prog(6, 6).ins(0, FMUL, 1, 4, 1, [F111]).ins(2, HALT, 0, 0, 0)
       .f32(1, 3, 4, [1.0, 0.0, 2.0**-64, MAX, 5.0, -2.0, 1.0, 0x3EAAAAAB, NAN_PAYLOAD, 1.0, -1.0, -0.5])
       .f32(4, 1, 4, [0.0, INF, 2.0**-64, 3.0]),
       dict(status="halted", steps=2, pc=2,
            words={(1, 1): 0, (2, 1): 0x7FC00000, (3, 1): 0, (4, 1): INF, (5, 1): 0, (1, 2): NEG_INF,
                   (2, 2): 0x1F800000, (3, 2): bits(1.0), (4, 2): 0x7FC00000, (5, 2): INF,
                   (1, 3): 0x9F800000, (2, 3): bits(-1.5)}))

vector("float_trap_fadd_shape", "FADD of 2x2 and 2x1 (a column, not a 1x2 row): SHAPE_MISMATCH at b's header (0,3)",
       Prog(6, 6).f32(1, 2, 2, [1.0, 2.0, 3.0, 4.0]).f32(3, 2, 1, [1.0, 2.0]).ins(0, FADD, 1, 3, 4, [F111]),
       dict(status="trapped", steps=0, pc=0, trap=("SHAPE_MISMATCH", 0, 3), unchanged=True))
vector("float_trap_fmul_dtype", "FMUL declaring c as f16 (P1 = 1,1,2,0): BAD_PARAM at (0,0)",
       Prog(6, 6).f32(1, 1, 2, [1.0, 2.0]).f32(3, 1, 2, [1.0, 2.0]).ins(0, FMUL, 1, 3, 4, [[1, 1, 2, 0]]),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 0, 0), unchanged=True))

# ---- FSOFTMAX (§12.1) and FATTENTION (§12.2) ----

ONE = bits(1.0)


def fsm(scale=ONE):
    return [[1, 0, 1, 0], pix(scale)]


def fatt(v_row, heads, scale=ONE):
    return [F111, [v_row & 255, v_row >> 8, heads & 255, heads >> 8], pix(scale)]


# Row 0: four equal values: exp(0) = 1 each, sum 4, recip 0.25, each 0.25 (0x3E800000), ties give
# equal bits. Row 1: [-inf, 0, -inf, 0]: m = 0, exp(-inf) = +0, sum 2, each 0 or 0.5. Row 2:
# [1, 2, 3, 4] from the model; the largest entry gets the largest probability.
vector("float_fsoftmax", "FSOFTMAX 3x4, scale 1: a tie row gives 0.25 each, -inf entries give +0",
       Prog(6, 8).ins(0, FSOFTMAX, 1, 0, 5, fsm()).ins(3, HALT, 0, 0, 0)
       .f32(1, 3, 4, [0.0, 0.0, 0.0, 0.0, NEG_INF, 0.0, NEG_INF, 0.0, 1.0, 2.0, 3.0, 4.0]),
       dict(status="halted", steps=2, pc=3,
            words={(1, 5): 0x3E800000, (4, 5): 0x3E800000, (5, 5): 0, (1, 6): bits(0.5), (2, 6): 0,
                   (3, 6): bits(0.5)}))

# Eight rows of five (element i at x = 1 + i % 9, y = 7 + i // 9 in the output):
# r0 a NaN payload: every output NaN; r1 +inf: inf - inf = NaN everywhere; r2 all -inf: NaN;
# r3 subnormals and -0 (+0 on load) and 2^-126 (+0 too): five zeros, 0.2 each (the model's bits);
# r4 [MAX, -MAX, MAX, 0, 0]: -MAX - MAX = -inf -> 0, MAX - MAX = 0 -> 1: [0.5, 0, 0.5, 0, 0];
# r5 [1e30, 1e30 - ulp, ...]: exp of tiny differences, from the model; r6 scores 200 apart (exp
# would overflow without the max): [1, 0, 0, 0, 0]; r7 [-1e30, -1e30, -1e30, -1e30, -1e30]:
# a tie far from 0: 0.2 each like r3.
hostile_sm = ([NAN_PAYLOAD, 1.0, 2.0, 3.0, 4.0] + [1.0, INF, 0.0, -5.0, 2.0] + [NEG_INF] * 5 +
              [DENORM, NEG_ZERO, 0x807FFFFF, MIN_NORMAL, 0.0] + [MAX, 0xFF7FFFFF, MAX, 0.0, 0.0] +
              [1e30, 0x7149F2C9, 0x7149F2CB, 1e30, 0x7149F2C8] + [300.0, 100.0, 100.0, -100.0, 0.0] +
              [-1e30] * 5)
vector("float_fsoftmax_hostile", "FSOFTMAX 8x5: NaN payload, +inf, all -inf rows (NaN rows), subnormals and -0, "
       "MAX/-MAX (inf difference), 1e30 with 1-ulp steps, exp overflow avoided by the max, far ties",
       Prog(10, 12).ins(0, FSOFTMAX, 1, 0, 7, fsm()).ins(3, HALT, 0, 0, 0).f32(1, 8, 5, hostile_sm),
       dict(status="halted", steps=2, pc=3,
            words={(1, 7): 0x7FC00000, (5, 7): 0x7FC00000, (6, 7): 0x7FC00000, (1, 8): 0x7FC00000,
                   (2, 8): 0x7FC00000, (6, 8): 0x7FC00000, (3, 9): bits(0.5), (4, 9): 0, (5, 9): bits(0.5),
                   (4, 10): bits(1.0), (5, 10): 0, (8, 10): 0}))

# Scale: 37 columns (three F.5 blocks, the last one short), two rows, scale 0.125 (a temperature
# of 8), c = a (in place: read before written); then a second FSOFTMAX with scale 0 on a row
# holding inf: 0 * inf = NaN, so that row is NaN; with scale -1 (P2 = 0xBF800000) on the first
# result the order of the probabilities reverses (from the model).
sm_rng = np.random.default_rng(24)
sm_x = [float(x) for x in sm_rng.normal(0, 4, 74).astype(np.float32)]
sm_x[40] = sm_x[41]  # a tie inside a row
vector("float_fsoftmax_scale", "FSOFTMAX 2x37 with scale 0.125 in place (c = a), then scale -1 on the result, "
       "then scale 0 on a row holding +inf (0 * inf = NaN row)",
       Prog(12, 18).ins(0, FSOFTMAX, 1, 0, 1, fsm(bits(0.125))).ins(3, FSOFTMAX, 1, 0, 8, fsm(bits(-1.0)))
       .ins(6, FSOFTMAX, 15, 0, 16, fsm(0)).ins(9, HALT, 0, 0, 0).f32(1, 2, 37, sm_x).f32(15, 1, 3, [1.0, INF, 2.0]),
       dict(status="halted", steps=4, pc=9, words={(1, 16): 0x7FC00000, (3, 16): 0x7FC00000}))

vector("float_trap_fsoftmax_dtype", "FSOFTMAX declaring b as f32 (P1 = 1,1,1,0; b is none): BAD_PARAM at (0,0)",
       Prog(6, 4).f32(1, 1, 2, [1.0, 2.0]).ins(0, FSOFTMAX, 1, 0, 2, [F111, pix(ONE)]),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 0, 0), unchanged=True))

# Decoding one token: T = 1, L = 4, D = 4, two heads. q = 0, so every score is 0 and each head
# weighs the four value rows 0.25 each: out = the mean of V's rows, exact: [7, 8, 9, 10].
vector("float_fattention", "FATTENTION T=1, L=4, D=4, 2 heads, q = 0: equal scores, out = mean of V's rows [7 8 9 10]",
       Prog(6, 12).ins(0, FATTENTION, 1, 2, 10, fatt(6, 2, bits(0.5))).ins(4, HALT, 0, 0, 0)
       .f32(1, 1, 4, [0.0] * 4).f32(2, 4, 4, [float(x) for x in range(16)])
       .f32(6, 4, 4, [float(x) for x in range(1, 17)]),
       dict(status="halted", steps=2, pc=4,
            words={(1, 10): bits(7.0), (2, 10): bits(8.0), (3, 10): bits(9.0), (4, 10): bits(10.0)}))

# Prefill: T = L = 3, D = 2, one head. Query 0 sees row 0 only: softmax of one score is exactly 1
# (exp(0) = 1, recip(1) = 1), so out row 0 = V row 0 = [5, -6]. Query 2 sees all three (model).
vector("float_fattention_causal", "FATTENTION T=L=3 (prefill), one head: query 0 sees only row 0, so out[0] = V[0]",
       Prog(8, 8).ins(0, FATTENTION, 1, 2, 5, fatt(3, 1, bits(0.7071067690849304))).ins(4, HALT, 0, 0, 0)
       .f32(1, 3, 2, [1.0, -1.0, 0.5, 2.0, -3.0, 0.25]).f32(2, 3, 2, [2.0, 1.0, -1.0, 4.0, 0.5, 0.5])
       .f32(3, 3, 2, [5.0, -6.0, 1.5, 2.5, -0.75, 8.0]),
       dict(status="halted", steps=2, pc=4, words={(0, 5): 0x00030002, (1, 5): bits(5.0), (2, 5): bits(-6.0)}))

# Many heads: D = 24, 12 heads of 2, T = 2 newest of L = 5, random N(0,1) values, scale 1/sqrt(2).
at_rng = np.random.default_rng(25)
rnd = lambda n, sd=1.0: [float(x) for x in at_rng.normal(0, sd, n).astype(np.float32)]
vector("float_fattention_heads", "FATTENTION D=24 in 12 heads of 2, T=2 newest of L=5, random values",
       Prog(20, 22).ins(0, FATTENTION, 1, 4, 18, fatt(11, 12, bits(0.7071067690849304))).ins(4, HALT, 0, 0, 0)
       .f32(1, 2, 24, rnd(48)).f32(4, 5, 24, rnd(120, 2.0)).f32(11, 5, 24, rnd(120)),
       dict(status="halted", steps=2, pc=4, words={(0, 18): 0x00020018}))

# Hostile: D = 40, two heads of 20 (two F.5 blocks, the last short), T = 2, L = 19 (positions:
# two blocks, the last short). Head 0: K row 3 has a NaN payload (a score NaN: every output of
# head 0 NaN, for both queries, which both see row 3). Head 1 of query 0: scores overflow
# (q[1] column 20 = 1e30 against K values up to 1e30: inf); query 1's head-1 scores stay finite
# but huge (1e19 * K): the max keeps exp in range. V holds subnormals, -0, 2^-126 (read as +0),
# MAX (times a probability), -inf in row 18 (seen only by query 1: -inf * p = -inf unless p is 0).
T_, L_, D_ = 2, 19, 40
hq = rnd(T_ * D_)
hk = rnd(L_ * D_)
hv = rnd(L_ * D_)
hk[3 * D_ + 5] = NAN_PAYLOAD
hq[0 * D_ + 20] = 1e30
hk[7 * D_ + 20] = 1e30
hq[1 * D_ + 21] = 1e19
hv[0 * D_ + 22] = DENORM
hv[1 * D_ + 22] = NEG_ZERO
hv[2 * D_ + 22] = MIN_NORMAL
hv[4 * D_ + 23] = MAX
hv[18 * D_ + 24] = NEG_INF
vector("float_fattention_hostile", "FATTENTION D=40 (2 heads of 20), T=2, L=19: NaN payload in K, scores that "
       "overflow to inf (NaN rows), huge finite scores, subnormal/-0/2^-126/MAX/-inf values in V",
       Prog(41, 50).ins(0, FATTENTION, 1, 3, 45, fatt(24, 2, bits(0.25))).ins(4, HALT, 0, 0, 0)
       .f32(1, T_, D_, hq).f32(3, L_, D_, hk).f32(24, L_, D_, hv),
       dict(status="halted", steps=2, pc=4, words={(1, 45): 0x7FC00000, (20, 45): 0x7FC00000,
                                                     (1, 46): 0x7FC00000, (21, 45): 0x7FC00000}))

# L = 1 and the caches at capacity: K and V fill the image to its last row. One token: the
# softmax of a single score is 1, so out = V row 0 exactly, whatever q and K hold (finite).
# Then out = q (c = a, read before written) on the same caches: the same result.
vector("float_fattention_l1", "FATTENTION with L=1 (out = V's only row exactly), the caches ending on the last "
       "image row, out written over q",
       Prog(6, 5).ins(0, FATTENTION, 1, 2, 1, fatt(3, 2, bits(0.5))).ins(4, HALT, 0, 0, 0)
       .f32(1, 1, 4, [3.0, -1.0, 1e10, 2.0]).f32(2, 1, 4, [1.0, 2.0, -3e20, 0.5]).f32(3, 1, 4, [0.5, -0.25, MAX, 7.0]),
       dict(status="halted", steps=2, pc=4,
            words={(1, 1): bits(0.5), (2, 1): bits(-0.25), (3, 1): MAX, (4, 1): bits(7.0)}))

# Traps (check 7 at the opcode pixel; check 8 at the header that is wrong).
def att_base(q_cols=4, q_rows=1, k_cols=4, k_rows=2, v_cols=4, v_rows=2):
    return (Prog(6, 14).f32(1, q_rows, q_cols, [1.0] * (q_rows * q_cols)).f32(3, k_rows, k_cols, [1.0] * (k_rows * k_cols))
            .f32(7, v_rows, v_cols, [1.0] * (v_rows * v_cols)))


vector("float_trap_fattention_heads", "FATTENTION with 3 heads for D=4: SHAPE_MISMATCH at q's header (0,1)",
       att_base().ins(0, FATTENTION, 1, 3, 11, fatt(7, 3)),
       dict(status="trapped", steps=0, pc=0, trap=("SHAPE_MISMATCH", 0, 1), unchanged=True))
vector("float_trap_fattention_zero_heads", "FATTENTION with heads = 0: BAD_PARAM at (0,0)",
       att_base().ins(0, FATTENTION, 1, 3, 11, fatt(7, 0)),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 0, 0), unchanged=True))
vector("float_trap_fattention_v_row", "FATTENTION with V row 0 (V is required): BAD_PARAM at (0,0)",
       att_base().ins(0, FATTENTION, 1, 3, 11, fatt(0, 1)),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 0, 0), unchanged=True))
vector("float_trap_fattention_k_cols", "FATTENTION with K 2x2 for q 1x4: SHAPE_MISMATCH at K's header (0,3)",
       att_base(k_cols=2).ins(0, FATTENTION, 1, 3, 11, fatt(7, 1)),
       dict(status="trapped", steps=0, pc=0, trap=("SHAPE_MISMATCH", 0, 3), unchanged=True))
vector("float_trap_fattention_t_gt_l", "FATTENTION with T=3 queries and L=2 cached rows: SHAPE_MISMATCH at K's header (0,3)",
       att_base(q_rows=3).ins(0, FATTENTION, 1, 3, 11, fatt(7, 1)),
       dict(status="trapped", steps=0, pc=0, trap=("SHAPE_MISMATCH", 0, 3), unchanged=True))
vector("float_trap_fattention_v_shape", "FATTENTION with V 3x4 for K 2x4: SHAPE_MISMATCH at V's header (0,7)",
       att_base(v_rows=3).ins(0, FATTENTION, 1, 3, 11, fatt(7, 1)),
       dict(status="trapped", steps=0, pc=0, trap=("SHAPE_MISMATCH", 0, 7), unchanged=True))
vector("float_trap_fattention_empty", "FATTENTION with an empty key cache (L = 0 rows): BAD_HEADER at K's header (0,3)",
       att_base().set(0, 3, [4, 0, 0, 0]).ins(0, FATTENTION, 1, 3, 11, fatt(7, 1)),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_HEADER", 0, 3), unchanged=True))
vector("float_trap_fattention_v_overflow", "FATTENTION with V running past the last row: MATRIX_OVERFLOW at V's header (0,13)",
       att_base().set(0, 13, [4, 0, 2, 0]).ins(0, FATTENTION, 1, 3, 11, fatt(13, 1)),
       dict(status="trapped", steps=0, pc=0, trap=("MATRIX_OVERFLOW", 0, 13), unchanged=True))



# ---- §11.4-11.7: DEQUANT, QUANT, FCONVERT, LAYERNORM, GELU ----


def qparams(p1, scale, zp, reserved=(0, 0, 0)):
    return [p1, pix(scale if isinstance(scale, int) else bits(scale)), [zp] + list(reserved)]


DQ, QU = [0, 0, 1, 0], [1, 0, 0, 0]  # P1 of DEQUANT (a u8, c f32) and QUANT (a f32, c u8)

# DEQUANT, zero point 128, scale 1/16 (exact): (0-128)/16 = -8, (1-128)/16 = -7.9375, 128 -> +0 (not
# -0), 129 -> 0.0625, 255 -> 7.9375. G, B, A of a's pixels (here 9, 9, 9) are not read. A second
# DEQUANT with zero point 0 and scale MAX overflows: 0 -> +0, 1 -> MAX, 2 -> +inf; a third with
# zero point 255 and the smallest accepted scale 0x00800001: (254 - 255) s = -s stays (above 2^-126).
vector("float_dequant", "DEQUANT u8 -> f32: zero points 128, 0, 255; scale 1/16, MAX (overflow to inf), "
       "0x00800001; q = zp gives +0",
       Prog(16, 9).ins(0, DEQUANT, 1, 0, 3, qparams(DQ, 0.0625, 128))
       .ins(4, DEQUANT, 2, 0, 5, qparams(DQ, MAX, 0))
       .ins(8, DEQUANT, 2, 0, 7, qparams(DQ, 0x00800001, 255))
       .ins(12, HALT, 0, 0, 0)
       .u8(1, 1, 6, [0, 1, 127, 128, 129, 255], gba=(9, 9, 9))
       .u8(2, 1, 4, [0, 1, 2, 254]),
       dict(status="halted", steps=4, pc=12,
            words={(1, 3): bits(-8.0), (2, 3): bits(-7.9375), (4, 3): 0, (5, 3): bits(0.0625),
                   (6, 3): bits(7.9375), (1, 5): 0, (2, 5): MAX, (3, 5): INF, (4, 7): 0x80800001}))

# QUANT, inv_scale 1, zero point 128: ties to even: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -0.5 -> 0, -1.5 -> -2,
# -2.5 -> -2 (+128); NaN payload -> zp 128; +inf -> 255; -inf -> 0; -0, subnormal -> 128;
# 127.49 -> 127 + 128 = 255; 127.5 -> 128 + 128 = 256 -> 255; -128.5 -> -128 + 128 = 0; -129.5 -> 0.
# c's pixels start as (7, 1, 2, 3): QUANT writes R only, G, B, A stay 1, 2, 3.
QX = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, NAN_PAYLOAD, INF, NEG_INF, NEG_ZERO, DENORM, 127.49, 127.5, -128.5, -129.5,
      0.49999997]
vector("float_quant", "QUANT f32 -> u8: ties to even, NaN -> zero point, +-inf saturate, -0/subnormal, "
       "clamping at 0 and 255; writes R only",
       Prog(9, 7).ins(0, QUANT, 1, 0, 4, qparams(QU, 1.0, 128)).ins(4, HALT, 0, 0, 0)
       .f32(1, 2, 8, QX).fill(4, 16, [7, 1, 2, 3]),
       dict(status="halted", steps=2, pc=4,
            words={(1, 4): 0x03020180, (2, 4): 0x03020182, (3, 4): 0x03020182, (4, 4): 0x03020180,
                   (5, 4): 0x0302017E, (6, 4): 0x0302017E, (7, 4): 0x03020180, (8, 4): 0x030201FF,
                   (1, 5): 0x03020100, (2, 5): 0x03020180, (3, 5): 0x03020180, (4, 5): 0x030201FF,
                   (5, 5): 0x030201FF, (6, 5): 0x03020100, (7, 5): 0x03020100, (8, 5): 0x03020180}))

# QUANT with a real scale: inv_scale 10 and zero point 0 / 255. 0.25 * 10 = 2.5 -> 2; 0.35 * 10 rounds to
# 3.5 in binary32 (0x3EB33333 * 10 = 3.4999998 or 3.5: the model decides); MAX * 10 = inf -> 255;
# -MAX * 10 = -inf -> 0; with zero point 255 everything at or above 0 is 255; -25.6 * 10 -> -256 -> 0.
QY = [0.25, 0.35, MAX, 0xFF7FFFFF, 1e-3, -0.05, 25.5, -25.6]
vector("float_quant_zero_points", "QUANT with inv_scale 10 and zero points 0 and 255: overflow of x * inv_scale "
       "to +-inf saturates",
       Prog(10, 7).ins(0, QUANT, 1, 0, 3, qparams(QU, 10.0, 0)).ins(4, QUANT, 1, 0, 5, qparams(QU, 10.0, 255))
       .ins(8, HALT, 0, 0, 0).f32(1, 1, 8, QY),
       dict(status="halted", steps=3, pc=8,
            words={(1, 3): 2, (3, 3): 255, (4, 3): 0, (5, 3): 0, (6, 3): 0, (7, 3): 255, (8, 3): 0,
                   (1, 5): 255, (3, 5): 255, (4, 5): 0, (6, 5): 255 - 0, (8, 5): 0}))

# FCONVERT f16 -> f32 (P1 = 2,0,1,0). 7 halves in 4 pixels of a width-4 image (3 element pixels per
# row): the f16 matrix at rows 5..6 fits only because f16 counts ceil(7/2) = 4 pixels (as 7 pixels
# it would need rows 5..7, past the last row 6). 0x3C00 = 1, 0xC000 = -2, 0x0001 = 2^-24 (a binary16
# subnormal, a normal binary32: 0x33800000), 0x8000 = -0 -> +0, 0x7C00 = inf, 0x7E01 (NaN) -> 0x7FC00000,
# 0x7BFF = 65504.
H7 = [0x3C00, 0xC000, 0x0001, 0x8000, 0x7C00, 0x7E01, 0x7BFF]
vector("float_fconvert_f16_to_f32", "FCONVERT f16 -> f32: subnormal halves, -0, inf, NaN, 65504; the f16 input "
       "fits only as ceil(7/2) = 4 pixels",
       Prog(4, 7).ins(0, FCONVERT, 5, 0, 1, [[2, 0, 1, 0]]).ins(2, HALT, 0, 0, 0).f16(5, 1, 7, H7),
       dict(status="halted", steps=2, pc=2,
            words={(1, 1): bits(1.0), (2, 1): bits(-2.0), (3, 1): 0x33800000, (1, 2): 0, (2, 2): INF,
                   (3, 2): 0x7FC00000, (1, 3): bits(65504.0)}))

# FCONVERT f32 -> f16 (P1 = 1,0,2,0), 11 elements -> 6 pixels, the last one's high half 0. to_f16:
# 1 -> 0x3C00; 65504 -> 0x7BFF; 65519.996 -> 0x7BFF; 65520 -> inf 0x7C00; 2^-24 -> 0x0001;
# 2^-25 (a tie between 0 and 2^-24) -> 0 (even); 1.5 * 2^-25 -> 0x0001; NaN -> 0x7E00; -inf -> 0xFC00;
# 1 + 2^-11 (tie) -> 0x3C00 (even); 1 + 3 * 2^-11 (tie) -> 0x3C02 (even). c starts as 0xEEEEEEEE
# garbage: every pixel is written whole.
F11 = [1.0, 65504.0, 65519.996, 65520.0, 2.0**-24, 2.0**-25, 1.5 * 2.0**-25, NAN_PAYLOAD, NEG_INF,
       1.0 + 2.0**-11, 1.0 + 3 * 2.0**-11]
vector("float_fconvert_f32_to_f16", "FCONVERT f32 -> f16: overflow at 65520, binary16 subnormals, ties to even, "
       "NaN, -inf; 11 elements in 6 pixels (last high half 0)",
       Prog(8, 6).ins(0, FCONVERT, 1, 0, 4, [[1, 0, 2, 0]]).ins(2, HALT, 0, 0, 0)
       .f32(1, 1, 11, F11).fill(4, 7, [0xEE] * 4),
       dict(status="halted", steps=2, pc=2,
            words={(1, 4): 0x7BFF3C00, (2, 4): 0x7C007BFF, (3, 4): 0x00000001, (4, 4): 0x7E000001,
                   (5, 4): 0x3C00FC00, (6, 4): 0x00003C02, (7, 4): 0xEEEEEEEE}))

# In place: a (f32, 1x5) converted to f16 over itself (reads before writes), then back to f32 in c.
# Pixels 4, 5 of a's row keep their f32 bits (FCONVERT writes ceil(5/2) = 3 pixels).
# 0.1 -> 0x2E66 -> 0.0999755859375; 3 -> 3; -65536 -> -inf; 1e-8 -> 0 (below half of 2^-24); 2^-14 -> 0x0400.
vector("float_fconvert_in_place", "FCONVERT f32 -> f16 in place (c = a), then f16 -> f32: rounding through binary16",
       Prog(7, 4).ins(0, FCONVERT, 1, 0, 1, [[1, 0, 2, 0]]).ins(2, FCONVERT, 1, 0, 2, [[2, 0, 1, 0]])
       .ins(4, HALT, 0, 0, 0).f32(1, 1, 5, [0.1, 3.0, -65536.0, 1e-8, 2.0**-14]),
       dict(status="halted", steps=3, pc=4,
            words={(1, 1): 0x42002E66, (2, 1): 0x0000FC00, (3, 1): 0x00000400, (4, 1): bits(1e-8),
                   (1, 2): bits(0.0999755859375), (2, 2): bits(3.0), (3, 2): NEG_INF, (4, 2): 0,
                   (5, 2): bits(2.0**-14)}))

# GELU element-wise (PROTOCOL.md F.6; the same function as FMATMUL's activation 2): gelu(0) = 0,
# gelu(-0) = gelu(subnormal) = 0, +inf -> +inf, -inf -> +0, NaN -> NaN, -11 -> +0 (e^-2u overflows), the
# rest from the model.
GX = [0.0, NEG_ZERO, DENORM, 1.0, -1.0, 0.5, -3.0, 3.0, -9.0, -11.0, 20.0, INF, NEG_INF, NAN_PAYLOAD, MAX, -0.1,
      1e-20]
vector("float_gelu", "GELU of 17 values: -0, subnormals, +-inf, NaN payload, MAX, -11 (+0), small and large",
       Prog(9, 7).ins(0, GELU, 1, 0, 4, [[1, 0, 1, 0]]).ins(2, HALT, 0, 0, 0).f32(1, 1, 17, GX),
       dict(status="halted", steps=2, pc=2,
            words={(1, 4): 0, (2, 4): 0, (3, 4): 0, (2, 5): 0, (4, 5): INF, (5, 5): 0, (6, 5): 0x7FC00000,
                   (7, 5): MAX}))


def lnp(bias_row, eps, reserved=0):
    return [F111, [bias_row & 255, bias_row >> 8, reserved, 0], pix(eps if isinstance(eps, int) else bits(eps))]


# LAYERNORM 5 x 20 (two blocks per row, the second 4 terms + 12 zeros), gain and bias random, eps 1e-5.
# Row 0 N(0, 1); row 1 N(1000, 1) (the mean is large next to the spread: cancellation in d = x - mean);
# row 2 all equal (0.1: mean = 0.1 up to rounding, d tiny or 0); row 3 holds a NaN payload -> NaN
# everywhere (mean NaN); row 4 holds +inf -> mean inf, d = inf - inf = NaN for it and -inf for the
# others... all of it follows from F.3, the model decides every bit.
N, M = 20, 5
x = [float(v) for v in rng.normal(0, 1, N).astype(np.float32)]
x += [float(v) for v in (1000 + rng.normal(0, 1, N)).astype(np.float32)]
x += [0.1] * N
row3 = [float(v) for v in rng.normal(0, 1, N).astype(np.float32)]
row3[7] = NAN_PAYLOAD
row4 = [float(v) for v in rng.normal(0, 1, N).astype(np.float32)]
row4[19] = INF
x += row3 + row4
gain = [float(v) for v in (1 + 0.1 * rng.normal(0, 1, N)).astype(np.float32)]
gain[3], gain[4] = NEG_ZERO, DENORM  # read as +0: those outputs are the bias
lbias = [float(v) for v in (0.1 * rng.normal(0, 1, N)).astype(np.float32)]
vector("float_layernorm", "LAYERNORM 5x20 with gain and bias rows, eps 1e-5: a N(0,1) row, a N(1000,1) row, "
       "an all-equal row, rows with NaN and inf",
       Prog(24, 12).ins(0, LAYERNORM, 1, 7, 1, lnp(8, 1e-5)).ins(4, HALT, 0, 0, 0)
       .f32(1, M, N, x).f32(7, 1, N, gain).f32(8, 1, N, lbias),
       dict(status="halted", steps=2, pc=4,
            words={(4, 1): lbias[3] if isinstance(lbias[3], int) else bits(lbias[3]),
                   (1, 4): 0x7FC00000, (20, 4): 0x7FC00000}))

# Epsilon extremes on rows of 16 equal values (sum exact, 1/16 exact: mean exact, d = 0, var = 0) and
# a 0, 3 row. eps = 0: rsqrt(0) = inf, 0 * inf = NaN for the equal row; the 0, 3 row: mean 1.5,
# d = +-1.5, var = 2.25, s = 1/1.5: y = +-1 exactly (rsqrt(2.25) = 0x3F2AAAAB, 1.5 * that = 1.0000000298
# rounds to 1). eps = MAX: var + MAX = MAX, s = rsqrt(MAX); eps = 2^-125 (0x01000000, tiny normal).
# No bias (bias row 0), gain 1, c = a (in place).
eq = [2.0] * 16
alt = [0.0, 3.0] * 8
lp = lambda eps: Prog(18, 6).f32(1, 2, 16, eq + alt).f32(3, 1, 16, [1.0] * 16)
vector("float_layernorm_eps0", "LAYERNORM with eps = 0: an all-equal row gives NaN (0 * inf), a 0/3 row gives +-1; "
       "no bias, in place",
       lp(0).ins(0, LAYERNORM, 1, 3, 1, lnp(0, 0)).ins(4, HALT, 0, 0, 0),
       dict(status="halted", steps=2, pc=4,
            words={(1, 1): 0x7FC00000, (16, 1): 0x7FC00000, (17, 1): bits(-1.0), (1, 2): bits(1.0)}))
vector("float_layernorm_eps_huge", "LAYERNORM with eps = MAX: var + eps = MAX, s = rsqrt(MAX) ~ 2^-64",
       lp(0).ins(0, LAYERNORM, 1, 3, 4, lnp(0, MAX)).ins(4, HALT, 0, 0, 0),
       dict(status="halted", steps=2, pc=4, words={(1, 4): 0}))
vector("float_layernorm_eps_tiny", "LAYERNORM with eps = 2^-125 (0x01000000): the all-equal row gives "
       "0 * rsqrt(2^-125) = 0",
       lp(0).ins(0, LAYERNORM, 1, 3, 4, lnp(0, 0x01000000)).ins(4, HALT, 0, 0, 0),
       dict(status="halted", steps=2, pc=4, words={(1, 4): 0, (17, 4): bits(-1.0)}))

# Traps of the new opcodes (check 7 at the opcode pixel; shapes at the header; f16 fit counts).
vector("float_trap_dequant_scale", "DEQUANT with scale 0: BAD_PARAM at (0,0)",
       Prog(8, 4).u8(1, 1, 2, [1, 2]).ins(0, DEQUANT, 1, 0, 2, qparams(DQ, 0, 0)),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 0, 0), unchanged=True))
vector("float_trap_quant_scale", "QUANT with a negative inv_scale (-1): BAD_PARAM at (0,0)",
       Prog(8, 4).f32(1, 1, 2, [1.0, 2.0]).ins(0, QUANT, 1, 0, 2, qparams(QU, -1.0, 0)),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 0, 0), unchanged=True))
vector("float_trap_quant_subnormal_scale", "QUANT with a subnormal inv_scale (0x00000001): BAD_PARAM at (0,0)",
       Prog(8, 4).f32(1, 1, 2, [1.0, 2.0]).ins(0, QUANT, 1, 0, 2, qparams(QU, DENORM, 0)),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 0, 0), unchanged=True))
vector("float_trap_quant_reserved", "QUANT with P3 = (5, 0, 1, 0): a reserved channel, BAD_PARAM at (0,0)",
       Prog(8, 4).f32(1, 1, 2, [1.0, 2.0]).ins(0, QUANT, 1, 0, 2, qparams(QU, 1.0, 5, (0, 1, 0))),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 0, 0), unchanged=True))
vector("float_trap_fconvert_dtype", "FCONVERT declaring f16 -> f16 (P1 = 2,0,2,0): BAD_PARAM at (0,0)",
       Prog(8, 4).f16(1, 1, 2, [0x3C00, 0x4000]).ins(0, FCONVERT, 1, 0, 2, [[2, 0, 2, 0]]),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 0, 0), unchanged=True))
# 1x7 f16 in a width-4 image: 4 pixels, rows 2..3 of 4; as f32 (7 pixels) it needs rows 2..4.
vector("float_trap_f32_input_overflow", "FCONVERT reading a 1x7 matrix as f32 where only its f16 form (4 pixels) "
       "fits: MATRIX_OVERFLOW at (0,2)",
       Prog(4, 4).f16(2, 1, 7, H7).ins(0, FCONVERT, 2, 0, 1, [[1, 0, 2, 0]]),
       dict(status="trapped", steps=0, pc=0, trap=("MATRIX_OVERFLOW", 0, 2), unchanged=True))
vector("float_trap_f32_output_overflow", "FCONVERT f16 -> f32 of a 1x7 matrix: the input fits as f16, the 7-pixel "
       "f32 result at row 2 does not: MATRIX_OVERFLOW at (0,2)",
       Prog(4, 4).f16(2, 1, 7, H7).ins(0, FCONVERT, 2, 0, 2, [[2, 0, 1, 0]]),
       dict(status="trapped", steps=0, pc=0, trap=("MATRIX_OVERFLOW", 0, 2), unchanged=True))
vector("float_trap_f16_output_fits", "FCONVERT f32 -> f16 of a 1x6 f32 matrix into row 3 of a width-4 image: "
       "3 pixels fit in the last row (6 would not)",
       Prog(4, 4).f32(1, 1, 6, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).ins(0, FCONVERT, 1, 0, 3, [[1, 0, 2, 0]])
       .ins(2, HALT, 0, 0, 0),
       dict(status="halted", steps=2, pc=2, words={(1, 3): 0x40003C00, (3, 3): 0x46004500}))
vector("float_trap_layernorm_eps", "LAYERNORM with eps = -1e-5: BAD_PARAM at (0,0)",
       Prog(8, 5).f32(1, 1, 2, [1.0, 2.0]).f32(2, 1, 2, [1.0, 1.0]).ins(0, LAYERNORM, 1, 2, 3, lnp(0, -1e-5)),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 0, 0), unchanged=True))
vector("float_trap_layernorm_eps_nan", "LAYERNORM with eps = NaN: BAD_PARAM at (0,0)",
       Prog(8, 5).f32(1, 1, 2, [1.0, 2.0]).f32(2, 1, 2, [1.0, 1.0]).ins(0, LAYERNORM, 1, 2, 3, lnp(0, NAN_PAYLOAD)),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 0, 0), unchanged=True))
vector("float_trap_layernorm_gain", "LAYERNORM with a 2x2 gain for a 1x2 row: SHAPE_MISMATCH at the gain's header (0,2)",
       Prog(8, 5).f32(1, 1, 2, [1.0, 2.0]).f32(2, 2, 2, [1.0, 1.0, 1.0, 1.0]).ins(0, LAYERNORM, 1, 2, 3, lnp(0, 1e-5)),
       dict(status="trapped", steps=0, pc=0, trap=("SHAPE_MISMATCH", 0, 2), unchanged=True))
vector("float_trap_layernorm_bias", "LAYERNORM with a 1x3 bias for 2 columns: SHAPE_MISMATCH at the bias (0,3)",
       Prog(8, 5).f32(1, 1, 2, [1.0, 2.0]).f32(2, 1, 2, [1.0, 1.0]).f32(3, 1, 3, [0.0, 0.0, 0.0])
       .ins(0, LAYERNORM, 1, 2, 4, lnp(3, 1e-5)),
       dict(status="trapped", steps=0, pc=0, trap=("SHAPE_MISMATCH", 0, 3), unchanged=True))


if __name__ == "__main__":
    vector_files.write_all(VECTORS, HERE, "float_", "make_float_vectors.py", "float", "--check" in sys.argv[1:])
