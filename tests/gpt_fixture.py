#!/usr/bin/env python3
"""gpt_fixture.py — writes a tiny random GPT as weights.npz + config.json, exactly in the layout
docs/gpt-weights.md gives (the contract pxtrain's export follows), for the tests of `pxi gpt`.

    gpt_fixture.py --vocab V [--layers 2] [--width 32] [--heads 2] [--context 32] [--seed 1]
                   [--std 0.02] --out DIR

Initialisation is GPT-2's: every weight matrix and both embeddings ~ N(0, std^2) (std 0.02), the two
residual projections (attn.c_proj, mlp.c_proj) scaled by 1 / sqrt(2 L). Unlike a fresh GPT-2, the
biases and the LayerNorm gains and shifts are not left at 0 / 1 but drawn near them (bias N(0, 0.02^2),
gain 1 + N(0, 0.1^2), shift N(0, 0.02^2)): a builder that dropped a bias, swapped a gain for a shift or
read a bias from the wrong row must change the logits. The result depends only on the arguments
(NumPy's PCG64 generator seeded with --seed), so two runs write the same bytes.
"""
import argparse
import json
import os
import sys

import numpy as np


def make_weights(vocab, layers, width, heads, context, seed, std=0.02):
    """The arrays of docs/gpt-weights.md, float32, by name."""
    if width % heads:
        raise ValueError(f"width {width} is not a multiple of heads {heads}")
    rng = np.random.default_rng(seed)
    d, f32 = width, np.float32
    proj_std = std / np.sqrt(2 * layers)

    def normal(shape, s):
        return rng.normal(0.0, s, size=shape).astype(f32)

    def ln(prefix, w):
        w[prefix + ".weight"] = (1.0 + rng.normal(0.0, 0.1, size=d)).astype(f32)
        w[prefix + ".bias"] = normal(d, 0.02)

    w = {"wte": normal((vocab, d), std), "wpe": normal((context, d), std)}
    for i in range(layers):
        h = f"h.{i}."
        ln(h + "ln_1", w)
        w[h + "attn.c_attn.weight"] = normal((d, 3 * d), std)
        w[h + "attn.c_attn.bias"] = normal(3 * d, 0.02)
        w[h + "attn.c_proj.weight"] = normal((d, d), proj_std)
        w[h + "attn.c_proj.bias"] = normal(d, 0.02)
        ln(h + "ln_2", w)
        w[h + "mlp.c_fc.weight"] = normal((d, 4 * d), std)
        w[h + "mlp.c_fc.bias"] = normal(4 * d, 0.02)
        w[h + "mlp.c_proj.weight"] = normal((4 * d, d), proj_std)
        w[h + "mlp.c_proj.bias"] = normal(d, 0.02)
    ln("ln_f", w)
    return w


def make_config(vocab, layers, width, heads, context):
    d = width
    return {
        "model": "gpt",
        "layers": layers,
        "width": d,
        "heads": heads,
        "head_width": d // heads,
        "context": context,
        "vocab": vocab,
        "mlp_width": 4 * d,
        "activation": "gelu_tanh",
        "layer_norm_eps": 1e-05,
        "tied_head": True,
        "dtype": "float32",
        "layout": "y = x @ W + b; W is [in, out]",
        "parameters": vocab * d + context * d + layers * (12 * d * d + 13 * d) + 2 * d,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vocab", type=int, required=True)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--context", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--std", type=float, default=0.02, help="weight std (GPT-2: 0.02)")
    ap.add_argument("--out", required=True, help="directory; weights.npz and config.json go there")
    a = ap.parse_args()
    for k in ("vocab", "layers", "width", "heads", "context"):
        if getattr(a, k) < 1:
            sys.exit(f"gpt_fixture.py: --{k} must be >= 1")
    if a.width % a.heads:
        sys.exit(f"gpt_fixture.py: --width {a.width} is not a multiple of --heads {a.heads}")
    w = make_weights(a.vocab, a.layers, a.width, a.heads, a.context, a.seed, a.std)
    cfg = make_config(a.vocab, a.layers, a.width, a.heads, a.context)
    assert sum(v.size for v in w.values()) == cfg["parameters"]
    os.makedirs(a.out, exist_ok=True)
    # Written under temporary names and renamed, so a reader never sees half a file.
    npz, js = os.path.join(a.out, "weights.npz"), os.path.join(a.out, "config.json")
    with open(npz + ".tmp", "wb") as f:
        np.savez(f, **w)
    with open(js + ".tmp", "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    os.replace(npz + ".tmp", npz)
    os.replace(js + ".tmp", js)
    print(f"wrote {npz} ({len(w)} arrays, {cfg['parameters']} parameters) and {js}")


if __name__ == "__main__":
    main()
