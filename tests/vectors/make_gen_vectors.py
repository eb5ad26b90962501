#!/usr/bin/python3
"""Program test vectors of the text-generation opcodes (PROTOCOL.md §13): tests/vectors/gen_*.json.

LOOP (32), GATHER (33), APPEND (34), ARGMAX (35), SAMPLE (36) and PENALIZE (37). The expected results
come from a model of the protocol text written here; SAMPLE's and PENALIZE's float arithmetic is the independent NumPy model
of PROTOCOL.md §15 in make_fmath_vectors.py (exp, recip, the F.5 sum), its top-k set a
plain sort, its PRNG Python integers. Nothing is translated from engine/ or shaders/, and the C++
engine is never consulted. Each vector also carries values worked out by hand (status, steps, pc,
trap and key pixels), which the model must reproduce before anything is written.

    /usr/bin/python3 tests/vectors/make_gen_vectors.py          # writes tests/vectors/gen_*.json
    /usr/bin/python3 tests/vectors/make_gen_vectors.py --check  # fails if a file is stale
"""
import importlib.util
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

HALT, LOOP, GATHER, APPEND, ARGMAX, SAMPLE, PENALIZE = 0, 32, 33, 34, 35, 36, 37
IN, OUT, INOUT, NONE = "in", "out", "inout", "none"
KINDS = {HALT: (NONE, NONE, NONE), LOOP: (INOUT, NONE, NONE), GATHER: (IN, IN, OUT),
         APPEND: (IN, NONE, OUT), ARGMAX: (IN, NONE, OUT), SAMPLE: (IN, INOUT, OUT),
         PENALIZE: (IN, IN, OUT)}
PARAMS = {HALT: 0, LOOP: 2, GATHER: 2, APPEND: 2, ARGMAX: 1, SAMPLE: 3, PENALIZE: 3}


def i32(w):
    return w - (1 << 32) if w & 0x80000000 else w


def canon_bits(w):
    mag = w & 0x7FFFFFFF
    return 0x7FC00000 if mag > 0x7F800000 else 0 if mag <= 0x00800000 else w


def key(w):
    """§13.4: the order of canonical logits; NaN below -inf."""
    if (w & 0x7FFFFFFF) > 0x7F800000:
        return 0
    return (~w & M32) if w & 0x80000000 else w | 0x80000000


def argmax(xs):
    return max(range(len(xs)), key=lambda i: (key(xs[i]), -i))


def mix32(h):
    h ^= h >> 16
    h = h * 0x85EBCA6B & M32
    h ^= h >> 13
    h = h * 0xC2B2AE35 & M32
    return h ^ (h >> 16)


