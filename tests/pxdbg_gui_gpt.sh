#!/usr/bin/env bash
# pxdbg_gui_gpt.sh — pxdbg's Text window on a tiny GPT program, driven in a real X window
# (ctest: pxdbg_gui_gpt): a prompt typed into the prompt field (Ctrl+P, xdotool type, Enter),
# ten Next tokens (N), one Back one token (Shift+N), a hovered token.
#
#   pxdbg_gui_gpt.sh PXDBG PXI WORKDIR SOURCE_DIR
#
# Every number read from the state file (--state-file, key "gpt") is checked against an independent
# source: the prompt's and generated tokens and the text against `pxi generate --json` for the same
# prompt and settings; each token's step against `pxi run --trace` (the steps of the APPEND into
# `tokens`); each token's probability and the top-10 candidates (id, f32 logit, probability)
# against a softmax in Python (double) over the logits row read from the image `pxi generate -o`
# leaves after k tokens (its PNG decoded by ImageMagick, not by pxOS code).
# Exit 77 (skipped) only when Xvfb, xdotool, jq, python3 or ImageMagick is missing.
set -euo pipefail

# shellcheck source=tests/pxdbg_gui_lib.sh
source "$(dirname "$0")/pxdbg_gui_lib.sh"
[ "${1:-}" = "--inner" ] || under_xvfb "$0" xdotool Xvfb jq python3 convert identify -- "$@"
shift
PXDBG=$1 PXI=$2 WORK=$3 SRC=$4
rm -rf "$WORK" && mkdir -p "$WORK"
STATE=$WORK/state.json SHOT=$WORK/screen.png LOG=$WORK/pxdbg.log
PROMPT="The quick fox"
N=10
times=
fail_extra() { echo "--- gpt state:"; jq .gpt "$STATE" 2>/dev/null || cat "$STATE" 2>/dev/null || true; }

