#!/usr/bin/env python3
"""float_cli_check.py — the independent side of the float display and float Pixel-LLM tests.

    float_cli_check.py PXI WORKDIR

Everything pxi prints here is checked against NumPy on the files' own bytes (read with
pxdbg_truth.py: Python's zlib and struct, no engine code) or against a NumPy model:
  1. `pxi info --json` on a float program (make_float_program.py: f32 with NaN, +-inf, -0, a
     subnormal; an f16 matrix declared by symbols) and on its run: each region's dtype, min, max
     (finite values) and NaN / inf counts.
  2. `pxi pixellm --dtype f32`: the matrices are the saved float64 weights rounded to float32, the
     program is FMATMUL (ReLU, bias) + FMATMUL (bias); its logits for a seeded input match a float64
     NumPy forward pass to float32 rounding.
  3. `pxi accuracy` on the f32 program (against float64) and on a u8 program (against float64 and
     against the f32 program): top-1, top-5 and relative L2 recomputed here from the logits of
     `pxi run --input`, with the seeded inputs regenerated in Python (splitmix64 + Box-Muller as
     engine/models/pixellm.h documents).
"""
import json
import math
import os
import subprocess
import sys

try:
    import numpy as np
except ImportError:
    print("NumPy missing: skipped")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pxdbg_truth import read_png  # noqa: E402

PXI, WORK = sys.argv[1], sys.argv[2]
os.makedirs(WORK, exist_ok=True)


def pxi(*args, rc=0):
    p = subprocess.run([PXI, *args], capture_output=True, text=True)
    assert p.returncode == rc, f"pxi {' '.join(args)}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p.stdout


def region_values(path, name, dtype=None):
    """The elements of a named region as NumPy float64, decoded from the PNG as `dtype` (default:
    what the symbols declare, else u8)."""
    w, h, rows, text = read_png(path)
    reg = next(r for r in json.loads(text["pxos.symbols"])["regions"] if r["name"] == name)
    n, row, dtype = reg["rows"] * reg["cols"], reg["row"], dtype or reg.get("dtype")
    return decode(rows, w, row, n, dtype), dtype


def decode(rows, w, row, n, dtype):
    px = []
    npix = (n + 1) // 2 if dtype == "f16" else n
    for j in range(npix):
        x, y = 1 + j % (w - 1), row + j // (w - 1)
        px.append(rows[y][x * 4 : x * 4 + 4])
    raw = np.frombuffer(b"".join(px), dtype=np.uint8)
    if dtype == "f16":
        return raw.view("<f2")[:n].astype(np.float64)
    if dtype == "i32":
        return raw.view("<i4").astype(np.float64)
    if dtype == "f32":
        return raw.view("<f4").astype(np.float64)
    return raw[0::4].astype(np.float64)


def check_info(path, want_dtypes):
    info = json.loads(pxi("info", path, "--json"))
    checked = 0
    for r in info["regions"]:
        name = r["name"]
        if name not in want_dtypes:
            continue
        assert r["dtype"] == want_dtypes[name], (name, r["dtype"])
        v = decode(read_png(path)[2], read_png(path)[0], r["row"], r["rows"] * r["cols"], r["dtype"])
        finite = v[np.isfinite(v)]
        assert r["nan"] == int(np.isnan(v).sum()), (name, r["nan"])
        assert r["inf"] == int(np.isinf(v).sum()), (name, r["inf"])
        assert r["finite"] == finite.size, (name, r["finite"])
        if finite.size:
            assert r["min"] == finite.min() and r["max"] == finite.max(), (name, r["min"], r["max"], finite)
        checked += 1
    assert checked == len(want_dtypes), (checked, want_dtypes)
    return info


# --- 1. pxi info on a float program, before and after it runs.
fp = os.path.join(WORK, "float_program.pxi")
subprocess.run([sys.executable, os.path.join(HERE, "make_float_program.py"), fp], check=True)
types = {"a": "f32", "b": "f32", "bias": "f32", "c": "f32", "h": "f16"}
check_info(fp, types)
text = pxi("info", fp)
assert "3x4 f32" in text and "1x5 f16" in text and "1 NaN  1 inf" in text, text
ran = os.path.join(WORK, "float_program_ran.pxi")
pxi("run", fp, "-o", ran, "--force")
check_info(ran, types)
# c = relu(a @ b + bias) in float32: rows of a holding NaN / inf give NaN / inf; the NumPy value
# (float64 sums of exact float32 products, then rounded) equals the program's for these values.
# FMATMUL's P1 declares a, b, c (and so the bias) f32.
a, _ = region_values(fp, "a", "f32")
b, _ = region_values(fp, "b", "f32")
bias, _ = region_values(fp, "bias", "f32")
c, _ = region_values(ran, "c", "f32")
assert np.isnan(c).sum() == 2 and np.isinf(c).sum() == 2, c
with np.errstate(invalid="ignore"):
    a32 = np.where(np.abs(a) < 2.0**-126, 0.0, a)  # load canonicalization (F.3): subnormals, -0 -> +0
    want = np.maximum(a32.reshape(3, 4) @ b.reshape(4, 2) + bias, 0.0).astype(np.float32)
    want = np.where(np.isnan(a32.reshape(3, 4) @ b.reshape(4, 2)), np.nan, want)
assert np.array_equal(c.reshape(3, 2), want.astype(np.float64), equal_nan=True), (c, want)
print(f"pxi info: dtypes {types}; min/max/NaN/inf of every region = NumPy's, before and after the run")
print(f"FMATMUL result c = {c.tolist()} (NumPy: {want.reshape(-1).tolist()})")