def sample(xs, temperature, top_k, z):
    """§13.5 step by step on canonical bit patterns."""
    top = argmax(xs)
    if temperature == 0 or (xs[top] & 0x7FFFFFFF) >= 0x7F800000:
        return top
    n = len(xs)
    k = n if top_k == 0 or top_k > n else top_k
    chosen = sorted(range(n), key=lambda i: (-key(xs[i]), i))[:k]
    r = fm.frecip(fm.f(np.array([temperature], U32)))[0]
    m = fm.f(np.array([xs[top]], U32))[0]
    e = np.zeros(n, F32)
    for i in chosen:
        if key(xs[i]):
            xi = fm.f(np.array([xs[i]], U32))[0]
            e[i] = fm.fexp(np.array([fm.mul(fm.sub(xi, m), r)], F32))[0]
    total = fm.fsum(e)
    u = F32((z >> 8) * 2.0**-24)
    t = fm.mul(u, total)
    c = F32(0)
    for i in range(n):
        c = fm.add(c, e[i])
        if t < c:
            return i
    return top


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

    def read(row, i, code):  # u8: R; f32: canonical bits; i32: the word
        w = word(px(*xy(row, i)))
        return w & 255 if code == 0 else canon_bits(w) if code == 1 else w

    def write(row, i, code, v):
        p = xy(row, i)
        if code == 0:
            img[p] = [v & 255] + px(*p)[1:]
        else:
            img[p] = pix(v)

    def set_header(row, cols, rows):
        img[(0, row)] = [cols & 255, cols >> 8, rows & 255, rows >> 8]

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
            for i in range(3):
                if kinds[i] in (IN, INOUT):
                    cols, rws = header(rows[i])
                    if cols == 0 or rws == 0:
                        raise Trap("BAD_HEADER", 0, rows[i])
                    if not fits(rows[i], cols, rws):
                        raise Trap("MATRIX_OVERFLOW", 0, rows[i])
                    shape[i] = (cols, rws)
            jump, out = None, None
            if op != HALT and P[0][3]:
                raise Trap("BAD_PARAM", pc, 0)
            if op == LOOP:  # P1 = (i32, 0, 0, 0), P2 = (target lo, hi, 0, 0)
                target = P[1][0] + 256 * P[1][1]
                if P[0][:3] != [3, 0, 0] or P[1][2] or P[1][3] or target >= width:
                    raise Trap("BAD_PARAM", pc, 0)
                if shape[0] != (1, 1):
                    raise Trap("SHAPE_MISMATCH", 0, rows[0])
                if i32(read(rows[0], 0, 3)) > 0:
                    jump = target
            elif op == GATHER:  # P2 = (mode, 0, 0, 0)
                mode = P[1][0]
                da, db, dc = P[0][:3]
                if mode > 2 or da not in (0, 1, 3) or dc != da or P[1][1:] != [0, 0, 0] or \
                        (db != 3 if mode == 0 else db > 3):
                    raise Trap("BAD_PARAM", pc, 0)
                (D, V), (cb, rb) = shape[0], shape[1]
                if mode == 0:
                    idx = []
                    for i in range(cb * rb):
                        v = i32(read(rows[1], i, 3))
                        if not 0 <= v < V:
                            raise Trap("OUT_OF_RANGE", *xy(rows[1], i))
                        idx.append(v)
                else:
                    if rb > V:
                        raise Trap("OUT_OF_RANGE", 0, rows[1])
                    idx = list(range(rb)) if mode == 1 else [rb - 1]
                out = (D, len(idx))
            elif op == APPEND:  # P2 = (capacity lo, hi, 0, 0)
                da, db, dc = P[0][:3]
                cap = P[1][0] + 256 * P[1][1]
                if da not in (0, 1, 3) or db or dc != da or cap == 0 or P[1][2] or P[1][3]:
                    raise Trap("BAD_PARAM", pc, 0)
                (C, R), (cc, L) = shape[0], header(rows[2])
                if cc != C:
                    raise Trap("SHAPE_MISMATCH", 0, rows[2])
                if not fits(rows[2], C, cap):
                    raise Trap("MATRIX_OVERFLOW", 0, rows[2])
                if L + R > cap:
                    raise Trap("OUT_OF_RANGE", 0, rows[2])
                out = (C, L + R)
            elif op == ARGMAX:
                if P[0][:3] != [1, 0, 3]:
                    raise Trap("BAD_PARAM", pc, 0)
                out = (1, 1)
            elif op == SAMPLE:
                temp = canon_bits(word(P[1]))
                top_k = P[2][0] + 256 * P[2][1]
                if P[0][:3] != [1, 3, 3] or P[2][2] or P[2][3] or \
                        (temp and (temp & 0x80000000 or temp >= 0x7F800000)):
                    raise Trap("BAD_PARAM", pc, 0)
                if shape[1] != (1, 1):
                    raise Trap("SHAPE_MISMATCH", 0, rows[1])
                out = (1, 1)
            elif op == PENALIZE:  # P2 = penalty (f32 bits), P3 = (window lo, hi, 0, 0)
                pen = canon_bits(word(P[1]))
                window = P[2][0] + 256 * P[2][1]
                if P[0][:3] != [1, 3, 1] or P[2][2] or P[2][3] or \
                        (pen and (pen & 0x80000000 or pen >= 0x7F800000)):
                    raise Trap("BAD_PARAM", pc, 0)
                (V, Ra), (cb, rb) = shape[0], shape[1]
                E = cb * rb
                first = 0 if window == 0 or window >= E else E - window
                toks = []
                for i in range(first, E):
                    v = i32(read(rows[1], i, 3))
                    if not 0 <= v < V:
                        raise Trap("OUT_OF_RANGE", *xy(rows[1], i))
                    toks.append(v)
                out = (V, 1)
            if out is not None and not fits(rows[2], *out):
                raise Trap("MATRIX_OVERFLOW", 0, rows[2])
        except Trap as t:
            return dict(status="trapped", steps=steps, pc=pc, trap=t.name, trap_x=t.x, trap_y=t.y, image=img)

        if op == LOOP and jump is not None:
            write(rows[0], 0, 3, read(rows[0], 0, 3) - 1)
        elif op == GATHER:
            vals = [read(rows[0], r * D + j, da) for r in idx for j in range(D)]
            set_header(rows[2], *out)
            for i, v in enumerate(vals):
                write(rows[2], i, dc, v)
        elif op == APPEND:
            vals = [read(rows[0], i, da) for i in range(C * R)]
            set_header(rows[2], *out)
            for i, v in enumerate(vals):
                write(rows[2], L * C + i, dc, v)
        elif op in (ARGMAX, SAMPLE):
            V, Ra = shape[0]
            xs = [read(rows[0], (Ra - 1) * V + j, 1) for j in range(V)]
            if op == SAMPLE:
                state = (read(rows[1], 0, 3) + 0x9E3779B9) & M32
                token = sample(xs, temp, top_k, mix32(state))
                write(rows[1], 0, 3, state)
            else:
                token = argmax(xs)
            set_header(rows[2], 1, 1)
            write(rows[2], 0, 3, token)
        elif op == PENALIZE:  # each distinct id once: x[t] - p, from the row as read
            xs = [read(rows[0], (Ra - 1) * V + j, 1) for j in range(V)]
            p = fm.f(np.array([pen], U32))[0]
            for t in set(toks):
                xs[t] = int(fm.b(fm.sub(fm.f(np.array([xs[t]], U32)), p))[0])
            set_header(rows[2], V, 1)
            for j, v in enumerate(xs):
                write(rows[2], j, 1, v)
        steps += 1
        if op == HALT:
            return dict(status="halted", steps=steps, pc=pc, image=img)
        pc = jump if jump is not None else pc + 1 + PARAMS[op]


