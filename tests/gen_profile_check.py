#!/usr/bin/env python3
"""pxi generate --profile on a tiny GPT program (2 layers, width 32, 2 heads, context 32, 300-token
BPE), and pxi gpt --random-init. Checked against independent computations:
- per opcode, the decode profile's count is (decode passes) x (that opcode's count in the loop body
  of `pxi disasm`'s listing: the instructions from the LOOP target to the last LOOP), and the
  prefill's is its count from pc 0 to the first LOOP; nothing else ran;
- the FMATMUL multiply-adds and operand bytes read per decode pass are those of the graph written
  out from the config (docs/gpt-program.md: q, k, v, proj, fc, proj per layer, the head), and
  GATHER's the two embedding rows it copies (not the whole tables), FATTENTION's q and both caches
  at each pass's length, APPEND's the one row it writes (not the whole cache), PENALIZE's the last
  row of the logits and the window of the sequence;
- the shares sum to 1 and the per-opcode times to the pass's time, on cpu and cpu-ref;
- the values' bytes (the memory bound's count) equal the pixels' in the float32 program, and in the
  uint8 program (the same weights, --dtype u8) QMATMUL's are the pixels' less three bytes of every
  uint8 element read and written (a code is one byte in a four-byte pixel);
- --random-init: the same seed gives the same file, another seed another, and the program runs.
Usage: gen_profile_check.py PXI PYTHON SOURCE_DIR WORK
"""
import json
import os
import re
import shutil
import subprocess
import sys

pxi, python, src, work = sys.argv[1:5]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)


def run(*args, rc=0):
    p = subprocess.run([pxi, *args], capture_output=True, encoding="utf-8", errors="replace")
    if p.returncode != rc:
        sys.exit(f"pxi {' '.join(args)}: exit {p.returncode}, expected {rc}\n{p.stdout[-2000:]}\n{p.stderr}")
    return p


def fail(msg):
    sys.exit("gen_profile: " + msg)


w = lambda name: os.path.join(work, name)
subprocess.run([python, os.path.join(src, "tests/gpt_tiny_fixture.py"), w("m"), "300", "7", "-", "-"], check=True)
run("tokenizer", "train", "--text", os.path.join(src, "tests/data/tokenizer_sample.txt"), "--vocab", "300",
    "-o", w("tok.pxi"))
run("gpt", "--weights", w("m.npz"), "--config", w("m.json"), "--tokenizer", w("tok.pxi"), "-o", w("m.pxi"))
cfg = json.load(open(w("m.json")))
L, d, V = cfg["layers"], cfg["width"], cfg["vocab"]

# The instruction listing: row 0 after the declarations, labels "Lx:" and one instruction a line.
listing = run("disasm", w("m.pxi")).stdout.splitlines()
code = []  # ("label", name) or ("op", mnemonic, text)
for line in listing:
    s = line.split(";")[0].strip()
    if not s or s.startswith((".", "matrix ", "scalar ")):
        continue
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*:", s):
        code.append(("label", s[:-1]))
        continue
    m = re.match(r"([A-Z][A-Z0-9_]*)\b", s)
    if m:
        code.append(("op", m.group(1), s))
ops = [c for c in code if c[0] == "op"]
loops = [i for i, c in enumerate(code) if c[0] == "op" and c[1] == "LOOP"]
if len(loops) != 2:
    fail(f"expected 2 LOOPs in the listing, found {len(loops)}")
target = re.search(r"@(\w+)", code[loops[0]][2]).group(1)
start = code.index(("label", target))
body, prefill = {}, {}
for c in code[start:loops[1] + 1]:
    if c[0] == "op":
        body[c[1]] = body.get(c[1], 0) + 1
for c in code[:loops[0] + 1]:
    if c[0] == "op":
        prefill[c[1]] = prefill.get(c[1], 0) + 1
if body.get("FMATMUL") != 6 * L + 1 or prefill.get("FMATMUL") != 6 * L + 1:
    fail(f"listing: FMATMUL x{body.get('FMATMUL')} in the loop body, want {6 * L + 1}")

# The decode pass's FMATMULs, from the graph: a is 1 x K, b is K x N, bias 1 x N but the head's.
mm = [(d, d, True)] * 3 + [(d, d, True), (d, 4 * d, True), (4 * d, d, True)]
mm = mm * L + [(d, V, False)]
want_macs = sum(K * N for K, N, _ in mm)
want_read = sum(4 * (1 + K) + 4 * (1 + K * N) + (4 * (1 + N) if bias else 0) for K, N, bias in mm)