# --- 2. the f32 Pixel-LLM.
f32 = os.path.join(WORK, "pixellm_f32.pxi")
npz = os.path.join(WORK, "pixellm_f32_weights.npz")
out = json.loads(pxi("pixellm", "--dtype", "f32", "--seed", "7", "-o", f32, "--save-weights", npz, "--force", "--json"))
assert out["dtype"] == "f32" and out["logits"] == "f32", out
wts = np.load(npz)
for name in ("W_hidden", "b_hidden", "W_out", "b_out"):
    v, dt = region_values(f32, name)
    assert dt == "f32", (name, dt)
    assert np.array_equal(v, wts[name].astype(np.float32).astype(np.float64).reshape(-1)), name
dis = pxi("disasm", f32)
assert dis.count("FMATMUL") == 2 and "relu" in dis, dis
check_info(f32, {n: "f32" for n in ("input", "W_hidden", "b_hidden", "hidden", "W_out", "b_out", "logits")})


# The seeded inputs, as engine/models/pixellm.h documents them.
M64 = (1 << 64) - 1


class SplitMix64:
    def __init__(self, state):
        self.state = state & M64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & M64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)

    def uniform(self):
        return ((self.next() >> 11) + 0.5) / 9007199254740992.0

    def normal(self):
        u1, u2 = self.uniform(), self.uniform()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(6.283185307179586 * u2)


def seeded_input(seed, index):
    mix = SplitMix64(seed ^ ((index * 0xD1B54A32D192ED03) & M64))
    g = SplitMix64(mix.next())
    return np.array([g.normal() for _ in range(128)])


def forward(w, x):
    hdn = np.maximum(x @ w["W_hidden"] + w["b_hidden"].reshape(-1), 0.0)
    return hdn @ w["W_out"] + w["b_out"].reshape(-1)


def program_logits(program, x, tag):
    xin = os.path.join(WORK, f"x_{tag}.npy")
    np.save(xin, x.astype(np.float64))
    res = os.path.join(WORK, f"ran_{tag}.pxi")
    pxi("run", program, "--input", xin, "-o", res, "--force")
    v, dt = region_values(res, "logits")
    if dt is None:  # u8 build: int32 logits, real = scale * q
        _, _, _, text = read_png(res)
        reg = next(r for r in json.loads(text["pxos.symbols"])["regions"] if r["name"] == "logits")
        w_, _, rows, _ = read_png(res)
        v = decode(rows, w_, reg["row"], 1024, "i32") * reg["scale"]
    return v


def rel_l2(q, f):
    return math.sqrt(((q - f) ** 2).sum() / (f**2).sum())


def figures(pairs):
    top1 = sum(int(np.argmax(q) == np.argmax(f)) for q, f in pairs) / len(pairs)
    top5 = 0
    for q, f in pairs:
        best = int(np.argmax(f))
        above = sum(1 for i in range(len(q)) if q[i] > q[best] or (q[i] == q[best] and i < best))
        top5 += above < 5
    return top1, top5 / len(pairs), sum(rel_l2(q, f) for q, f in pairs) / len(pairs)


N, SEED = 8, 3
xs = [seeded_input(SEED, i) for i in range(N)]
ref = [forward(wts, x) for x in xs]
f32_logits = [program_logits(f32, x, f"f32_{i}") for i, x in enumerate(xs)]
worst = max(rel_l2(q, f) for q, f in zip(f32_logits, ref))
assert worst < 1e-6, worst
acc = json.loads(pxi("accuracy", f32, "--inputs", str(N), "--seed", str(SEED), "--json"))
t1, t5, rl = figures(list(zip(f32_logits, ref)))
assert acc["dtype"] == "f32" and acc["reference"] == "float64", acc
assert acc["top1_agreement"] == t1 and acc["top5_containment"] == t5, (acc, t1, t5)
assert math.isclose(acc["rel_l2"], rl, rel_tol=1e-9), (acc["rel_l2"], rl)
assert math.isclose(acc["max_rel_l2"], worst, rel_tol=1e-9), (acc["max_rel_l2"], worst)
assert "raw_rel_l2" not in acc and "vs_f32_rel_l2" not in acc, acc
print(f"f32 Pixel-LLM vs float64 NumPy on {N} seeded inputs: rel_l2 {rl:.3e} (max {worst:.3e}), "
      f"top1 {t1}, top5 {t5}; pxi accuracy says the same")

# --- 3. the u8 build of the same weights against float64 and against the f32 program.
u8 = os.path.join(WORK, "pixellm_u8_s7.pxi")
pxi("pixellm", "--seed", "7", "-o", u8, "--force")
u8_logits = [program_logits(u8, x, f"u8_{i}") for i, x in enumerate(xs)]
acc = json.loads(pxi("accuracy", u8, "--inputs", str(N), "--seed", str(SEED), "--json"))
t1, t5, rl = figures(list(zip(u8_logits, ref)))
assert acc["top1_agreement"] == t1 and acc["top5_containment"] == t5, (acc, t1, t5)
assert math.isclose(acc["rel_l2"], rl, rel_tol=1e-9), (acc["rel_l2"], rl)
v1, v5, vr = figures(list(zip(u8_logits, f32_logits)))
assert acc["vs_f32_top1_agreement"] == v1 and acc["vs_f32_top5_containment"] == v5, (acc, v1, v5)
assert math.isclose(acc["vs_f32_rel_l2"], vr, rel_tol=1e-9), (acc["vs_f32_rel_l2"], vr)
print(f"u8 Pixel-LLM on the same inputs: vs float64 rel_l2 {rl:.4f} top1 {t1}; vs the f32 program "
      f"rel_l2 {vr:.4f} top1 {v1} top5 {v5}; pxi accuracy says the same")