# ---- Building programs ----


def loop_p(target):
    return [[3, 0, 0, 0], [target & 255, target >> 8, 0, 0]]


def gather_p(da, mode, db=3):
    return [[da, db, da, 0], [mode, 0, 0, 0]]


def append_p(d, cap):
    return [[d, 0, d, 0], [cap & 255, cap >> 8, 0, 0]]


ARGMAX_P = [[1, 0, 3, 0]]


def sample_p(temperature, top_k):
    t = temperature if isinstance(temperature, int) else bits(temperature)
    return [[1, 3, 3, 0], pix(t), [top_k & 255, top_k >> 8, 0, 0]]


def penalize_p(penalty, window, dtypes=(1, 3, 1)):
    pb = penalty if isinstance(penalty, int) else bits(penalty)
    return [[*dtypes, 0], pix(pb), [window & 255, window >> 8, 0, 0]]


VECTORS = []


def vector(name, description, prog, hand):
    r = model(prog.width, prog.height, prog.px, prog.step_limit)
    check_hand(name, prog, r, hand)
    VECTORS.append((name, description, prog, r))


# ------------------------------------------------------------------------------------------------
# The vectors. Hand values in the comments.

NAN_PAYLOAD, NEG_ZERO, NEG_INF, INF = 0x7FC12345, 0x80000000, 0xFF800000, 0x7F800000
STEP = 0x9E3779B9

# A Markov chain generated token by token: GATHER the row of transition logits T[tok] (1x3 f32),
# ARGMAX it into tok, APPEND tok to seq (empty at the start, capacity 6), LOOP while counter > 0.
# T = [0.1 0.5 0.2; 0.9 0 2; 3 1 1]: from 0 -> 1, from 1 -> 2, from 2 -> 0. counter 3: the body
# runs 4 times (taken at 3, 2, 1; not at 0): seq = [1 2 0 1], 4 x 4 + HALT = 17 steps, pc 11.
def markov(chooser, params, seed=None):
    p = Prog(16, 8).ins(0, GATHER, 1, 2, 3, gather_p(1, 0))
    x = 3 + 1 + len(params)
    p.ins(3, chooser, 3, 6 if seed is not None else 0, 2, params)
    p.ins(x, APPEND, 2, 0, 4, append_p(3, 6)).ins(x + 3, LOOP, 5, 0, 0, loop_p(0)).ins(x + 6, HALT, 0, 0, 0)
    p.mat(1, 3, 3, [0.1, 0.5, 0.2, 0.9, 0.0, 2.0, 3.0, 1.0, 1.0]).mat(2, 1, 1, [0])
    p.px[(0, 4)] = [1, 0, 0, 0]  # seq: 0 rows x 1 column, an empty sequence
    p.mat(5, 1, 1, [3])
    if seed is not None:
        p.mat(6, 1, 1, [seed])
    return p