N_TOKENS = 5
for ex in ["cpu", "cpu-ref"]:
    out = json.loads(run("generate", w("m.pxi"), "--prompt", "The quick brown", "--tokens", str(N_TOKENS),
                         "--executor", ex, "--profile", "--json").stdout)
    prof = out["profile"]
    dec, pre = prof["decode"], prof["prefill"]
    passes = N_TOKENS - 1
    if dec["passes"] != passes:
        fail(f"{ex}: {dec['passes']} decode passes, want {passes}")
    got = {o["name"]: o["count"] for o in dec["ops"]}
    want = {k: v * passes for k, v in body.items()}
    if got != want:
        fail(f"{ex}: decode counts {got}, want {want} (listing x {passes})")
    got_pre = {o["name"]: o["count"] for o in pre["ops"]}
    if got_pre != prefill:
        fail(f"{ex}: prefill counts {got_pre}, want {prefill}")
    if dec["steps"] != sum(body.values()) * passes:
        fail(f"{ex}: {dec['steps']} decode steps")
    for o in dec["ops"]:
        if abs(o["count_per_token"] - body[o["name"]]) > 1e-9:
            fail(f"{ex}: {o['name']} count_per_token {o['count_per_token']}")
    share = sum(o["share"] for o in dec["ops"])
    if abs(share - 1) > 1e-9:
        fail(f"{ex}: decode shares sum to {share}")
    if abs(sum(o["ms"] for o in dec["ops"]) - dec["ms"]) > 1e-9 * max(1, dec["ms"]):
        fail(f"{ex}: per-opcode times do not add up to the pass's")
    if abs(sum(o["share"] for o in pre["ops"]) - 1) > 1e-9:
        fail(f"{ex}: prefill shares do not sum to 1")
    fm = next(o for o in dec["ops"] if o["name"] == "FMATMUL")
    if fm["macs"] != want_macs * passes:
        fail(f"{ex}: FMATMUL {fm['macs']} multiply-adds, want {want_macs} x {passes}")
    if fm["bytes_read"] != want_read * passes:
        fail(f"{ex}: FMATMUL reads {fm['bytes_read']} bytes, want {want_read} x {passes}")
    # GATHER reads the rows it copies, not the whole table: per pass the token's embedding row
    # (and the 1 x 1 index) and the position's row (and the sequence's header).
    # FATTENTION reads q (1 x d), K and V (each L x d, headers too): in decode pass k (1..passes)
    # the caches hold the prompt's P positions and k more. APPEND writes the header and the row it
    # appends: per layer a key and a value row (1 x d), and the token (1 x 1).
    P = len(out["prompt_tokens"])
    at = next(o for o in dec["ops"] if o["name"] == "FATTENTION")
    want_at = sum(L * (4 * (1 + d) + 2 * 4 * (1 + (P + k) * d)) for k in range(1, passes + 1))
    if at["bytes_read"] != want_at:
        fail(f"{ex}: FATTENTION reads {at['bytes_read']} bytes, want {want_at} (q, K and V, {P}-token prompt)")
    if body.get("APPEND") != 2 * L + 1:
        fail(f"listing: APPEND x{body.get('APPEND')} in the loop body, want {2 * L + 1}")
    ap = next(o for o in dec["ops"] if o["name"] == "APPEND")
    want_ap = (2 * L * 4 * (1 + d) + 4 * 2) * passes
    if ap["bytes_written"] != want_ap:
        fail(f"{ex}: APPEND writes {ap['bytes_written']} bytes, want {want_ap} (one row each)")
    # PENALIZE reads a's last row (the logits of the newest position) and b's window, the last n
    # tokens of the sequence (P of them in the prefill): not the prefill's whole T x V logits.
    n_win = out["penalty_window"]
    pe = next(o for o in pre["ops"] if o["name"] == "PENALIZE")
    want_pe = 4 * (1 + V) + 4 * (1 + (P if n_win == 0 else min(n_win, P)))
    if pe["bytes_read"] != want_pe:
        fail(f"{ex}: prefill PENALIZE reads {pe['bytes_read']} bytes, want {want_pe} (window {n_win})")
    ga = next(o for o in dec["ops"] if o["name"] == "GATHER")
    if ga["bytes_read"] != (8 * (1 + d) + 12) * passes:
        fail(f"{ex}: GATHER reads {ga['bytes_read']} bytes, want {8 * (1 + d) + 12} x {passes}")
    if dec["bytes_read"] != sum(o["bytes_read"] for o in dec["ops"]):
        fail(f"{ex}: total bytes read is not the sum of the opcodes'")
    for o in dec["ops"]:  # every element of the float32 program is a whole pixel
        if (o["value_bytes_read"], o["value_bytes_written"]) != (o["bytes_read"], o["bytes_written"]):
            fail(f"{ex}: {o['name']}: value bytes {o['value_bytes_read']}/{o['value_bytes_written']} "
                 f"differ from the pixels' {o['bytes_read']}/{o['bytes_written']} in the float32 program")
    if len(out["tokens"]) != N_TOKENS:
        fail(f"{ex}: {len(out['tokens'])} tokens")
    if ex != "cpu":
        continue
    # The text form prints the table after the streamed text (once: the ceilings take a second).
    text = run("generate", w("m.pxi"), "--prompt", "The quick brown", "--tokens", "3", "--executor", ex,
               "--profile").stdout
    if "decode: 2 passes" not in text or not re.search(r"\n  FMATMUL +13\.0 ", text):
        fail(f"{ex}: text profile:\n{text}")

