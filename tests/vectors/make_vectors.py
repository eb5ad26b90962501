#!/usr/bin/env python3
"""Generates the Pixel Protocol test vectors in this directory (tests/vectors/*.json).

The expected results come from a small model of PROTOCOL.md written here from the text of the
protocol, independently of engine/vm/vm.cpp, and every vector also carries values worked out by hand
(the `hand` checks below), which the model must reproduce before a file is written. The C++
interpreter is never consulted: the vectors check it rather than echo it.

Run from anywhere:  python3 tests/vectors/make_vectors.py
Standard library only. The output is deterministic; commit the .json files it writes.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vector_files  # noqa: E402 (the JSON files every vector generator writes)

HALT, DOT, ADD, RELU, MATMUL, WIDE = 0, 1, 2, 3, 4, 15
QMATMUL, QADD, QRELU, QMATMUL32 = 8, 9, 10, 11
IN, OUT, INOUT, SCALAR, NONE = "in", "out", "inout", "scalar", "none"
# PROTOCOL.md §5: operand kinds a, b, c; §5.5: parameter pixels of the quantized opcodes.
KINDS = {HALT: (NONE, NONE, NONE), DOT: (IN, IN, SCALAR), ADD: (IN, IN, OUT), RELU: (INOUT, NONE, NONE),
         MATMUL: (IN, IN, OUT), QMATMUL: (IN, IN, OUT), QADD: (IN, IN, OUT), QRELU: (INOUT, NONE, NONE),
         QMATMUL32: (IN, IN, OUT)}
PARAMS = {QMATMUL: 3, QADD: 4, QRELU: 1, QMATMUL32: 2}


def int32(p):
    """§5.5.1: an int32 pixel, little-endian over R, G, B, A, signed."""
    v = p[0] | p[1] << 8 | p[2] << 16 | p[3] << 24
    return v - 2**32 if v >= 2**31 else v


def rq(x, m, shift):
    """§5.5.1: floor((x*M + 2^(shift-1)) / 2^shift), exact (Python integers are unbounded)."""
    return (x * m + (1 << (shift - 1))) >> shift
DEFAULT_STEP_LIMIT = 65536


class Trap(Exception):
    def __init__(self, name, x, y):
        super().__init__(name)
        self.name, self.x, self.y = name, x, y


def model(width, height, pixels, step_limit=DEFAULT_STEP_LIMIT):
    """Runs a program per PROTOCOL.md §4-§5. pixels: {(x, y): [r, g, b, a]}. Returns a dict."""
    img = {k: list(v) for k, v in pixels.items()}

    def px(x, y):
        return img.get((x, y), [0, 0, 0, 0])

    def header(row):
        p = px(0, row)
        return p[0] + 256 * p[1], p[2] + 256 * p[3]  # cols, rows

    def nrows(n):  # §3: image rows a matrix of n elements occupies
        return max(1, -(-n // (width - 1)))

    def fits(row, cols, rows):
        return width >= 2 and 1 <= row < height and row + nrows(cols * rows) <= height

    def elem_xy(row, i):
        return 1 + i % (width - 1), row + i // (width - 1)

    def gather(row, n):
        return [px(*elem_xy(row, i))[0] for i in range(n)]

    def scatter(row, cols, rows, values):
        img[(0, row)] = [cols & 255, cols >> 8, rows & 255, rows >> 8]
        for i, v in enumerate(values):
            p = px(*elem_xy(row, i))
            img[elem_xy(row, i)] = [v, p[1], p[2], p[3]]

    pc, steps = 0, 0
    while True:
        if pc >= width:  # §4.1 step 1
            return dict(status="halted", steps=steps, pc=pc, image=img)
        try:
            if steps >= step_limit:
                raise Trap("STEP_LIMIT", pc, 0)
            first = px(pc, 0)
            high = [0, 0, 0]
            op_x = pc
            if first[0] == WIDE:
                if pc + 1 >= width:
                    raise Trap("TRUNCATED", pc, 0)  # check 1
                high = first[1:4]
                op_x = pc + 1
            opp = px(op_x, 0)
            op = opp[0]
            if op not in KINDS:
                raise Trap("BAD_OPCODE", op_x, 0)  # check 2 (a second WIDE is not in the table)
            kinds = KINDS[op]
            nparams = PARAMS.get(op, 0)
            if op_x + nparams >= width:
                raise Trap("TRUNCATED", op_x, 0)  # check 3
            P = [px(op_x + 1 + i, 0) for i in range(nparams)]
            rows = [high[i] * 256 + opp[1 + i] for i in range(3)]
            for i in range(3):  # check 4
                if kinds[i] != NONE and not (1 <= rows[i] < height):
                    raise Trap("ROW_OUT_OF_IMAGE", op_x, 0)
            shape = [None, None, None]
            for i in range(3):  # checks 5 and 6, operand by operand
                if kinds[i] in (IN, INOUT):
                    cols, rws = header(rows[i])
                    if cols == 0 or rws == 0:
                        raise Trap("BAD_HEADER", 0, rows[i])
                    if not fits(rows[i], cols, rws):
                        raise Trap("MATRIX_OVERFLOW", 0, rows[i])
                    shape[i] = (cols, rws)
            bias_row = 0
            if op in (QMATMUL, QADD):  # check 7 (§5.5.2, §5.5.3), in the order given there
                if not 1 <= P[0][3] <= 62:
                    raise Trap("BAD_PARAM", op_x, 0)
                if int32(P[1]) < 0:
                    raise Trap("BAD_PARAM", op_x, 0)
            if op == QMATMUL:
                bias_row = P[2][0] + 256 * P[2][1]
                if not (bias_row == 0 or bias_row < height) or P[2][2] > P[2][3]:
                    raise Trap("BAD_PARAM", op_x, 0)
            if op == QADD:
                if int32(P[2]) < 0 or P[3][0] > P[3][1] or P[3][2] or P[3][3]:
                    raise Trap("BAD_PARAM", op_x, 0)
            if op == QRELU and (P[0][1] or P[0][2] or P[0][3]):
                raise Trap("BAD_PARAM", op_x, 0)
            if op == QMATMUL32:
                bias_row = P[1][0] + 256 * P[1][1]
                if P[0][2] or P[0][3] or not (bias_row == 0 or bias_row < height) or P[1][2] or P[1][3]:
                    raise Trap("BAD_PARAM", op_x, 0)
            out = None
            if op in (QMATMUL, QMATMUL32):  # check 8, then the bias
                if shape[0][0] != shape[1][1]:
                    raise Trap("SHAPE_MISMATCH", 0, rows[1])
                out = (shape[1][0], shape[0][1])
                if bias_row:
                    if header(bias_row) != (shape[1][0], 1):
                        raise Trap("SHAPE_MISMATCH", 0, bias_row)
                    if not fits(bias_row, shape[1][0], 1):
                        raise Trap("MATRIX_OVERFLOW", 0, bias_row)
            if op == QADD:
                if not (shape[0] == shape[1] or (shape[1][1] == 1 and shape[1][0] == shape[0][0])):
                    raise Trap("SHAPE_MISMATCH", 0, rows[1])
                out = shape[0]
            if op == DOT:  # check 8
                if shape[0][0] * shape[0][1] != shape[1][0] * shape[1][1]:
                    raise Trap("SHAPE_MISMATCH", 0, rows[1])
            elif op == ADD:
                if not (shape[0] == shape[1] or (shape[1][1] == 1 and shape[1][0] == shape[0][0])):
                    raise Trap("SHAPE_MISMATCH", 0, rows[1])
                out = shape[0]
            elif op == MATMUL:
                if shape[0][0] != shape[1][1]:
                    raise Trap("SHAPE_MISMATCH", 0, rows[1])
                out = (shape[1][0], shape[0][1])
            for i in range(3):  # check 9
                if kinds[i] == OUT and not fits(rows[i], *out):
                    raise Trap("MATRIX_OVERFLOW", 0, rows[i])
        except Trap as t:
            return dict(status="trapped", steps=steps, pc=pc, trap=t.name, trap_x=t.x, trap_y=t.y, image=img)

        # Execute: every read before any write (§4.2).
        a, b, c = rows
        if op == DOT:
            va, vb = gather(a, shape[0][0] * shape[0][1]), gather(b, shape[1][0] * shape[1][1])
            s = sum(x * y for x, y in zip(va, vb)) % 2**32
            img[(0, c)] = [s & 255, s >> 8 & 255, s >> 16 & 255, s >> 24]
        elif op == ADD:
            (ca, ra), (cb, rb) = shape[0], shape[1]
            va, vb = gather(a, ca * ra), gather(b, cb * rb)
            bias = shape[0] != shape[1]
            res = [min(va[i] + vb[i % cb if bias else i], 255) for i in range(ca * ra)]
            scatter(c, ca, ra, res)
        elif op == MATMUL:
            (K, M), (N, _) = shape[0], shape[1]
            va, vb = gather(a, K * M), gather(b, N * K)
            res = [min(sum(va[m * K + k] * vb[k * N + n] for k in range(K)), 255) for m in range(M) for n in range(N)]
            scatter(c, N, M, res)
        elif op in (QMATMUL, QMATMUL32):
            (K, M_), (N, _) = shape[0], shape[1]
            va, vb = gather(a, K * M_), gather(b, N * K)
            za, zb = P[0][0], P[0][1]
            bias = [int32(px(*elem_xy(bias_row, n))) if bias_row else 0 for n in range(N)]
            accs = []
            for m in range(M_):
                for n in range(N):
                    acc = (bias[n] + sum((va[m * K + k] - za) * (vb[k * N + n] - zb) for k in range(K))) % 2**32
                    accs.append(acc - 2**32 if acc >= 2**31 else acc)
            if op == QMATMUL:
                zc, shift, mult, lo, hi = P[0][2], P[0][3], int32(P[1]), P[2][2], P[2][3]
                scatter(c, N, M_, [min(max(rq(x, mult, shift) + zc, lo), hi) for x in accs])
            else:
                img[(0, c)] = [N & 255, N >> 8, M_ & 255, M_ >> 8]
                for i, x in enumerate(accs):
                    u = x % 2**32
                    img[elem_xy(c, i)] = [u & 255, u >> 8 & 255, u >> 16 & 255, u >> 24]
        elif op == QADD:
            (ca, ra), (cb, rb) = shape[0], shape[1]
            va, vb = gather(a, ca * ra), gather(b, cb * rb)
            bcast = shape[0] != shape[1]
            za, zb, zc, shift = P[0]
            ma, mb, lo, hi = int32(P[1]), int32(P[2]), P[3][0], P[3][1]
            res = []
            for i in range(ca * ra):
                bv = vb[i % cb if bcast else i]
                t = ((va[i] - za) * ma + (bv - zb) * mb + (1 << (shift - 1))) >> shift
                res.append(min(max(zc + t, lo), hi))
            scatter(c, ca, ra, res)
        elif op == QRELU:
            (ca, ra) = shape[0]
            for i in range(ca * ra):
                p = px(*elem_xy(a, i))
                img[elem_xy(a, i)] = [max(p[0], P[0][0]), p[1], p[2], p[3]]
        steps += 1
        if op == HALT:
            return dict(status="halted", steps=steps, pc=pc, image=img)
        pc = op_x + 1 + PARAMS.get(op, 0)
        if pc >= width:
            return dict(status="halted", steps=steps, pc=pc, image=img)


class Prog:
    def __init__(self, width, height):
        self.width, self.height, self.px = width, height, {}

    def ins(self, x, op, a=0, b=0, c=0):
        self.px[(x, 0)] = [op, a, b, c]
        return self

    def wide(self, x, ha=0, hb=0, hc=0):
        self.px[(x, 0)] = [WIDE, ha, hb, hc]
        return self

    def set(self, x, y, rgba):
        self.px[(x, y)] = list(rgba)
        return self

    def mat(self, row, rows, cols, values):
        """Header and elements (R) per §3, placed by hand-written arithmetic."""
        assert len(values) == rows * cols
        self.px[(0, row)] = [cols & 255, cols >> 8, rows & 255, rows >> 8]
        for i, v in enumerate(values):
            x, y = 1 + i % (self.width - 1), row + i // (self.width - 1)
            old = self.px.get((x, y), [0, 0, 0, 0])
            self.px[(x, y)] = [v, old[1], old[2], old[3]]
        return self


VECTORS = []


def vector(name, description, prog, hand, step_limit=None):
    """hand: expectations worked out by hand: status, steps, pc, trap (name, x, y), and pixels
    {(x, y): rgba} that must hold in the final image (a subset; the model supplies the rest)."""
    r = model(prog.width, prog.height, prog.px, step_limit or DEFAULT_STEP_LIMIT)
    for key in ("status", "steps", "pc"):
        if key in hand and hand[key] != r[key]:
            sys.exit(f"{name}: model gives {key}={r[key]}, hand says {hand[key]}")
    if "trap" in hand:
        got = (r.get("trap"), r.get("trap_x"), r.get("trap_y"))
        if tuple(hand["trap"]) != got:
            sys.exit(f"{name}: model traps {got}, hand says {hand['trap']}")
    for xy, rgba in hand.get("pixels", {}).items():
        got = r["image"].get(xy, [0, 0, 0, 0])
        if list(rgba) != got:
            sys.exit(f"{name}: model gives pixel {xy} = {got}, hand says {list(rgba)}")
    if hand.get("unchanged"):
        if {k: v for k, v in r["image"].items() if any(v)} != {k: v for k, v in prog.px.items() if any(v)}:
            sys.exit(f"{name}: image changed, hand says unchanged")
    VECTORS.append((name, description, prog, step_limit, r))


def write_all():
    # float_*.json, gen_*.json and qint_*.json belong to make_float_vectors.py, make_gen_vectors.py and
    # make_qint_vectors.py.
    for old in os.listdir(HERE):
        if old.endswith(".json") and not old.startswith(("float_", "gen_", "qint_")):
            os.remove(os.path.join(HERE, old))
    for name, description, prog, step_limit, r in VECTORS:
        if step_limit:
            prog.step_limit = step_limit
        with open(os.path.join(HERE, name + ".json"), "w", encoding="utf-8") as f:
            f.write(vector_files.render(name, description, prog, r))
    print(f"wrote {len(VECTORS)} vectors to {HERE}")


# ------------------------------------------------------------------------------------------------
# The vectors. `hand` values are worked out by hand from PROTOCOL.md, in the comments.

# HALT at pixel 0: one step, pc stays on the HALT.
vector("halt", "HALT at pixel 0: one step, pc stays on the HALT pixel, nothing written",
       Prog(4, 2).ins(0, HALT).set(3, 1, [9, 9, 9, 9]),
       dict(status="halted", steps=1, pc=0, unchanged=True))

vector("halt_later", "HALT after two RELUs leaves pc on the HALT pixel (x = 2)",
       Prog(5, 2).ins(0, RELU, 1).ins(1, RELU, 1).ins(2, HALT).mat(1, 1, 1, [4]),
       dict(status="halted", steps=3, pc=2, unchanged=True))

# DOT [1,2,3]·[4,5,6] = 4+10+18 = 32 -> (32,0,0,0) at (0,3).
vector("dot_basic", "DOT of two 1x3 vectors: 1*4 + 2*5 + 3*6 = 32 in pixel (0,3)",
       Prog(6, 4).ins(0, DOT, 1, 2, 3).mat(1, 1, 3, [1, 2, 3]).mat(2, 1, 3, [4, 5, 6]),
       dict(status="halted", steps=2, pc=1, pixels={(0, 3): [32, 0, 0, 0]}))

# DOT [200,100]·[3,7] = 600+700 = 1300 = 0x0514 -> R=0x14=20, G=5.
vector("dot_16bit", "DOT result above 255: 1300 = 0x0514 is R=20, G=5",
       Prog(4, 4).ins(0, DOT, 1, 2, 3).mat(1, 1, 2, [200, 100]).mat(2, 1, 2, [3, 7]),
       dict(pixels={(0, 3): [20, 5, 0, 0]}))

# DOT of a 1x260 all-255 vector with itself: 260*65025 = 16906500 = 0x0101F904 -> (4, 249, 1, 1).
vector("dot_32bit", "DOT keeps all 32 bits: 260 * 255 * 255 = 16906500 = 0x0101F904 is RGBA (4,249,1,1); "
       "the vector wraps over 9 rows of a 33-wide image",
       Prog(33, 12).ins(0, DOT, 1, 1, 11).mat(1, 1, 260, [255] * 260),
       dict(status="halted", steps=2, pc=1, pixels={(0, 11): [4, 249, 1, 1]}))

# DOT pairs elements in row-major order across shapes: 2x3 · 3x2, 6 elements each.
# a = 1..6, b = 6..1: 6+10+12+12+10+6 = 56.
vector("dot_shapes", "DOT of a 2x3 and a 3x2 matrix pairs 6 elements in row-major order: 56",
       Prog(8, 4).ins(0, DOT, 1, 2, 3).mat(1, 2, 3, [1, 2, 3, 4, 5, 6]).mat(2, 3, 2, [6, 5, 4, 3, 2, 1]),
       dict(pixels={(0, 3): [56, 0, 0, 0]}))

# DOT writes only pixel (0,c): the rest of row c (G,B,A of a header there too) is replaced whole,
# neighbours untouched.
vector("dot_writes_one_pixel", "DOT replaces the whole pixel (0,c) and nothing else in row c",
       Prog(4, 4).ins(0, DOT, 1, 1, 3).mat(1, 1, 2, [2, 3]).set(0, 3, [9, 9, 9, 9]).set(1, 3, [7, 7, 7, 7]),
       dict(pixels={(0, 3): [13, 0, 0, 0], (1, 3): [7, 7, 7, 7]}))

# ADD equal shapes with clamp: [10,250,3] + [5,10,0] = [15,255(260),3]; header 3x1 written at row 3.
vector("add_clamp", "ADD of equal 1x3 shapes, 250 + 10 clamps to 255; c gets a's header",
       Prog(5, 4).ins(0, ADD, 1, 2, 3).mat(1, 1, 3, [10, 250, 3]).mat(2, 1, 3, [5, 10, 0]),
       dict(pixels={(0, 3): [3, 0, 1, 0], (1, 3): [15, 0, 0, 0], (2, 3): [255, 0, 0, 0], (3, 3): [3, 0, 0, 0]}))

# ADD bias: a 2x3 = [1,2,3,4,5,6], b 1x3 = [10,20,30] -> [11,22,33,14,25,36]; width 4 -> 3 a row.
vector("add_bias", "ADD broadcasts a 1x3 row vector over each row of a 2x3 matrix",
       Prog(4, 6).ins(0, ADD, 1, 3, 4).mat(1, 2, 3, [1, 2, 3, 4, 5, 6]).mat(3, 1, 3, [10, 20, 30]),
       dict(pixels={(0, 4): [3, 0, 2, 0], (1, 4): [11, 0, 0, 0], (2, 4): [22, 0, 0, 0], (3, 4): [33, 0, 0, 0],
                    (0, 5): [0, 0, 0, 0], (1, 5): [14, 0, 0, 0], (2, 5): [25, 0, 0, 0], (3, 5): [36, 0, 0, 0]}))

# ADD in place: a = [1,2], b = [3,4], c = a -> [4,6] at row 1.
vector("add_in_place", "ADD a, b, a writes the sum over a",
       Prog(4, 3).ins(0, ADD, 1, 2, 1).mat(1, 1, 2, [1, 2]).mat(2, 1, 2, [3, 4]),
       dict(pixels={(1, 1): [4, 0, 0, 0], (2, 1): [6, 0, 0, 0], (1, 2): [3, 0, 0, 0]}))

# ADD keeps G, B, A of element pixels and of untouched pixels: a = [(1,7,8,9)], b = [(2,...)],
# c row 3 element has (0,50,60,70) -> (3,50,60,70).
vector("add_keeps_gba", "ADD writes only R of element pixels; G, B, A stay as they were",
       Prog(3, 4).ins(0, ADD, 1, 2, 3).mat(1, 1, 1, [1]).set(1, 1, [1, 7, 8, 9]).mat(2, 1, 1, [2])
       .set(0, 3, [0, 0, 0, 0]).set(1, 3, [0, 50, 60, 70]),
       dict(pixels={(1, 3): [3, 50, 60, 70], (0, 3): [1, 0, 1, 0]}))

# ADD over continuation rows: width 3 (2 a row), a 1x5 = [1..5], b = [10..50] -> [11,22,33,44,55]
# at rows 4..6; column 0 of rows 5, 6 untouched (holds 99 in row 5).
vector("add_wraps_rows", "ADD on 1x5 vectors in a 3-wide image wraps onto continuation rows, skipping column 0",
       Prog(3, 10).ins(0, ADD, 1, 4, 7).mat(1, 1, 5, [1, 2, 3, 4, 5]).mat(4, 1, 5, [10, 20, 30, 40, 50])
       .set(0, 8, [99, 0, 0, 0]),
       dict(pixels={(1, 7): [11, 0, 0, 0], (2, 7): [22, 0, 0, 0], (1, 8): [33, 0, 0, 0], (2, 8): [44, 0, 0, 0],
                    (1, 9): [55, 0, 0, 0], (0, 8): [99, 0, 0, 0], (0, 7): [5, 0, 1, 0]}))

vector("relu", "RELU on unsigned bytes is the identity: nothing is written",
       Prog(4, 3).ins(0, RELU, 1).mat(1, 2, 2, [0, 255, 128, 1]),
       dict(status="halted", steps=2, pc=1, unchanged=True))

# MATMUL 1x2 @ 2x2: [1,2] @ [[3,4],[5,6]] = [1*3+2*5, 1*4+2*6] = [13, 16].
vector("matmul", "MATMUL 1x2 @ 2x2 = [13, 16]; c gets header 1x2",
       Prog(6, 4).ins(0, MATMUL, 1, 2, 3).mat(1, 1, 2, [1, 2]).mat(2, 2, 2, [3, 4, 5, 6]),
       dict(pixels={(0, 3): [2, 0, 1, 0], (1, 3): [13, 0, 0, 0], (2, 3): [16, 0, 0, 0]}))

# MATMUL clamp: [1,2] @ [[3,4],[5,200]] = [13, 404 -> 255].
vector("matmul_clamp", "MATMUL clamps each sum at 255: 1*4 + 2*200 = 404 becomes 255",
       Prog(8, 4).ins(0, MATMUL, 1, 2, 3).mat(1, 1, 2, [1, 2]).mat(2, 2, 2, [3, 4, 5, 200]),
       dict(pixels={(1, 3): [13, 0, 0, 0], (2, 3): [255, 0, 0, 0]}))

# MATMUL c == a: a = [[1,2],[3,4]] @ b = [[0,1],[1,0]] (swap columns) = [[2,1],[4,3]], reading the
# old a throughout. A naive in-place loop would write c[0][0] = 2 first and then compute
# c[0][1] = 2*1 + 2*0 = 2, not 1.
vector("matmul_c_is_a", "MATMUL a, b, a reads the old a throughout: [[1,2],[3,4]] @ [[0,1],[1,0]] = [[2,1],[4,3]]",
       Prog(5, 4).ins(0, MATMUL, 1, 2, 1).mat(1, 2, 2, [1, 2, 3, 4]).mat(2, 2, 2, [0, 1, 1, 0]),
       dict(pixels={(1, 1): [2, 0, 0, 0], (2, 1): [1, 0, 0, 0], (3, 1): [4, 0, 0, 0], (4, 1): [3, 0, 0, 0]}))

# MATMUL a, b, b: a 1x2 = [2,3], b 2x1 = [4,5] -> 1x1 [2*4+3*5 = 23] at b's row; b's header
# becomes 1x1 (cols 1, rows 1), its second element (5) stays because only element 0 is written.
vector("matmul_overwrites_operand_header", "MATMUL a, b, b writes a 1x1 result over b: the header changes "
       "from 2x1 to 1x1 and b's second element is left as it was",
       Prog(4, 3).ins(0, MATMUL, 1, 2, 2).mat(1, 1, 2, [2, 3]).mat(2, 2, 1, [4, 5]),
       dict(pixels={(0, 2): [1, 0, 1, 0], (1, 2): [23, 0, 0, 0], (2, 2): [5, 0, 0, 0]}))

# A chain: MATMUL into row 4 (no header in the file), then ADD reading it, then DOT.
# x = [1,2]; W = [[1,0,2],[0,1,1]] -> y = [1, 2, 4]; y + y -> z = [2,4,8] at row 5; DOT z, z = 4+16+64 = 84.
vector("chain", "MATMUL, ADD and DOT in sequence: each reads what the one before wrote",
       Prog(6, 7).ins(0, MATMUL, 1, 2, 4).ins(1, ADD, 4, 4, 5).ins(2, DOT, 5, 5, 6)
       .mat(1, 1, 2, [1, 2]).mat(2, 2, 3, [1, 0, 2, 0, 1, 1]),
       dict(status="halted", steps=4, pc=3, pixels={(1, 4): [1, 0, 0, 0], (3, 4): [4, 0, 0, 0], (3, 5): [8, 0, 0, 0],
                                                    (0, 6): [84, 0, 0, 0]}))

# WIDE: rows 280 and 290 added into 299. Prefix (15, 1, 1, 1) then ADD (2, 24, 34, 43).
vector("wide", "A WIDE prefix names rows past 255: ADD 280, 290 -> 299 in a 300-row image; the prefix and "
       "ADD are one step, pc advances by 2",
       Prog(3, 300).wide(0, 1, 1, 1).ins(1, ADD, 24, 34, 43).mat(280, 1, 2, [7, 8]).mat(290, 1, 2, [1, 250]),
       dict(status="halted", steps=2, pc=2, pixels={(0, 299): [2, 0, 1, 0], (1, 299): [8, 0, 0, 0],
                                                    (2, 299): [255, 0, 0, 0]}))

# WIDE with a zero high byte on one operand and a DOT result row past 255.
vector("wide_dot", "WIDE DOT: a and b in rows below 256 (high byte 0), c = 1*256 + 4 = row 260",
       Prog(4, 262).wide(0, 0, 0, 1).ins(1, DOT, 1, 2, 4).mat(1, 1, 2, [3, 4]).mat(2, 1, 2, [5, 6]),
       dict(status="halted", steps=2, pc=2, pixels={(0, 260): [39, 0, 0, 0]}))

# Running off the end: width 3, three RELUs, no HALT: halted with pc = 3 after 3 steps.
vector("run_off_end", "Row 0 without HALT: the program halts when pc reaches the width (no trap)",
       Prog(3, 2).ins(0, RELU, 1).ins(1, RELU, 1).ins(2, RELU, 1).mat(1, 1, 1, [1]),
       dict(status="halted", steps=3, pc=3, unchanged=True))

vector("run_off_end_wide", "A WIDE instruction ending at the last pixel halts with pc = width",
       Prog(3, 2).ins(0, RELU, 1).wide(1).ins(2, RELU, 1).mat(1, 1, 1, [1]),
       dict(status="halted", steps=2, pc=3, unchanged=True))

# ---- traps: every code of §4.4 / §6 with the exact pixel; the image is as before the trapping
# instruction.

vector("trap_bad_opcode", "Unknown opcode 99 at pixel (1,0) after one good instruction: BAD_OPCODE at (1,0); "
       "the first instruction's result stays",
       Prog(4, 4).ins(0, DOT, 1, 1, 3).ins(1, 99).mat(1, 1, 1, [3]),
       dict(status="trapped", steps=1, pc=1, trap=("BAD_OPCODE", 1, 0), pixels={(0, 3): [9, 0, 0, 0]}))

vector("trap_wide_wide", "A WIDE prefix before another WIDE prefix: BAD_OPCODE at the second (2,0)",
       Prog(5, 2).ins(0, RELU, 1).wide(1).wide(2).ins(3, HALT).mat(1, 1, 1, [1]),
       dict(status="trapped", steps=1, pc=1, trap=("BAD_OPCODE", 2, 0), unchanged=True))

vector("trap_wide_bad_opcode", "A WIDE prefix before an unknown opcode: BAD_OPCODE at the opcode pixel (1,0)",
       Prog(4, 2).wide(0).ins(1, 200),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_OPCODE", 1, 0), unchanged=True))

vector("trap_truncated_wide", "A WIDE prefix as the last pixel of row 0: TRUNCATED at the prefix (2,0)",
       Prog(3, 2).ins(0, RELU, 1).ins(1, RELU, 1).wide(2).mat(1, 1, 1, [1]),
       dict(status="trapped", steps=2, pc=2, trap=("TRUNCATED", 2, 0), unchanged=True))

vector("trap_row_zero", "An operand naming row 0 (the instruction row): ROW_OUT_OF_IMAGE at the opcode pixel",
       Prog(4, 3).ins(0, ADD, 1, 0, 2).mat(1, 1, 1, [1]),
       dict(status="trapped", steps=0, pc=0, trap=("ROW_OUT_OF_IMAGE", 0, 0), unchanged=True))

vector("trap_row_beyond", "Output row 3 in a 3-row image: ROW_OUT_OF_IMAGE at the opcode pixel (1,0), after "
       "a RELU",
       Prog(4, 3).ins(0, RELU, 1).ins(1, MATMUL, 1, 1, 3).mat(1, 1, 1, [1]),
       dict(status="trapped", steps=1, pc=1, trap=("ROW_OUT_OF_IMAGE", 1, 0), unchanged=True))

vector("trap_row_beyond_wide", "WIDE operand 1*256 + 0 = row 256 in a 10-row image: ROW_OUT_OF_IMAGE at the "
       "opcode pixel (1,0), not the prefix",
       Prog(4, 10).wide(0, 0, 1, 0).ins(1, DOT, 1, 0, 2).mat(1, 1, 1, [1]),
       dict(status="trapped", steps=0, pc=0, trap=("ROW_OUT_OF_IMAGE", 1, 0), unchanged=True))

vector("trap_bad_header", "Input b at row 2 has a zero header: BAD_HEADER at (0,2)",
       Prog(4, 4).ins(0, ADD, 1, 2, 3).mat(1, 1, 1, [1]).set(0, 2, [5, 0, 0, 0]),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_HEADER", 0, 2), unchanged=True))

vector("trap_bad_header_rows", "A header with cols 3 and rows 0 is as empty as 0x0: BAD_HEADER at (0,1)",
       Prog(4, 4).ins(0, RELU, 1).set(0, 1, [3, 0, 0, 0]),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_HEADER", 0, 1), unchanged=True))

vector("trap_input_overflow", "Input a at row 2 is 1x4 in a 4-wide image: needs rows 2..3, the image ends at "
       "row 2: MATRIX_OVERFLOW at (0,2)",
       Prog(4, 3).ins(0, RELU, 2).mat(1, 1, 1, [1]).set(0, 2, [4, 0, 1, 0]),
       dict(status="trapped", steps=0, pc=0, trap=("MATRIX_OVERFLOW", 0, 2), unchanged=True))

vector("trap_huge_header", "A 65535x65535 header: MATRIX_OVERFLOW at (0,1), no arithmetic wrap-around",
       Prog(4, 3).ins(0, RELU, 1).set(0, 1, [255, 255, 255, 255]),
       dict(status="trapped", steps=0, pc=0, trap=("MATRIX_OVERFLOW", 0, 1), unchanged=True))

vector("trap_checks_per_operand", "a overflows and b has an empty header: checks 5 and 6 run operand by "
       "operand (a first), so MATRIX_OVERFLOW at a's row (0,2), not BAD_HEADER at b",
       Prog(4, 4).ins(0, ADD, 2, 1, 3).set(0, 2, [9, 0, 1, 0]),
       dict(status="trapped", steps=0, pc=0, trap=("MATRIX_OVERFLOW", 0, 2), unchanged=True))

vector("trap_shape_matmul", "MATMUL 1x2 @ 1x2: inner dimensions differ: SHAPE_MISMATCH at b's header (0,2)",
       Prog(4, 4).ins(0, MATMUL, 1, 2, 3).mat(1, 1, 2, [1, 2]).mat(2, 1, 2, [3, 4]),
       dict(status="trapped", steps=0, pc=0, trap=("SHAPE_MISMATCH", 0, 2), unchanged=True))

vector("trap_shape_add", "ADD 2x2 + 1x3 is neither equal nor a bias row: SHAPE_MISMATCH at (0,3)",
       Prog(4, 6).ins(0, ADD, 1, 3, 4).mat(1, 2, 2, [1, 2, 3, 4]).mat(3, 1, 3, [1, 2, 3]),
       dict(status="trapped", steps=0, pc=0, trap=("SHAPE_MISMATCH", 0, 3), unchanged=True))

vector("trap_shape_add_column", "ADD 2x2 + 2x1: a column vector is not a bias: SHAPE_MISMATCH at (0,3)",
       Prog(4, 6).ins(0, ADD, 1, 3, 4).mat(1, 2, 2, [1, 2, 3, 4]).mat(3, 2, 1, [1, 2]),
       dict(status="trapped", steps=0, pc=0, trap=("SHAPE_MISMATCH", 0, 3), unchanged=True))

vector("trap_shape_dot", "DOT of 3 and 2 elements: SHAPE_MISMATCH at (0,2)",
       Prog(5, 4).ins(0, DOT, 1, 2, 3).mat(1, 1, 3, [1, 2, 3]).mat(2, 1, 2, [1, 2]),
       dict(status="trapped", steps=0, pc=0, trap=("SHAPE_MISMATCH", 0, 2), unchanged=True))

vector("trap_output_overflow", "MATMUL 2x1 @ 1x2 = 2x2 into row 3 of a 3-wide, 4-row image: the result needs "
       "rows 3..4: MATRIX_OVERFLOW at (0,3)",
       Prog(3, 4).ins(0, MATMUL, 1, 2, 3).mat(1, 2, 1, [1, 2]).mat(2, 1, 2, [3, 4]),
       dict(status="trapped", steps=0, pc=0, trap=("MATRIX_OVERFLOW", 0, 3), unchanged=True))

vector("trap_step_limit", "Step limit 2 and three instructions: STEP_LIMIT at (2,0) after two steps",
       Prog(4, 4).ins(0, DOT, 1, 1, 2).ins(1, DOT, 1, 1, 3).ins(2, RELU, 1).mat(1, 1, 1, [5]),
       dict(status="trapped", steps=2, pc=2, trap=("STEP_LIMIT", 2, 0),
            pixels={(0, 2): [25, 0, 0, 0], (0, 3): [25, 0, 0, 0]}), step_limit=2)

vector("trap_after_dot_header", "DOT writes 200 = (200,0,0,0) over the 1x1 header at row 3, which then reads "
       "as 200 columns and 0 rows: RELU 3 traps BAD_HEADER at (0,3), the DOT's write kept",
       Prog(4, 5).ins(0, DOT, 1, 1, 3).ins(1, RELU, 3).mat(1, 1, 2, [10, 10]).mat(3, 1, 1, [1]),
       dict(status="trapped", steps=1, pc=1, trap=("BAD_HEADER", 0, 3), pixels={(0, 3): [200, 0, 0, 0]}))

vector("trap_width_one", "An image of width 1 holds no matrix (§3): RELU on a 1x1 header traps MATRIX_OVERFLOW "
       "at (0,1)",
       Prog(1, 3).ins(0, RELU, 1).set(0, 1, [1, 0, 1, 0]),
       dict(status="trapped", steps=0, pc=0, trap=("MATRIX_OVERFLOW", 0, 1), unchanged=True))

vector("halt_width_one", "A 1x1 image holding only HALT: one step, halted at pc 0",
       Prog(1, 1), dict(status="halted", steps=1, pc=0, unchanged=True))

# ---- quantized opcodes (PROTOCOL.md §5.5). Parameter pixels follow the opcode pixel.

def i32(v):
    """An int32 pixel (§5.5.1)."""
    u = v % 2**32
    return [u & 255, u >> 8 & 255, u >> 16 & 255, u >> 24]


HALF = [0, 0, 0, 64]  # M = 2^30: with shift 31 the multiplier is 0.5

# QMATMUL: a = [131, 120], za = 128 -> [3, -8]; b = [[129, 127], [130, 128]], zb = 128 -> [[1, -1], [2, 0]].
# acc = bias + a @ b: [20 + 3 - 16, -6 - 3 + 0] = [7, -9]. rq with M/2^shift = 0.5, one rounding half up:
# 3.5 -> 4, -4.5 -> -4. Plus zc = 100: [104, 96].
vector("qmatmul", "QMATMUL with int32 bias [20, -6]: acc [7, -9] times 0.5 rounds half up to [4, -4]; plus "
       "zc 100 = [104, 96]",
       Prog(8, 5).ins(0, QMATMUL, 1, 2, 3).set(1, 0, [128, 128, 100, 31]).set(2, 0, HALF).set(3, 0, [4, 0, 0, 255])
       .mat(1, 1, 2, [131, 120]).mat(2, 2, 2, [129, 127, 130, 128]).mat(4, 1, 2, [0, 0])
       .set(1, 4, i32(20)).set(2, 4, i32(-6)),
       dict(status="halted", steps=2, pc=4, pixels={(0, 3): [2, 0, 1, 0], (1, 3): [104, 0, 0, 0],
                                                    (2, 3): [96, 0, 0, 0]}))

# The same with clamp [100, 101] (a fused ReLU at zc, and an upper bound): [104, 96] -> [101, 100].
vector("qmatmul_clamp", "QMATMUL clamps to [clamp_lo, clamp_hi] = [100, 101]: [104, 96] becomes [101, 100]",
       Prog(8, 5).ins(0, QMATMUL, 1, 2, 3).set(1, 0, [128, 128, 100, 31]).set(2, 0, HALF).set(3, 0, [4, 0, 100, 101])
       .mat(1, 1, 2, [131, 120]).mat(2, 2, 2, [129, 127, 130, 128]).mat(4, 1, 2, [0, 0])
       .set(1, 4, i32(20)).set(2, 4, i32(-6)),
       dict(pixels={(1, 3): [101, 0, 0, 0], (2, 3): [100, 0, 0, 0]}))

# QADD with a bias row: a = [10, 20, 30, 40] (2x2), za = 10 -> [0, 10, 20, 30]; b = [5, 9], zb = 5 -> [0, 4]
# broadcast. Ma = 0.5 (2^30), Mb = 0.75 (3 * 2^29), shift 31:
# [0 + 0 + .5, 5 + 3 + .5, 10 + 0 + .5, 15 + 3 + .5] floored = [0, 8, 10, 18]; plus zc 50 = [50, 58, 60, 68].
vector("qadd_bias", "QADD broadcasting a 1x2 row: 0.5*(a-10) + 0.75*(b-5) rounded half up, plus 50 = [50, 58, 60, 68]",
       Prog(6, 4).ins(0, QADD, 1, 2, 3).set(1, 0, [10, 5, 50, 31]).set(2, 0, HALF).set(3, 0, [0, 0, 0, 96])
       .set(4, 0, [0, 255, 0, 0]).mat(1, 2, 2, [10, 20, 30, 40]).mat(2, 1, 2, [5, 9]),
       dict(status="halted", steps=2, pc=5, pixels={(0, 3): [2, 0, 2, 0], (1, 3): [50, 0, 0, 0], (2, 3): [58, 0, 0, 0],
                                                    (3, 3): [60, 0, 0, 0], (4, 3): [68, 0, 0, 0]}))

# QRELU zero point 5: [3, 7, 5] -> [5, 7, 5]; G of the middle element (9) is kept.
vector("qrelu", "QRELU with zero point 5: [3, 7, 5] becomes [5, 7, 5]; only R is written, no header",
       Prog(4, 2).ins(0, QRELU, 1).set(1, 0, [5, 0, 0, 0]).mat(1, 1, 3, [3, 7, 5]).set(2, 1, [7, 9, 0, 0]),
       dict(status="halted", steps=2, pc=2, pixels={(1, 1): [5, 0, 0, 0], (2, 1): [7, 9, 0, 0], (3, 1): [5, 0, 0, 0]}))

# QMATMUL32: a = [0, 255], za = 255 -> [-255, 0]; b = [255, 3] (2x1), zb = 0; bias [1000]:
# acc = 1000 - 65025 = -64025; 2^32 - 64025 = 0xFFFF05E7 -> pixel (0xE7, 0x05, 0xFF, 0xFF) = (231, 5, 255, 255).
vector("qmatmul32", "QMATMUL32 writes the int32 accumulator whole: 1000 - 255*255 = -64025 = 0xFFFF05E7",
       Prog(6, 5).ins(0, QMATMUL32, 1, 2, 3).set(1, 0, [255, 0, 0, 0]).set(2, 0, [4, 0, 0, 0])
       .mat(1, 1, 2, [0, 255]).mat(2, 2, 1, [255, 3]).mat(4, 1, 1, [0]).set(1, 4, i32(1000)),
       dict(status="halted", steps=2, pc=3, pixels={(0, 3): [1, 0, 1, 0], (1, 3): [231, 5, 255, 255]}))

# WIDE QRELU on row 260: the prefix, the opcode pixel and one parameter pixel are one instruction of length 3.
vector("qrelu_wide", "WIDE QRELU on row 260: prefix + opcode + 1 parameter pixel advance pc by 3; [3, 20] -> [9, 20]",
       Prog(4, 262).wide(0, 1).ins(1, QRELU, 4).set(2, 0, [9, 0, 0, 0]).mat(260, 1, 2, [3, 20]),
       dict(status="halted", steps=2, pc=3, pixels={(1, 260): [9, 0, 0, 0], (2, 260): [20, 0, 0, 0]}))

vector("trap_q_truncated", "QMATMUL needs 3 parameter pixels; at x = 2 of a 4-wide row 0 only 1 fits: TRUNCATED at (2,0)",
       Prog(4, 4).ins(0, RELU, 1).ins(1, RELU, 1).ins(2, QMATMUL, 1, 1, 2).mat(1, 1, 1, [1]),
       dict(status="trapped", steps=2, pc=2, trap=("TRUNCATED", 2, 0), unchanged=True))

vector("trap_q_bad_shift", "QMATMUL with shift 0: BAD_PARAM at the opcode pixel (0,0)",
       Prog(8, 4).ins(0, QMATMUL, 1, 2, 3).set(1, 0, [0, 0, 0, 0]).set(2, 0, HALF).set(3, 0, [0, 0, 0, 255])
       .mat(1, 1, 1, [1]).mat(2, 1, 1, [1]),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 0, 0), unchanged=True))

vector("trap_q_negative_multiplier", "QADD with Mb = -1: BAD_PARAM at the opcode pixel (1,0), after a RELU",
       Prog(8, 4).ins(0, RELU, 1).ins(1, QADD, 1, 1, 2).set(2, 0, [0, 0, 0, 31]).set(3, 0, HALF)
       .set(4, 0, i32(-1)).set(5, 0, [0, 255, 0, 0]).mat(1, 1, 1, [1]),
       dict(status="trapped", steps=1, pc=1, trap=("BAD_PARAM", 1, 0), unchanged=True))

vector("trap_q_clamp_order", "QMATMUL with clamp_lo 200 > clamp_hi 100: BAD_PARAM at (0,0)",
       Prog(8, 4).ins(0, QMATMUL, 1, 2, 3).set(1, 0, [0, 0, 0, 31]).set(2, 0, HALF).set(3, 0, [0, 0, 200, 100])
       .mat(1, 1, 1, [1]).mat(2, 1, 1, [1]),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 0, 0), unchanged=True))

vector("trap_q_reserved", "QRELU with a non-zero reserved byte (G of its parameter pixel): BAD_PARAM at (0,0)",
       Prog(4, 2).ins(0, QRELU, 1).set(1, 0, [5, 1, 0, 0]).mat(1, 1, 1, [3]),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 0, 0), unchanged=True))

vector("trap_q_bias_row", "QMATMUL32 with bias_row 4 in a 4-row image: BAD_PARAM at (0,0)",
       Prog(6, 4).ins(0, QMATMUL32, 1, 2, 3).set(1, 0, [0, 0, 0, 0]).set(2, 0, [4, 0, 0, 0])
       .mat(1, 1, 1, [1]).mat(2, 1, 1, [1]),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 0, 0), unchanged=True))

vector("trap_q_bias_shape", "QMATMUL with a 1x3 bias for a 1x2 result: SHAPE_MISMATCH at the bias header (0,4)",
       Prog(8, 5).ins(0, QMATMUL, 1, 2, 3).set(1, 0, [0, 0, 0, 31]).set(2, 0, HALF).set(3, 0, [4, 0, 0, 255])
       .mat(1, 1, 1, [1]).mat(2, 1, 2, [1, 2]).mat(4, 1, 3, [0, 0, 0]),
       dict(status="trapped", steps=0, pc=0, trap=("SHAPE_MISMATCH", 0, 4), unchanged=True))

# ------------------------------------------------------------------------------------------------
# More quantized-opcode vectors (PROTOCOL.md §5.5): ties of both signs, wrapping and extreme
# accumulators, saturation, outputs over inputs. M is an int32 pixel. rq(x) = floor((x*M + 2^(shift-1)) / 2^shift): one rounding, half-way cases upwards.

ONE = [1, 0, 0, 0]              # M = 1 as an int32 pixel
HALF30 = [0, 0, 0, 64]          # M = 2^30
MAXM = [255, 255, 255, 127]     # M = 2^31 - 1
I32_MAX = [255, 255, 255, 127]  # 2^31 - 1
I32_MIN = [0, 0, 0, 128]        # -2^31


def qins(prog, x, op, a, b, c, params):
    prog.ins(x, op, a, b, c)
    for k, p in enumerate(params):
        prog.set(x + 1 + k, 0, p)
    return prog


# a - za = (11-10, 9-10) = (1, -1); b - zb = [[5, -5], [0, 0]]: acc = (5, -5). M = 1, shift 1:
# 5/2 = 2.5 -> 3 and -2.5 -> -2; plus zc = 100: (103, 98). QMATMUL is 4 pixels: HALT at x = 4.
vector("qmatmul_ties", "QMATMUL rounds ties upwards: acc 5 and -5 with M/2^shift = 1/2 give 3 and -2, "
       "plus zc 100 = (103, 98); the instruction is 4 pixels long",
       qins(Prog(8, 4), 0, QMATMUL, 1, 2, 3, [[10, 20, 100, 1], ONE, [0, 0, 0, 255]]).ins(4, HALT)
       .mat(1, 1, 2, [11, 9]).mat(2, 2, 2, [25, 15, 20, 20]),
       dict(status="halted", steps=2, pc=4,
            pixels={(0, 3): [2, 0, 1, 0], (1, 3): [103, 0, 0, 0], (2, 3): [98, 0, 0, 0]}))

# a - za = 1; b - zb = (1, 2); bias (2^31-1, -5) at row 4: acc = (2^31 wrapped to -2^31, -3).
# rq: -2^31/2 = -2^30 -> 128 - 2^30 clamps to clamp_lo 100; -3/2 = -1.5 -> -1 -> 127.
vector("qmatmul_bias_wraps", "QMATMUL adds an int32 bias and wraps modulo 2^32: 2^31-1 + 1 is -2^31, "
       "which clamps at clamp_lo 100 (255 without the wrap); -5 + 2 = -3 gives 127",
       qins(Prog(6, 5), 0, QMATMUL, 1, 2, 3, [[128, 128, 128, 1], ONE, [4, 0, 100, 255]])
       .mat(1, 1, 1, [129]).mat(2, 1, 2, [129, 130])
       .set(0, 4, [2, 0, 1, 0]).set(1, 4, I32_MAX).set(2, 4, [251, 255, 255, 255]),
       dict(status="halted", steps=2, pc=4, pixels={(1, 3): [100, 0, 0, 0], (2, 3): [127, 0, 0, 0]}))

# bias (2^31-1, -2^31), no products (a = za, b = zb), M = 2^31-1, shift 62:
# (2^31-1)^2 = 2^62 - 2^32 + 1, + 2^61, / 2^62 floors to 1 -> 101;
# -2^31 (2^31-1) = -2^62 + 2^31, + 2^61 = -2^61 + 2^31, / 2^62 floors to -1 -> 99.
vector("qmatmul_extremes", "QMATMUL with the largest accumulators and multiplier (2^31-1, shift 62): "
       "products near 2^62 round to +1 and -1, plus zc 100",
       qins(Prog(6, 5), 0, QMATMUL, 1, 2, 3, [[50, 60, 100, 62], MAXM, [4, 0, 0, 255]])
       .mat(1, 1, 1, [50]).mat(2, 1, 2, [60, 60]).set(0, 4, [2, 0, 1, 0]).set(1, 4, I32_MAX).set(2, 4, I32_MIN),
       dict(status="halted", steps=2, pc=4, pixels={(1, 3): [101, 0, 0, 0], (2, 3): [99, 0, 0, 0]}))

# c = a: [10, 20] @ [[1, 2], [3, 4]] = (70, 100) from the old a (M = 2^30, shift 30: x1).
vector("qmatmul_c_is_a", "QMATMUL writing over its input a reads the old a: [10,20] @ [[1,2],[3,4]] = (70,100)",
       qins(Prog(6, 3), 0, QMATMUL, 1, 2, 1, [[0, 0, 0, 30], HALF30, [0, 0, 0, 255]])
       .mat(1, 1, 2, [10, 20]).mat(2, 2, 2, [1, 2, 3, 4]),
       dict(status="halted", steps=2, pc=4, pixels={(1, 1): [70, 0, 0, 0], (2, 1): [100, 0, 0, 0]}))

# saturation both ways: a - za = (-128, 127), b - zb = [[127, -128], [-128, 127]]:
# acc = (-128*127 + 127*-128, -128*-128 + 127*127) = (-32512, 32513); x 1/2 -> (-16256, 16257) -> 0, 255.
vector("qmatmul_saturates", "QMATMUL saturates at 0 and at 255: acc -32512 and 32513 times 1/2 around zc 128",
       qins(Prog(8, 4), 0, QMATMUL, 1, 2, 3, [[128, 128, 128, 31], HALF30, [0, 0, 0, 255]])
       .mat(1, 1, 2, [0, 255]).mat(2, 2, 2, [255, 0, 0, 255]),
       dict(status="halted", steps=2, pc=4, pixels={(1, 3): [0, 0, 0, 0], (2, 3): [255, 0, 0, 0]}))

# QADD: a - za = (3, -3, 1, -1), b (a 1x2 row, broadcast) - zb = 0, Ma = Mb = 1, shift 1:
# 1.5 -> 2, -1.5 -> -1, 0.5 -> 1, -0.5 -> 0; plus zc 50.
vector("qadd_ties_broadcast", "QADD rounds ties upwards (1.5, -1.5, 0.5, -0.5 -> 2, -1, 1, 0) and "
       "broadcasts a 1x2 row over a 2x2 matrix",
       qins(Prog(6, 4), 0, QADD, 1, 2, 3, [[10, 10, 50, 1], ONE, ONE, [0, 255, 0, 0]])
       .mat(1, 2, 2, [13, 7, 11, 9]).mat(2, 1, 2, [10, 10]),
       dict(status="halted", steps=2, pc=5,
            pixels={(1, 3): [52, 0, 0, 0], (2, 3): [49, 0, 0, 0], (3, 3): [51, 0, 0, 0], (4, 3): [50, 0, 0, 0]}))

# QADD in place with clamp (10, 250): a + b at M = 2^30, shift 30 (x1): (1+4, 2+5, 200+100) = (10, 10, 250).
vector("qadd_in_place_clamp", "QADD with c = a and clamp [10,250]: 5, 7, 300 become 10, 10, 250",
       qins(Prog(6, 3), 0, QADD, 1, 2, 1, [[0, 0, 0, 30], HALF30, HALF30, [10, 250, 0, 0]])
       .mat(1, 1, 3, [1, 2, 200]).mat(2, 1, 3, [4, 5, 100]),
       dict(status="halted", steps=2, pc=5,
            pixels={(1, 1): [10, 0, 0, 0], (2, 1): [10, 0, 0, 0], (3, 1): [250, 0, 0, 0]}))

vector("trap_q_bad_shift_wide", "WIDE QMATMUL with shift 0: BAD_PARAM at the opcode pixel (1,0), after the prefix",
       qins(Prog(8, 4).wide(0), 1, QMATMUL, 1, 2, 3, [[0, 0, 0, 0], ONE, [0, 0, 0, 255]])
       .mat(1, 1, 2, [1, 2]).mat(2, 2, 2, [1, 2, 3, 4]),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 1, 0), unchanged=True))


if __name__ == "__main__":
    write_all()