vector("gen_markov_argmax", "LOOP around GATHER, ARGMAX, APPEND: greedy generation of 4 tokens "
       "1 2 0 1 from an empty sequence; the counter ends at 0",
       markov(ARGMAX, ARGMAX_P),
       dict(status="halted", steps=17, pc=11,
            pixels={(0, 4): [1, 0, 4, 0]}, words={(1, 4): 1, (2, 4): 2, (3, 4): 0, (4, 4): 1, (1, 5): 0, (1, 2): 1}))

# The same chain sampled at T = 1 over the whole row, seed 12345: 4 draws, so the state ends at
# 12345 + 4 * 0x9E3779B9 mod 2^32.
vector("gen_markov_sample", "LOOP around GATHER, SAMPLE (T=1, all), APPEND: 4 tokens sampled "
       "from seed 12345; the PRNG state advances once per SAMPLE",
       markov(SAMPLE, sample_p(1.0, 0), seed=12345),
       dict(status="halted", steps=17, pc=13, pixels={(0, 4): [1, 0, 4, 0]},
            words={(1, 6): (12345 + 4 * STEP) & M32, (1, 5): 0}))

# LOOP to itself with counter 1000 and a step limit of 10: 10 taken loops, then STEP_LIMIT at
# (0,0) with pc 0 and steps exactly 10; the counter is 990.
vector("gen_loop_step_limit", "a LOOP that jumps to itself stops at the step limit: STEP_LIMIT at "
       "exactly 10 steps, counter 1000 - 10",
       Prog(4, 2, step_limit=10).ins(0, LOOP, 1, 0, 0, loop_p(0)).ins(3, HALT, 0, 0, 0).mat(1, 1, 1, [1000]),
       dict(status="trapped", steps=10, pc=0, trap=("STEP_LIMIT", 0, 0), words={(1, 1): 990}))

# Counter -5 (i32): not taken, nothing written, pc moves on to the HALT at 3: 2 steps.
vector("gen_loop_not_taken", "LOOP with a negative counter falls through and writes nothing",
       Prog(4, 2).ins(0, LOOP, 1, 0, 0, loop_p(0)).ins(3, HALT, 0, 0, 0).mat(1, 1, 1, [-5 & M32]),
       dict(status="halted", steps=2, pc=3, words={(1, 1): -5 & M32}))

# A forward LOOP skips the trap at 3 (an unknown opcode 200) to the HALT at 4: counter 1 -> 0.
vector("gen_loop_forward", "a taken LOOP jumps forward over an instruction that would trap",
       Prog(5, 2).ins(0, LOOP, 1, 0, 0, loop_p(4)).ins(3, 200, 0, 0, 0).ins(4, HALT, 0, 0, 0)
       .mat(1, 1, 1, [1]),
       dict(status="halted", steps=2, pc=4, words={(1, 1): 0}))

vector("gen_trap_loop_target", "a LOOP target at or past the width is BAD_PARAM at the opcode pixel",
       Prog(4, 2).ins(0, LOOP, 1, 0, 0, loop_p(4)).ins(3, HALT, 0, 0, 0).mat(1, 1, 1, [1]),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 0, 0), unchanged=True))

vector("gen_trap_loop_counter_shape", "a LOOP counter that is not 1x1 is SHAPE_MISMATCH at its header",
       Prog(4, 2).ins(0, LOOP, 1, 0, 0, loop_p(0)).ins(3, HALT, 0, 0, 0).mat(1, 1, 2, [1, 1]),
       dict(status="trapped", steps=0, pc=0, trap=("SHAPE_MISMATCH", 0, 1), unchanged=True))

# u8 table 3x2 [[10 11] [20 21] [30 31]], indices [2 0 2]: c = [[30 31] [10 11] [30 31]], R only:
# c's old pixels (G, B, A = 7, 8, 9) keep their G, B, A.
vector("gen_gather_u8", "GATHER rows of a u8 table by i32 indices [2 0 2]; R written, G B A kept",
       Prog(8, 5).ins(0, GATHER, 1, 2, 3, gather_p(0, 0)).ins(3, HALT, 0, 0, 0)
       .mat(1, 3, 2, u8=[10, 11, 20, 21, 30, 31]).mat(2, 1, 3, [2, 0, 2])
       .mat(3, 1, 6, u8=[[0, 7, 8, 9]] * 6),
       dict(status="halted", steps=2, pc=3, pixels={(0, 3): [2, 0, 3, 0], (1, 3): [30, 7, 8, 9],
                                                     (3, 3): [10, 7, 8, 9], (6, 3): [31, 7, 8, 9]}))

