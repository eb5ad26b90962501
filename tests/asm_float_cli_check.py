#!/usr/bin/env python3
"""asm_float_cli_check.py — typed .pxasm through the CLI, checked against NumPy (docs/pxasm.md).

    asm_float_cli_check.py PXI WORKDIR

  1. A hand-written float program (FMATMUL of a 2x3 by a 3x2 f32 matrix with literal weights, a
     bias and ReLU, then FCONVERT of the result to an f16 matrix) is assembled with `pxi asm`, run
     with `pxi run -o`, and the output's bytes (read with pxdbg_truth.py: Python's zlib and struct,
     no engine code) are compared with NumPy float32 / float16 in the fixed summation order.
  2. `pxi disasm` of the result writes the typed matrices as literals that NumPy reads back to the
     same bits.
  3. `pxi pixellm --dtype f32`: `pxi disasm` has no raw pixel lines, its weight literals are the
     saved weights rounded to float32, and `pxi asm` of the text gives identical pixels (`pxi diff`).
"""
import json
import os
import re
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


def words(path, row, pixels):
    """The element pixels of the matrix at `row` as little-endian uint32 (PROTOCOL.md §3)."""
    w, _, rows, _ = read_png(path)
    out = []
    for j in range(pixels):
        x, y = 1 + j % (w - 1), row + j // (w - 1)
        out.append(rows[y][x * 4 : x * 4 + 4])
    return np.frombuffer(b"".join(out), dtype="<u4")


def literals(text, name):
    """The literals of `matrix NAME ... [ ... ]` in disassembled text."""
    m = re.search(r"^matrix " + name + r" \S+ \S+ @ row \d+ \[([^\]]*)\]", text, re.M)
    assert m, (name, text[:3000])
    return m.group(1).split()


# --- 1. a hand-written float program.
x = np.array([[0.1, -2, 0.5], [3, 0.25, -1e-3]], dtype=np.float32)
W = np.array([[0.5, -1], [2, 0.125], [-3, 1.5e3]], dtype=np.float32)
b = np.array([0.1, -0.2], dtype=np.float32)
src = """; hand-written: y = relu(x @ W + b) in float32, then h = y as float16
matrix x 2x3 f32 [0.1 -2 0.5
                  3 0.25 -1e-3]
matrix W 3x2 f32 [0.5 -1, 2 0.125, -3 1.5e3]
matrix b 1x2 f32 @ row 10 [0.1 -0.2]
matrix y 2x2 f32 zeros
matrix h 2x2 f16 zeros
FMATMUL x, W, y, [f32, f32, f32, 0], [10, 0, relu, 0]
FCONVERT y, h, [f32, u8, f16, 0]
HALT
"""
hand = os.path.join(WORK, "hand.pxasm")
with open(hand, "w") as f:
    f.write(src)
prog, out = os.path.join(WORK, "hand.pxi"), os.path.join(WORK, "hand_out.pxi")
pxi("asm", hand, "-o", prog, "--force")
pxi("run", prog, "-o", out, "--force")
symbols = {r["name"]: r for r in json.loads(read_png(out)[3]["pxos.symbols"])["regions"]}
assert symbols["y"]["dtype"] == "f32" and symbols["h"]["dtype"] == "f16", symbols
# F.5: one block of 16 terms summed by the halving tree; for K = 3 that is (t0 + t2) + t1, then
# 0 + block, then the bias; ReLU.
want = np.zeros((2, 2), dtype=np.float32)
for m in range(2):
    for n in range(2):
        t = [np.float32(x[m, k] * W[k, n]) for k in range(3)]
        s = np.float32(np.float32(0) + np.float32(np.float32(t[0] + t[2]) + t[1]))
        s = np.float32(s + b[n])
        want[m, n] = s if s > 0 else np.float32(0)
got = words(out, symbols["y"]["row"], 4).view(np.float32).reshape(2, 2)
assert np.array_equal(got.view(np.uint32), want.view(np.uint32)), (got, want)
got16 = words(out, symbols["h"]["row"], 2).view("<f2")
assert np.array_equal(got16.view(np.uint16), want.reshape(-1).astype(np.float16).view(np.uint16)), got16
print(f"hand-written FMATMUL + FCONVERT: y = {got.reshape(-1).tolist()}, h = {got16.tolist()} (= NumPy)")

# --- 2. its disassembly writes literals NumPy reads back to the same bits.
dis = pxi("disasm", out)
assert ".hex" not in dis and ".rgba" not in dis, dis
ylit = literals(dis, "y")
assert np.array_equal(np.array([np.float32(v) for v in ylit]).view(np.uint32), want.reshape(-1).view(np.uint32))
hlit = literals(dis, "h")
assert np.array_equal(np.array([np.float16(v) for v in hlit]).view(np.uint16), got16.view(np.uint16)), hlit
print(f"disasm: y = {ylit}, h = {hlit}")

# --- 3. the f32 Pixel-LLM.
f32, npz = os.path.join(WORK, "pixellm_f32.pxi"), os.path.join(WORK, "pixellm_f32_weights.npz")
pxi("pixellm", "--dtype", "f32", "--seed", "7", "-o", f32, "--save-weights", npz, "--force")
dis = pxi("disasm", f32)
raw = [line for line in dis.splitlines() if line.startswith((".hex", ".rgba"))]
assert not raw, raw[:5]
wts = np.load(npz)
for name in ("W_hidden", "b_hidden", "W_out", "b_out"):
    vals = np.array([np.float32(v) for v in literals(dis, name)], dtype=np.float32)
    assert np.array_equal(vals.view(np.uint32), wts[name].astype(np.float32).reshape(-1).view(np.uint32)), name
text = os.path.join(WORK, "pixellm_f32.pxasm")
with open(text, "w") as f:
    f.write(dis)
back = os.path.join(WORK, "pixellm_f32_back.pxi")
pxi("asm", text, "-o", back, "--force")
assert "identical pixels" in pxi("diff", f32, back)
print(f"pixellm --dtype f32: {len(dis.splitlines())} lines of disasm, no raw pixels; literals = the saved weights")
