#!/usr/bin/python3
"""check_export.py RUN_DIR IDS [--format u16|bytes] [--text TEXT]

An independent reading of a pxtrain export: loads RUN_DIR/best.npz and RUN_DIR/config.json, checks
every array named in docs/gpt-weights.md is there with its shape, runs the model exactly as that
page defines it (NumPy, float64), scores the ids the way pxtrain scores the test file
(non-overlapping windows of `context`, the first token at log(vocab)) and compares with
RUN_DIR/summary.json's test figures. Exit 1 on any difference beyond float32 noise.
"""
import json
import math
import sys

import numpy as np


def layer_norm(x, w, b, eps):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * w + b


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def forward(W, c, tokens):
    T, d, H = len(tokens), c["width"], c["heads"]
    hd = d // H
    x = W["wte"][tokens] + W["wpe"][:T]
    mask = np.triu(np.ones((T, T), bool), 1)
    for i in range(c["layers"]):
        p = f"h.{i}."
        a = layer_norm(x, W[p + "ln_1.weight"], W[p + "ln_1.bias"], c["layer_norm_eps"])
        qkv = a @ W[p + "attn.c_attn.weight"] + W[p + "attn.c_attn.bias"]
        q, k, v = qkv[:, :d], qkv[:, d : 2 * d], qkv[:, 2 * d :]
        heads = []
        for j in range(H):
            s = q[:, j * hd : (j + 1) * hd] @ k[:, j * hd : (j + 1) * hd].T / math.sqrt(hd)
            s[mask] = -np.inf
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            heads.append(s @ v[:, j * hd : (j + 1) * hd])
        x = x + np.concatenate(heads, 1) @ W[p + "attn.c_proj.weight"] + W[p + "attn.c_proj.bias"]
        m = layer_norm(x, W[p + "ln_2.weight"], W[p + "ln_2.bias"], c["layer_norm_eps"])
        h = gelu_tanh(m @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"])
        x = x + h @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]
    return layer_norm(x, W["ln_f.weight"], W["ln_f.bias"], c["layer_norm_eps"]) @ W["wte"].T


def nats(logits, targets):
    m = logits.max(-1, keepdims=True)
    lse = (m + np.log(np.exp(logits - m).sum(-1, keepdims=True)))[:, 0]
    return float((lse - logits[np.arange(len(targets)), targets]).sum())


def main():
    args = sys.argv[1:]
    fmt = "u16"
    text = None
    if "--format" in args:
        i = args.index("--format")
        fmt = args[i + 1]
        del args[i : i + 2]
    if "--text" in args:
        i = args.index("--text")
        text = args[i + 1]
        del args[i : i + 2]
    run, ids_path = args
    c = json.load(open(run + "/config.json"))
    W = {k: v.astype(np.float64) for k, v in np.load(run + "/best.npz").items()}
    L, d, V, T = c["layers"], c["width"], c["vocab"], c["context"]
    want = {"wte": (V, d), "wpe": (T, d), "ln_f.weight": (d,), "ln_f.bias": (d,)}
    for i in range(L):
        p = f"h.{i}."
        want.update({p + "ln_1.weight": (d,), p + "ln_1.bias": (d,), p + "attn.c_attn.weight": (d, 3 * d),
                     p + "attn.c_attn.bias": (3 * d,), p + "attn.c_proj.weight": (d, d),
                     p + "attn.c_proj.bias": (d,), p + "ln_2.weight": (d,), p + "ln_2.bias": (d,),
                     p + "mlp.c_fc.weight": (d, 4 * d), p + "mlp.c_fc.bias": (4 * d,),
                     p + "mlp.c_proj.weight": (4 * d, d), p + "mlp.c_proj.bias": (d,)})
    if set(W) != set(want):
        sys.exit(f"arrays differ from docs/gpt-weights.md: extra {set(W) - set(want)}, missing {set(want) - set(W)}")
    for k, s in want.items():
        if W[k].shape != s:
            sys.exit(f"{k}: shape {W[k].shape}, docs/gpt-weights.md says {s}")
    if sum(v.size for v in W.values()) != c["parameters"]:
        sys.exit("config.json's parameter count is not the arrays' size")

    raw = open(ids_path, "rb").read()
    ids = np.frombuffer(raw, np.uint8 if fmt == "bytes" else "<u2").astype(np.int64)
    total = math.log(V)
    o = 0
    while o + 1 < len(ids):
        n = min(T, len(ids) - 1 - o)
        total += nats(forward(W, c, ids[o : o + n]), ids[o + 1 : o + n + 1])
        o += n
    summary = json.load(open(run + "/summary.json"))["test"]
    per_token = total / len(ids)
    nbytes = len(open(text, "rb").read()) if text else len(ids)
    bpb = total / math.log(2) / nbytes
    print(f"numpy: {len(ids)} tokens, loss {per_token:.6f} nats/token, {bpb:.6f} bits per byte")
    print(f"pxtrain: loss {summary['loss_per_token']:.6f}, {summary['bits_per_byte']:.6f} bits per byte")
    if abs(per_token - summary["loss_per_token"]) > 1e-4 * max(1, per_token) or abs(bpb - summary["bits_per_byte"]) > 1e-4:
        sys.exit("the NumPy reading of the export disagrees with pxtrain")
    print("export matches docs/gpt-weights.md and pxtrain's test figures")


if __name__ == "__main__":
    main()