# f32 table 4x2, b has 3 rows (u8, declared u8): prefix mode copies rows 0..2; the NaN payload and
# -0 in them are written canonical (0x7FC00000, +0).
vector("gen_gather_prefix", "GATHER mode 1: rows 0..rows(b)-1 of an f32 table (position "
       "embeddings of a whole sequence); NaN payload and -0 canonical",
       Prog(8, 6).ins(0, GATHER, 1, 2, 3, gather_p(1, 1, db=0)).ins(3, HALT, 0, 0, 0)
       .mat(1, 4, 2, [1.0, 2.0, NAN_PAYLOAD, NEG_ZERO, 5.0, 6.0, 7.0, 8.0]).mat(2, 3, 1, u8=[9, 9, 9]),
       dict(status="halted", steps=2, pc=3, pixels={(0, 3): [2, 0, 3, 0]},
            words={(1, 3): bits(1.0), (3, 3): 0x7FC00000, (4, 3): 0, (6, 3): bits(6.0)}))

vector("gen_gather_last", "GATHER mode 2: row rows(b)-1 of the table (the newest position)",
       Prog(8, 6).ins(0, GATHER, 1, 2, 3, gather_p(1, 2)).ins(3, HALT, 0, 0, 0)
       .mat(1, 4, 2, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]).mat(2, 3, 1, [0, 0, 0]),
       dict(status="halted", steps=2, pc=3, pixels={(0, 3): [2, 0, 1, 0]},
            words={(1, 3): bits(5.0), (2, 3): bits(6.0)}))

vector("gen_trap_gather_index", "GATHER index 3 of a 3-row table is OUT_OF_RANGE at the index's pixel",
       Prog(8, 5).ins(0, GATHER, 1, 2, 3, gather_p(0, 0)).ins(3, HALT, 0, 0, 0)
       .mat(1, 3, 2, u8=[10, 11, 20, 21, 30, 31]).mat(2, 1, 2, [1, 3]),
       dict(status="trapped", steps=0, pc=0, trap=("OUT_OF_RANGE", 2, 2), unchanged=True))

vector("gen_trap_gather_negative", "GATHER index -1 is OUT_OF_RANGE at the index's pixel",
       Prog(8, 5).ins(0, GATHER, 1, 2, 3, gather_p(0, 0)).ins(3, HALT, 0, 0, 0)
       .mat(1, 3, 2, u8=[10, 11, 20, 21, 30, 31]).mat(2, 1, 1, [M32]),
       dict(status="trapped", steps=0, pc=0, trap=("OUT_OF_RANGE", 1, 2), unchanged=True))

vector("gen_trap_gather_length", "GATHER mode 2 with b 4 rows long and a 3-row table is "
       "OUT_OF_RANGE at b's header",
       Prog(8, 6).ins(0, GATHER, 1, 2, 4, gather_p(0, 2)).ins(3, HALT, 0, 0, 0)
       .mat(1, 3, 2, u8=[10, 11, 20, 21, 30, 31]).mat(2, 4, 1, [0, 0, 0, 0]),
       dict(status="trapped", steps=0, pc=0, trap=("OUT_OF_RANGE", 0, 2), unchanged=True))

# Empty cache (header 2 columns, 0 rows), capacity 3: appending 1x2 i32 [7, -1] makes it 1x2.
vector("gen_append_empty", "APPEND to an empty i32 matrix (0 rows): it becomes 1x2",
       Prog(8, 4).ins(0, APPEND, 1, 0, 2, append_p(3, 3)).ins(3, HALT, 0, 0, 0).mat(1, 1, 2, [7, M32])
       .mat(2, 0, 2),
       dict(status="halted", steps=2, pc=3, pixels={(0, 2): [2, 0, 1, 0]}, words={(1, 2): 7, (2, 2): M32}))

# f32 cache 1x2 holding [1 2], capacity 4: append 2 rows [NaN payload, -0; 3, 4] -> 3x2 with the
# new rows canonical at elements 2..5.
vector("gen_append_f32", "APPEND two f32 rows after one: the header becomes 3x2, values canonical",
       Prog(8, 4).ins(0, APPEND, 1, 0, 2, append_p(1, 4)).ins(3, HALT, 0, 0, 0)
       .mat(1, 2, 2, [NAN_PAYLOAD, NEG_ZERO, 3.0, 4.0]).mat(2, 1, 2, [1.0, 2.0]),
       dict(status="halted", steps=2, pc=3, pixels={(0, 2): [2, 0, 3, 0]},
            words={(1, 2): bits(1.0), (3, 2): 0x7FC00000, (4, 2): 0, (6, 2): bits(4.0)}))

