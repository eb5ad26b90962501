#!/usr/bin/env python3
"""gpt_tiny_fixture.py — a tiny seeded GPT in the files pxtrain writes (docs/gpt-weights.md), for tests
that need one without NumPy (tests/gpt_cli.cmake, tests/pxdbg_gui_gpt.sh; tests/gpt_fixture.py is the
NumPy one with GPT-2's initialisation).

    gpt_tiny_fixture.py OUT VOCAB SEED [DROP [RESHAPE]]

Writes OUT.npz (float32 .npy entries in a stored zip, written by hand) and OUT.json: 2 layers,
width 32, 2 heads, context 32, Gaussian weights from random.Random(SEED). DROP names an array to
leave out and RESHAPE one to write with a wrong shape (d x d), for the error tests; "-" for none.
"""
import json
import random
import struct
import sys
import zipfile

out, vocab, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
drop = sys.argv[4] if len(sys.argv) > 4 else "-"
reshape = sys.argv[5] if len(sys.argv) > 5 else "-"
L, d, H, C = 2, 32, 2, 32
rng = random.Random(seed)


def arr(shape, std, mean=0.0):
    n = 1
    for s in shape:
        n *= s
    return shape, [mean + rng.gauss(0.0, std) for _ in range(n)]


a = {"wte": arr((vocab, d), 0.5), "wpe": arr((C, d), 0.2)}
for i in range(L):
    h = "h.%d." % i
    a[h + "ln_1.weight"] = arr((d,), 0.1, 1.0); a[h + "ln_1.bias"] = arr((d,), 0.05)
    a[h + "attn.c_attn.weight"] = arr((d, 3 * d), 0.3); a[h + "attn.c_attn.bias"] = arr((3 * d,), 0.05)
    a[h + "attn.c_proj.weight"] = arr((d, d), 0.2); a[h + "attn.c_proj.bias"] = arr((d,), 0.05)
    a[h + "ln_2.weight"] = arr((d,), 0.1, 1.0); a[h + "ln_2.bias"] = arr((d,), 0.05)
    a[h + "mlp.c_fc.weight"] = arr((d, 4 * d), 0.2); a[h + "mlp.c_fc.bias"] = arr((4 * d,), 0.05)
    a[h + "mlp.c_proj.weight"] = arr((4 * d, d), 0.1); a[h + "mlp.c_proj.bias"] = arr((d,), 0.05)
a["ln_f.weight"] = arr((d,), 0.1, 1.0); a["ln_f.bias"] = arr((d,), 0.05)
a.pop(drop, None)
if reshape in a:
    a[reshape] = ((d, d), [0.0] * (d * d))


def npy(shape, values):
    dims = "(" + "".join("%d, " % s for s in shape)[:-2] + ("," if len(shape) == 1 else "") + ")"
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % dims
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return (b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()
            + struct.pack("<%df" % len(values), *values))


with zipfile.ZipFile(out + ".npz", "w", zipfile.ZIP_STORED) as z:
    for k, (shape, v) in a.items():
        z.writestr(k + ".npy", npy(shape, v))
json.dump({"model": "gpt", "layers": L, "width": d, "heads": H, "head_width": d // H, "context": C,
           "vocab": vocab, "mlp_width": 4 * d, "activation": "gelu_tanh", "layer_norm_eps": 1e-05,
           "tied_head": True, "dtype": "float32", "layout": "y = x @ W + b; W is [in, out]"},
          open(out + ".json", "w"))
