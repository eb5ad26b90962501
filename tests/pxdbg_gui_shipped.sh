#!/usr/bin/env bash
# pxdbg_gui_shipped.sh — the shipped uint8 model (assets/gpt_brown.pxi) in pxdbg, its float32 program
# beside it (--reference assets/gpt_brown_f32.pxi), driven in a real X window (ctest:
# pxdbg_gui_shipped, issue 16's "done when"): a prompt and sampling settings typed (seed 7,
# temperature 0.8, top-k 40, presence penalty 2 over the last 32 tokens), ten Next tokens (N), the
# text against `pxi generate` for the same prompt and settings, the candidates' probabilities
# (softmax and SAMPLE's odds) against NumPy, a hovered token, the attention maps and the
# quantization lens against `pxi attention` and `pxi lens`, one Back one token (the text shrinks).
# With PXDBG_SHOTS set, the screenshots go there too (docs/screenshots/).
#
#   pxdbg_gui_shipped.sh PXDBG PXI WORKDIR SOURCE_DIR
#
# Prints the wall time of every Next token and the frame time (the figures of the closing note).
# Exit 77 (skipped) only when Xvfb, xdotool, jq or python3 is missing.
set -euo pipefail

# shellcheck source=tests/pxdbg_gui_lib.sh
source "$(dirname "$0")/pxdbg_gui_lib.sh"
[ "${1:-}" = "--inner" ] || under_xvfb "$0" xdotool Xvfb jq python3 -- "$@"
shift
PXDBG=$1 PXI=$2 WORK=$3 SRC=$4
rm -rf "$WORK" && mkdir -p "$WORK"
STATE=$WORK/state.json SHOT=$WORK/screen.png LOG=$WORK/pxdbg.log
PROG=$SRC/assets/gpt_brown.pxi REF=$SRC/assets/gpt_brown_f32.pxi
PROMPT="She looked at him and"
N=10
SAMPLING=(--seed 7 --temperature 0.8 --top-k 40 --presence-penalty 2 --penalty-window 32)
fail_extra() { echo "--- gpt state:"; jq -c '.gpt | del(.attention, .overview, .lens)' "$STATE" 2>/dev/null | cut -c1-3000 || true; }

"$PXI" generate "$PROG" --prompt "$PROMPT" --tokens $N "${SAMPLING[@]}" --json -o "$WORK/generated.pxi" \
    >"$WORK/generate.json"
"$PXI" lens "$PROG" --reference "$REF" --prompt "$PROMPT" --tokens $N "${SAMPLING[@]}" --values --top 10 \
    >"$WORK/lens.json"
"$PXI" attention "$PROG" --prompt "$PROMPT" --tokens $N "${SAMPLING[@]}" >"$WORK/attention.json"
T=$(jq '.prompt_tokens | length' "$WORK/generate.json")
LAYERS=$(jq '.layers | length' "$WORK/attention.json")

echo "[${SECONDS}s] start"
start "$PROG" --reference "$REF"
wait_for '.gpt.lens.reference' "$(jq -c -n --arg p "$REF" '$p')"
set_setting new_tokens $N
set_setting seed 7
set_setting temperature 0.8 0.800000011920929
set_setting top_k 40
set_setting presence_penalty 2
set_setting penalty_window 32
set_prompt "$PROMPT"
wait_for '.gpt.prompt_tokens' "$(jq -c .prompt_tokens "$WORK/generate.json")"
next_tokens "$T" $N
echo "next token (ms, wall, the optimized CPU executor with the step history): ${NEXT_TOKEN_MS[*]}"
# The text: the state file's against pxi generate's (the same seed, temperature and top-k).
want_text=$(jq -r '.prompt + .text' "$WORK/generate.json")
[ "$(j .gpt.text)" = "$want_text" ] || fail "text $(jc .gpt.text), pxi generate: $want_text"
[ "$(jc .gpt.tokens)" = "$(jq -c '.prompt_tokens + .tokens' "$WORK/generate.json")" ] || fail "tokens differ"
echo "text: $want_text"
# The candidates' probabilities against NumPy on the logits row of pxi generate's final image:
# softmax in double, and SAMPLE's odds (presence penalty 2 over the last 32 tokens, then temperature 0.8 over the 40 largest).
PY=python3
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import numpy" 2>/dev/null && PY=/usr/bin/python3
if "$PY" -c "import numpy" 2>/dev/null; then
    "$PY" - "$STATE" "$WORK/generated.pxi" "$SRC/tests" <<'PY' || fail "candidates (above)"
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[3])
import gpt_reference as R
top = json.load(open(sys.argv[1]))["gpt"]["top"]
x = R.read_region(sys.argv[2], "logits")[-1]
p = np.exp(x - x.max()); p /= p.sum()
# PENALIZE: 2 off each distinct id among the last 32 tokens (the shipped program's own: 2 over 64).
said = {int(t) for t in R.read_region(sys.argv[2], "tokens", "i32")[-32:]}
y = x.astype(np.float32)
for t in said:
    y[t] = y[t] - np.float32(2)