vector("gen_trap_append_capacity", "APPEND to a matrix at its capacity (3 of 3 rows) is OUT_OF_RANGE "
       "at its header",
       Prog(8, 4).ins(0, APPEND, 1, 0, 2, append_p(3, 3)).ins(3, HALT, 0, 0, 0)
       .mat(1, 1, 1, [5]).mat(2, 3, 1, [1, 2, 3]),
       dict(status="trapped", steps=0, pc=0, trap=("OUT_OF_RANGE", 0, 2), unchanged=True))

vector("gen_trap_append_fit", "APPEND whose capacity (20 rows) does not fit in the image is "
       "MATRIX_OVERFLOW at c's header, whatever the length",
       Prog(8, 4).ins(0, APPEND, 1, 0, 2, append_p(3, 20)).ins(3, HALT, 0, 0, 0)
       .mat(1, 1, 1, [5]).mat(2, 1, 1, [1]),
       dict(status="trapped", steps=0, pc=0, trap=("MATRIX_OVERFLOW", 0, 2), unchanged=True))

vector("gen_trap_append_cols", "APPEND of a 1x2 row to a matrix of 1 column is SHAPE_MISMATCH at c",
       Prog(8, 4).ins(0, APPEND, 1, 0, 2, append_p(3, 3)).ins(3, HALT, 0, 0, 0)
       .mat(1, 1, 2, [5, 6]).mat(2, 1, 1, [1]),
       dict(status="trapped", steps=0, pc=0, trap=("SHAPE_MISMATCH", 0, 2), unchanged=True))

# Last row [NaN, 2, -inf, 2, 1] (the first row's 100 is not looked at): 2 at 1 and 3 -> 1.
vector("gen_argmax_ties", "ARGMAX of the last row: ties go to the lowest index, NaN ranks lowest",
       Prog(8, 5).ins(0, ARGMAX, 1, 0, 3, ARGMAX_P).ins(2, HALT, 0, 0, 0)
       .mat(1, 2, 5, [100.0, 0.0, 0.0, 0.0, 0.0, NAN_PAYLOAD, 2.0, NEG_INF, 2.0, 1.0]),
       dict(status="halted", steps=2, pc=2, pixels={(0, 3): [1, 0, 1, 0]}, words={(1, 3): 1}))

vector("gen_argmax_all_equal", "ARGMAX of an all-equal row is 0; of all NaN too",
       Prog(8, 5).ins(0, ARGMAX, 1, 0, 3, ARGMAX_P).ins(2, ARGMAX, 2, 0, 4, ARGMAX_P).ins(4, HALT, 0, 0, 0)
       .mat(1, 1, 4, [5.0] * 4).mat(2, 1, 3, [NAN_PAYLOAD] * 3).mat(3, 1, 1, [9]).mat(4, 1, 1, [9]),
       dict(status="halted", steps=3, pc=4, words={(1, 3): 0, (1, 4): 0}))

LOGITS = [0.5, 3.0, -1.0, 3.0, 2.5]


def sample_prog(temperature, top_k, logits=LOGITS, seed=7):
    return (Prog(8, 5).ins(0, SAMPLE, 1, 2, 3, sample_p(temperature, top_k)).ins(4, HALT, 0, 0, 0)
            .mat(1, 1, len(logits), logits).mat(2, 1, 1, [seed]))


vector("gen_sample_temperature_zero", "SAMPLE at T=0 is the argmax (1: the first of the two 3.0); "
       "the state still advances by 0x9E3779B9",
       sample_prog(0, 0), dict(status="halted", steps=2, pc=4, words={(1, 3): 1, (1, 2): 7 + STEP}))

vector("gen_sample_top1", "SAMPLE with top_k 1 is the argmax at any temperature",
       sample_prog(2.0, 1, seed=99), dict(status="halted", steps=2, pc=4, words={(1, 3): 1, (1, 2): 99 + STEP}))

vector("gen_sample_top_k_above_vocabulary", "SAMPLE with top_k 300 > 5 columns samples the whole row",
       sample_prog(1.0, 300, seed=1), dict(status="halted", steps=2, pc=4, words={(1, 2): 1 + STEP}))

vector("gen_sample_top2", "SAMPLE with top_k 2 picks among the two 3.0 logits (indices 1 and 3)",
       sample_prog(0.75, 2, seed=0xDEADBEEF),
       dict(status="halted", steps=2, pc=4, words={(1, 2): (0xDEADBEEF + STEP) & M32}))

