#!/usr/bin/env python3
"""pxdbg_lens_check.py STATE CLI REGION — pxdbg's Lens window (the state file's "gpt"."lens") against
`pxi lens --values` for the same program, prompt and tokens (CLI, a JSON file): the region's
positions and statistics, the hovered element's values, and both programs' next-token candidates.
`pxi lens` itself is checked against NumPy by tests/gpt_reference.py lens-check."""
import json, sys
st = json.load(open(sys.argv[1]))["gpt"]
cli = json.load(open(sys.argv[2]))
name = sys.argv[3]
l = st["lens"]
assert l["error"] == "", l["error"]
assert l["region"] == name, l["region"]
want = next(r for r in cli["regions"] if r["name"] == name)
got = l["lens"]
for k in ("first", "rows", "cols", "sequence", "scale", "zero_point", "max_abs", "max_row", "max_col", "mean_abs",
          "rms", "reference_rms", "relative", "within_half_step"):
    assert got[k] == want[k], "%s: %s %r, pxi lens %r" % (name, k, got[k], want[k])
h = l.get("hovered")
if h is not None:
    i = h["row"] * want["cols"] + h["col"]
    assert h["quantized"] == want["quantized"][i] and h["reference"] == want["reference"][i], (h, i)
    assert h["difference"] == want["quantized"][i] - want["reference"][i], h
# Candidates: the uint8 program's (the Text window's top) and the float32 program's.
assert [c["id"] for c in st["top"]] == [c["id"] for c in cli["top_k"]], (st["top"], cli["top_k"])
assert [c["id"] for c in l["reference_top"]] == [c["id"] for c in cli["reference_top_k"]]
for a, b in zip(l["reference_top"], cli["reference_top_k"]):
    assert a["probability"] == b["probability"] and a["logit"] == b["logit"], (a, b)
print("%s: positions %d..%d, max |diff| %.6g, relative %.4f; hovered %s; candidates agree" % (
    name, got["first"], got["first"] + got["rows"] - 1, got["max_abs"], got["relative"],
    None if h is None else (h["row"], h["col"])))