# The uint8 program: its QMATMULs (q, k, v, proj, fc, proj per layer; the head is QMATMUL32) read a
# (1 x K) and b (K x N) as uint8 codes and write c (1 x N) as codes; the int32 biases are whole
# pixels. Per pass, pixels less values = 3 bytes of each of those codes.
run("gpt", "--weights", w("m.npz"), "--config", w("m.json"), "--tokenizer", w("tok.pxi"), "--dtype", "u8",
    "--calibration", os.path.join(src, "tests/data/tokenizer_sample.txt"), "-o", w("m8.pxi"))
out8 = json.loads(run("generate", w("m8.pxi"), "--prompt", "The quick brown", "--tokens", str(N_TOKENS),
                      "--profile", "--json").stdout)
qm = next(o for o in out8["profile"]["decode"]["ops"] if o["name"] == "QMATMUL")
codes = sum(K + K * N + N for K, N, _ in mm[:-1]) * (N_TOKENS - 1)
if qm["bytes_read"] + qm["bytes_written"] - qm["value_bytes_read"] - qm["value_bytes_written"] != 3 * codes:
    fail(f"u8: QMATMUL pixels {qm['bytes_read']}+{qm['bytes_written']}, values {qm['value_bytes_read']}+"
         f"{qm['value_bytes_written']}: want 3 x {codes} bytes between them")

run("generate", w("m.pxi"), "--prompt", "x", "--tokens", "1", "--profile", rc=2)
run("generate", w("m.pxi"), "--prompt", "x", "--tokens", "3", "--profile", "--executor", "gl", rc=2)

# --random-init: GPT-2's init, seeded, built in memory.
base = ["gpt", "--config", w("m.json"), "--tokenizer", w("tok.pxi")]
run(*base, "--random-init", "3", "-o", w("r3.pxi"))
run(*base, "--random-init", "3", "-o", w("r3b.pxi"))
run(*base, "--random-init", "4", "-o", w("r4.pxi"))
if open(w("r3.pxi"), "rb").read() != open(w("r3b.pxi"), "rb").read():
    fail("--random-init 3 twice gave two different files")
if open(w("r3.pxi"), "rb").read() == open(w("r4.pxi"), "rb").read():
    fail("--random-init 3 and 4 gave the same file")
run(*base, "--random-init", "3", "--weights", w("m.npz"), "-o", w("both.pxi"), rc=2)
run("gpt", "--config", w("m.json"), "--tokenizer", w("tok.pxi"), "-o", w("none.pxi"), rc=2)
g = json.loads(run("generate", w("r3.pxi"), "--prompt", "The", "--tokens", "4", "--json").stdout)
if len(g["tokens"]) != 4:
    fail("the random-init program did not generate 4 tokens")
print(f"gen_profile: decode body {body}; FMATMUL {want_macs} MAC and {want_read} bytes read per pass")