# Two equal logits at T = 1: e = [1 1], total 2, t = u * 2: token 1 exactly when u >= 1/2, i.e. when
# the top bit of z = mix32(seed + 0x9E3779B9) is set.
for seed in (3, 4):
    z = mix32((seed + STEP) & M32)
    vector(f"gen_sample_coin_{seed}", "SAMPLE of two equal logits at T=1: token = top bit of the draw "
           f"(seed {seed}: z = {z:#010x})",
           sample_prog(1.0, 0, logits=[1.0, 1.0], seed=seed),
           dict(status="halted", steps=2, pc=4, words={(1, 3): z >> 31}))

vector("gen_sample_all_equal", "SAMPLE of an all-equal row of 5 at T=0.5: uniform over the 5",
       sample_prog(0.5, 0, logits=[2.0] * 5, seed=42), dict(status="halted", steps=2, pc=4))

vector("gen_sample_infinite", "SAMPLE with +inf among the logits is the argmax (the +inf)",
       sample_prog(1.0, 0, logits=[1.0, INF, 2.0], seed=5), dict(status="halted", steps=2, pc=4, words={(1, 3): 1}))

vector("gen_trap_sample_temperature", "SAMPLE at T = -1 is BAD_PARAM at the opcode pixel",
       sample_prog(-1.0, 0), dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 0, 0), unchanged=True))

vector("gen_trap_sample_state", "SAMPLE with a 1x2 PRNG state is SHAPE_MISMATCH at its header",
       Prog(8, 5).ins(0, SAMPLE, 1, 2, 3, sample_p(1.0, 0)).ins(4, HALT, 0, 0, 0)
       .mat(1, 1, 3, [1.0, 2.0, 3.0]).mat(2, 1, 2, [1, 2]),
       dict(status="trapped", steps=0, pc=0, trap=("SHAPE_MISMATCH", 0, 2), unchanged=True))

vector("gen_trap_gather_dtype", "GATHER declaring c f32 for a u8 table is BAD_PARAM",
       Prog(8, 5).ins(0, GATHER, 1, 2, 3, [[0, 3, 1, 0], [0, 0, 0, 0]]).ins(3, HALT, 0, 0, 0)
       .mat(1, 3, 2, u8=[10, 11, 20, 21, 30, 31]).mat(2, 1, 1, [0]),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 0, 0), unchanged=True))


# PENALIZE a, b, c: a's last row less p at each distinct token id of b's window.
SUBNORMAL = 0x00000001


def penalize_prog(penalty, window, tokens, logits=(1.0, 2.0, 3.0, NAN_PAYLOAD, INF, NEG_ZERO), rows=2):
    first = [100.0] * len(logits) * (rows - 1)  # earlier rows: never read
    return (Prog(8, 6).ins(0, PENALIZE, 1, 3, 4, penalize_p(penalty, window)).ins(4, HALT, 0, 0, 0)
            .mat(1, rows, len(logits), first + list(logits)).mat(3, 1, len(tokens), tokens))


vector("gen_penalize", "PENALIZE p=0.5 over all of b = [1 4 1 3]: the last row's 2 -> 1.5 once (1 "
       "appears twice), +inf and NaN stay, -0 -> +0, the first row is not read",
       penalize_prog(0.5, 0, [1, 4, 1, 3]),
       dict(status="halted", steps=2, pc=4, pixels={(0, 4): [6, 0, 1, 0]},
            words={(1, 4): bits(1.0), (2, 4): bits(1.5), (3, 4): bits(3.0), (4, 4): 0x7FC00000,
                   (5, 4): INF, (6, 4): 0}))

vector("gen_penalize_window", "PENALIZE p=1 with window 2 over b = [0 2 5 2]: only 5 and 2 (the last "
       "two) are lowered, and 0 is not",
       penalize_prog(1.0, 2, [0, 2, 5, 2], logits=(0.0, 1.0, 2.0, 3.0, 4.0, 5.0), rows=1),
       dict(status="halted", steps=2, pc=4,
            words={(1, 4): 0, (3, 4): bits(1.0), (6, 4): bits(4.0), (4, 4): bits(3.0)}))

vector("gen_penalize_window_outside", "PENALIZE with window 1: b's earlier element 99 (outside the "
       "logits) is outside the window, so not checked; 300 > 2 elements means all",
       Prog(10, 6).ins(0, PENALIZE, 1, 3, 4, penalize_p(2.0, 1)).ins(4, PENALIZE, 1, 5, 2, penalize_p(2.0, 300))
       .ins(8, HALT, 0, 0, 0)
       .mat(1, 1, 3, [1.0, 1.0, 1.0]).mat(3, 1, 2, [99, 0]).mat(5, 1, 2, [2, 1]),
       dict(status="halted", steps=3, pc=8,
            words={(1, 4): bits(-1.0), (2, 4): bits(1.0), (1, 2): bits(1.0), (2, 2): bits(-1.0),
                   (3, 2): bits(-1.0)}))