y = y.astype(np.float64)
order = np.argsort(-y, kind="stable")
keep = np.zeros_like(y, dtype=bool); keep[order[:40]] = True
e = np.where(keep, np.exp((y - y.max()) / 0.8), 0.0); q = e / e.sum()
for c in top:
    assert c["logit"] == x[c["id"]], c
    assert abs(c["probability"] - p[c["id"]]) <= 1e-9, (c, p[c["id"]])
    assert abs(c["sample_probability"] - q[c["id"]]) <= 1e-5, (c, q[c["id"]])
print("candidates: softmax and SAMPLE's odds agree with NumPy (%d ids)" % len(top))
PY
fi

# The last layer's attention maps against pxi attention's.
read -r lx ly <<<"$(j ".gpt.attention.layer_at[$((LAYERS - 1))] | @tsv")"
click_at "$lx" "$ly"
wait_for '.gpt.attention.layer' $((LAYERS - 1))
wait_for '.gpt.attention.length' "$(jq ".layers[$((LAYERS - 1))].length" "$WORK/attention.json")"
[ "$(jc .gpt.attention.p)" = "$(jq -c ".layers[$((LAYERS - 1))].p" "$WORK/attention.json")" ] ||
    fail "layer $((LAYERS - 1))'s probabilities differ from pxi attention's"
[ "$(j .gpt.attention.op)" = QATTENTION ] || fail "attention op $(j .gpt.attention.op)"

# The lens on the last layer's residual against pxi lens; hover an element of the difference.
wait_for '.gpt.lens.serial' "$(j .change_serial)"
region=$(j .gpt.lens.region)
python3 "$SRC/tests/pxdbg_lens_check.py" "$STATE" "$WORK/lens.json" "$region" || fail "lens (above)"
read -r px py <<<"$(j '.gpt.lens.picture_at | @tsv')"
cell=$(j .gpt.lens.cell)
read -r hx hy <<<"$(python3 -c "print($px + 40.5 * $cell, $py + 2)")"
xdotool mousemove --window "$WIN" "${hx%.*}" "${hy%.*}"
wait_for '.gpt.lens.hovered | [.row, .col]' '[0,40]'
python3 "$SRC/tests/pxdbg_lens_check.py" "$STATE" "$WORK/lens.json" "$region" || fail "lens hovered (above)"
screenshot gpt-brown-lens.png

# A hovered generated token: its tooltip's id and bytes.
read -r tx ty <<<"$(j ".gpt.token_at[$((T + 2))] | @tsv")"
xdotool mousemove --window "$WIN" "${tx%.*}" "${ty%.*}"
wait_for '.gpt.hovered' $((T + 2))
screenshot gpt-brown-text.png
echo "frame: $(j .frame_ms) ms (the app's frame timer, last frame)"

# Back one token: the text shrinks by the last token.
xdotool mousemove --window "$WIN" 1500 20
xdotool key shift+n
wait_for '.gpt.tokens | length' $((T + N - 1))
wait_for '.gpt.busy' false
[ "$(jc .gpt.tokens)" = "$(jq -c '.prompt_tokens + .tokens[:-1]' "$WORK/generate.json")" ] || fail "after Back one token"
[ ${#want_text} -gt "$(j '.gpt.text | length')" ] || fail "the text did not shrink: $(jc .gpt.text)"
echo "[${SECONDS}s] ok"