# ---- A tiny GPT: seeded weights (docs/gpt-weights.md), a 300-token tokenizer, pxi gpt ----
# check.py WORK N LOGITS_ROW WIDTH: for each k, the state file pxdbg wrote after k tokens
# (WORK/state$k.json) against the image `pxi generate --tokens k -o` saved (WORK/gen$k.rgba: raw
# RGBA, ImageMagick decoded the PNG, not pxOS code): the last logits row's softmax in double gives
# the k-th token's probability and the top-10 candidates (id, f32 logit, probability).
cat >"$WORK/check.py" <<'PY'
import json, math, struct, sys
work, n, row, w = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def close(a, b): return abs(a - b) <= 1e-12 * max(1.0, abs(b))
for k in range(1, n + 1):
    raw = open("%s/gen%d.rgba" % (work, k), "rb").read()
    px = lambda x, y: raw[(y * w + x) * 4:(y * w + x) * 4 + 4]
    hdr = px(0, row)
    cols, nrows = hdr[0] | hdr[1] << 8, hdr[2] | hdr[3] << 8  # PROTOCOL.md §3: cols in R,G; rows in B,A
    elem = lambda i: struct.unpack("<f", px(1 + i % (w - 1), row + i // (w - 1)))[0]
    last = [elem((nrows - 1) * cols + c) for c in range(cols)]
    m = max(last)
    s = sum(math.exp(v - m) for v in last)
    order = sorted(range(cols), key=lambda i: (-last[i], i))[:10]
    st = json.load(open("%s/state%d.json" % (work, k)))["gpt"]
    tok = json.load(open("%s/gen%d.json" % (work, k)))["tokens"][-1]
    p = st["generated"][k - 1]["probability"]
    assert close(p, math.exp(last[tok] - m) / s), "token %d: p %r, Python %r" % (k, p, math.exp(last[tok] - m) / s)
    assert len(st["top"]) == 10, "top has %d" % len(st["top"])
    for got, i in zip(st["top"], order):
        q = math.exp(last[i] - m) / s
        assert got["id"] == i, "after %d tokens: candidate id %d, Python %d" % (k, got["id"], i)
        assert got["logit"] == last[i], "logit of %d: %r vs %r" % (i, got["logit"], last[i])
        assert close(got["probability"], q), "p of %d: %r vs %r" % (i, got["probability"], q)
PY
python3 "$SRC/tests/gpt_tiny_fixture.py" "$WORK/m" 300 11
"$PXI" tokenizer train --text "$SRC/tests/data/tokenizer_sample.txt" --vocab 300 -o "$WORK/tok.pxi" >/dev/null
"$PXI" gpt --weights "$WORK/m.npz" --config "$WORK/m.json" --tokenizer "$WORK/tok.pxi" --max-new-tokens $N \
    -o "$WORK/m.pxi" >/dev/null
PROG=$WORK/m.pxi
# The truth: pxi generate with the same prompt and settings (greedy, seed 0, as built), after
# every k tokens (its saved image holds the logits the k-th token came from).
for k in $(seq 1 $N); do
    "$PXI" generate "$PROG" --prompt "$PROMPT" --tokens "$k" --json -o "$WORK/gen$k.pxi" >"$WORK/gen$k.json" 2>/dev/null
done
GEN=$WORK/gen$N.json
T=$(jq '.prompt_tokens | length' "$GEN")
# The steps of the APPENDs into `tokens`: from pxi's trace of the program as built (its step count
# per pass does not depend on the prompt: the same instructions run).
tokens_row=$("$PXI" info "$PROG" | awk '$1 == "tokens" && $2 == "row" { print $3 }')
[ -n "$tokens_row" ] || fail "pxi info names no tokens region"
"$PXI" run "$PROG" --trace >"$WORK/trace.txt"
mapfile -t append_steps < <(sed -n "s/^step=\([0-9]*\) pc=[0-9]* APPEND [0-9]*,[0-9]*,$tokens_row .*/\1/p" "$WORK/trace.txt")
[ "${#append_steps[@]}" = "$N" ] || fail "the trace has ${#append_steps[@]} APPENDs into tokens, expected $N"
logits_row=$("$PXI" info "$PROG" | awk '$1 == "logits" && $2 == "row" { print $3 }')
[ -n "$logits_row" ] || fail "pxi info names no logits region"

echo "[${SECONDS}s] fixture, pxi generate x $N, trace"
start "$PROG"
wait_for '.gpt.prompt_tokens' '[0]' # as built: the one-token prompt 0
# ---- The prompt, typed into the field ----
set_prompt "$PROMPT"
wait_for '.gpt.edits' 1
wait_for '.gpt.prompt_tokens' "$(jq -c .prompt_tokens "$GEN")"
[ "$(jc .gpt.tokens)" = "$(jc .gpt.prompt_tokens)" ] || fail "after Set prompt the sequence should be the prompt"
echo "[${SECONDS}s] prompt \"$PROMPT\" set: $T tokens, as pxi generate encodes it"

# ---- N: one token at a time ----
for k in $(seq 1 $N); do
    xdotool key n
    wait_for '.gpt.tokens | length' $((T + k))
    wait_for '.gpt.busy' false
    times+=" $(j .gpt.token_ms | awk '{ printf "%.2f", $1 }')"
    gk=$WORK/gen$k.json
    [ "$(jc ".gpt.tokens[$T:]")" = "$(jq -c .tokens "$gk")" ] || fail "after $k tokens: $(jc ".gpt.tokens[$T:]") vs pxi $(jq -c .tokens "$gk")"
    [ "$(jc .gpt.generated_text)" = "$(jq -c .text "$gk")" ] || fail "text after $k tokens: $(jc .gpt.generated_text) vs pxi $(jq -c .text "$gk")"
    [ "$(j ".gpt.generated[$((k - 1))].step")" = "${append_steps[$((k - 1))]}" ] ||
        fail "token $k appended at step $(j ".gpt.generated[$((k - 1))].step"), the trace says ${append_steps[$((k - 1))]}"
    [ "$(j .steps)" = "${append_steps[$((k - 1))]}" ] || fail "Next token should stop right after the APPEND"
    cp "$STATE" "$WORK/state$k.json"
done
width=$(identify -format %w "$PROG")
for k in $(seq 1 $N); do convert "$WORK/gen$k.pxi" -depth 8 RGBA:"$WORK/gen$k.rgba"; done
python3 "$WORK/check.py" "$WORK" $N "$logits_row" "$width" || fail "probabilities or candidates (above)"
echo "[${SECONDS}s] $N tokens with N: tokens, text, steps, probabilities and top-10 match pxi and Python"
echo "Next token wall times in pxdbg (ms, the first includes the prefill):$times"

# ---- Shift+N: back one token ----
xdotool key shift+n
wait_for '.gpt.tokens | length' $((T + N - 1))
g9=$WORK/gen$((N - 1)).json
[ "$(jc ".gpt.tokens[$T:]")" = "$(jq -c .tokens "$g9")" ] || fail "back one token: tokens"
[ "$(jc .gpt.generated_text)" = "$(jq -c .text "$g9")" ] || fail "back one token: text $(jc .gpt.generated_text) vs pxi $(jq -c .text "$g9")"
[ "$(j .steps)" = "$((append_steps[N - 1] - 1))" ] || fail "back one token: at step $(j .steps), expected $((append_steps[N - 1] - 1))"
echo "[${SECONDS}s] Shift+N: back to $((N - 1)) tokens at step $(j .steps) (text as pxi's)"
xdotool key n
wait_for '.gpt.tokens | length' $((T + N))
[ "$(jc .gpt.generated_text)" = "$(jq -c .text "$GEN")" ] || fail "N again: text"

# ---- Hover a generated token: its tooltip, and a screenshot ----
h=$((T + 2))
read -r hx hy <<<"$(j ".gpt.token_at[$h] | @tsv")"
xdotool mousemove --window "$WIN" "${hx%.*}" "${hy%.*}"
wait_for '.gpt.hovered' $h
screenshot gpt-text.png
echo "[${SECONDS}s] hovered token $h: id $(j ".gpt.tokens[$h]") p $(j ".gpt.generated[2].probability") step $(j ".gpt.generated[2].step")"

# ---- Ctrl+Z: the prompt edit undone ----
xdotool mousemove --window "$WIN" 1500 20
xdotool key ctrl+z
wait_for '.gpt.edits' 0
wait_for '.gpt.prompt_tokens' '[0]'
[ "$(j .image_hash)" = "$(j .loaded_hash)" ] || fail "after undo the image should be the loaded one"
[ "$(j .loaded_hash)" = "$("$PXI" info "$PROG" --json 2>/dev/null | jq -r '.hash // empty' || true)" ] || true
echo "[${SECONDS}s] PASS"