vector("gen_penalize_zero", "PENALIZE p=0 copies the last row canonically: subnormal and -0 -> +0, a "
       "NaN payload -> 0x7FC00000, even where b names them",
       penalize_prog(0.0, 0, [0, 3, 5], logits=(SUBNORMAL, -2.5, 7.0, NAN_PAYLOAD, 1e30, NEG_ZERO), rows=1),
       dict(status="halted", steps=2, pc=4,
            words={(1, 4): 0, (2, 4): bits(-2.5), (4, 4): 0x7FC00000, (6, 4): 0}))

vector("gen_penalize_in_place", "PENALIZE with c = a (a 1x4 row): every read before any write, so 2, "
       "named three times, is lowered once; -inf stays",
       Prog(8, 4).ins(0, PENALIZE, 1, 2, 1, penalize_p(0.25, 0)).ins(4, HALT, 0, 0, 0)
       .mat(1, 1, 4, [1.0, NEG_INF, 2.0, 3.0]).mat(2, 1, 3, [2, 1, 2]),
       dict(status="halted", steps=2, pc=4,
            words={(1, 1): bits(1.0), (2, 1): NEG_INF, (3, 1): bits(1.75), (4, 1): bits(3.0)}))

vector("gen_penalize_then_argmax", "PENALIZE then ARGMAX: 3.0 was just said (b = [0]), so p=0.5 "
       "makes 2.9 (token 1) the greedy choice",
       Prog(8, 6).ins(0, PENALIZE, 1, 2, 3, penalize_p(0.5, 64)).ins(4, ARGMAX, 3, 0, 4, ARGMAX_P)
       .ins(6, HALT, 0, 0, 0)
       .mat(1, 1, 3, [3.0, 2.9, 0.0]).mat(2, 1, 1, [0]),
       dict(status="halted", steps=3, pc=6, words={(1, 4): 1, (1, 3): bits(2.5)}))

vector("gen_trap_penalize_token", "PENALIZE with token id 6 in b, past the 6 logits, is OUT_OF_RANGE "
       "at the pixel that holds it",
       penalize_prog(0.5, 0, [1, 6]),
       dict(status="trapped", steps=0, pc=0, trap=("OUT_OF_RANGE", 2, 3), unchanged=True))

vector("gen_trap_penalize_negative", "PENALIZE with token id -1 is OUT_OF_RANGE at its pixel",
       penalize_prog(0.5, 0, [-1, 2]),
       dict(status="trapped", steps=0, pc=0, trap=("OUT_OF_RANGE", 1, 3), unchanged=True))

for name, pen in (("negative", -0.5), ("nan", NAN_PAYLOAD), ("inf", INF)):
    vector(f"gen_trap_penalize_penalty_{name}", f"PENALIZE with penalty {name} is BAD_PARAM at the opcode pixel",
           penalize_prog(pen, 0, [1]),
           dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 0, 0), unchanged=True))

vector("gen_trap_penalize_dtype", "PENALIZE declaring b f32 (token ids are i32) is BAD_PARAM",
       Prog(8, 6).ins(0, PENALIZE, 1, 3, 4, penalize_p(0.5, 0, dtypes=(1, 1, 1))).ins(4, HALT, 0, 0, 0)
       .mat(1, 1, 2, [1.0, 2.0]).mat(3, 1, 1, [0]),
       dict(status="trapped", steps=0, pc=0, trap=("BAD_PARAM", 0, 0), unchanged=True))

vector("gen_trap_penalize_fit", "PENALIZE of 20 logits into c at the last row (7 per row) is "
       "MATRIX_OVERFLOW at c's header",
       Prog(8, 6).ins(0, PENALIZE, 1, 4, 5, penalize_p(0.5, 0)).ins(4, HALT, 0, 0, 0)
       .mat(1, 1, 20, [1.0] * 20).mat(4, 1, 1, [0]),
       dict(status="trapped", steps=0, pc=0, trap=("MATRIX_OVERFLOW", 0, 5), unchanged=True))


if __name__ == "__main__":
    vector_files.write_all(VECTORS, HERE, "gen_", "make_gen_vectors.py", "generation", "--check" in sys.argv[1:])
