#!/usr/bin/env bash
# pxdbg_gui_lens.sh — pxdbg's quantization lens on a tiny uint8 GPT program with its float32
# program beside it (--reference), driven in a real X window (ctest: pxdbg_gui_lens): a prompt
# typed, three Next tokens, the lens on the last layer's residual, another activation chosen from
# the combo, a hovered element, two Back one token, Run 2 tokens.
#
#   pxdbg_gui_lens.sh PXDBG PXI WORKDIR SOURCE_DIR
#
# What the state file ("gpt"."lens") shows is checked against `pxi lens` for the same prompt and
# tokens (positions, statistics, every element through the hovered one, both programs' top-k), and
# `pxi lens` itself is checked against NumPy by the ctest cli_gpt_lens (tests/gpt_reference.py
# lens-check: float64 activations, the image's codes, recomputed statistics).
# Exit 77 (skipped) only when Xvfb, xdotool, jq or python3 is missing.
set -euo pipefail

# shellcheck source=tests/pxdbg_gui_lib.sh
source "$(dirname "$0")/pxdbg_gui_lib.sh"
[ "${1:-}" = "--inner" ] || under_xvfb "$0" xdotool Xvfb jq python3 -- "$@"
shift
PXDBG=$1 PXI=$2 WORK=$3 SRC=$4
rm -rf "$WORK" && mkdir -p "$WORK"
STATE=$WORK/state.json SHOT=$WORK/screen.png LOG=$WORK/pxdbg.log
PROMPT="The quick fox"
N=3
fail_extra() { echo "--- lens state:"; jq -c .gpt.lens "$STATE" 2>/dev/null | cut -c1-3000 || true; }

echo "[${SECONDS}s] fixture"
python3 "$SRC/tests/gpt_tiny_fixture.py" "$WORK/m" 300 11
"$PXI" tokenizer train --text "$SRC/tests/data/tokenizer_sample.txt" --vocab 300 -o "$WORK/tok.pxi" >/dev/null
common=(--weights "$WORK/m.npz" --config "$WORK/m.json" --tokenizer "$WORK/tok.pxi" --max-new-tokens $N)
"$PXI" gpt "${common[@]}" -o "$WORK/m.pxi" >/dev/null
"$PXI" gpt "${common[@]}" --dtype u8 --calibration-windows 4 -o "$WORK/m_u8.pxi" >/dev/null
"$PXI" lens "$WORK/m_u8.pxi" --reference "$WORK/m.pxi" --prompt "$PROMPT" --tokens $N --values --top 10 \
    >"$WORK/cli.json"
T=$(jq '.prompt_tokens | length' "$WORK/cli.json")

echo "[${SECONDS}s] start"
start "$WORK/m_u8.pxi" --reference "$WORK/m.pxi"
wait_for '.gpt.lens.reference' "$(jq -c -n --arg p "$WORK/m.pxi" '$p')"
wait_for '.gpt.lens.region' '"layer1.x_out"'
set_prompt "$PROMPT"
wait_for '.gpt.prompt_tokens' "$(jq -c .prompt_tokens "$WORK/cli.json")"
next_tokens "$T" $N
wait_for '.gpt.tokens' "$(jq -c .tokens "$WORK/cli.json")"
wait_for '.gpt.lens.serial' "$(j .change_serial)"

python3 "$SRC/tests/pxdbg_lens_check.py" "$STATE" "$WORK/cli.json" layer1.x_out || fail "layer1.x_out (above)"

# Hover the difference picture's element [0, 5].
read -r px py <<<"$(j '.gpt.lens.picture_at | @tsv')"
cell=$(j .gpt.lens.cell)
read -r hx hy <<<"$(python3 -c "print($px + 5.5 * $cell, $py + 2)")"
xdotool mousemove --window "$WIN" "${hx%.*}" "${hy%.*}"
wait_for '.gpt.lens.hovered | [.row, .col]' '[0,5]'
python3 "$SRC/tests/pxdbg_lens_check.py" "$STATE" "$WORK/cli.json" layer1.x_out || fail "hovered element (above)"
screenshot gpt-lens-tiny.png

# Another activation: the first layer's attention queries, chosen in the combo.
read -r cx cy <<<"$(j '.gpt.lens.combo_at | @tsv')"
click_at "$cx" "$cy"
wait_for '.gpt.lens.combo_open' true
wait_for '.gpt.lens.item_at | has("layer0.attn.q")' true
read -r ix iy <<<"$(j '.gpt.lens.item_at["layer0.attn.q"] | @tsv')"
click_at "$ix" "$iy"
wait_for '.gpt.lens.region' '"layer0.attn.q"'
wait_for '.gpt.lens.lens.name' '"layer0.attn.q"'
python3 "$SRC/tests/pxdbg_lens_check.py" "$STATE" "$WORK/cli.json" layer0.attn.q || fail "layer0.attn.q (above)"

# Back one token stops before the last pass's APPEND: its activations are still there and still
# belong to the same tokens (the lens must not change). Back once more: the pass before.
xdotool mousemove --window "$WIN" 1500 20
seq_now=$(j .gpt.lens.lens.sequence)
for back in 1 2; do
    xdotool key shift+n
    wait_for '.gpt.tokens | length' $((T + N - back))
    wait_for '.gpt.busy' false
    wait_for '.gpt.lens.serial' "$(j .change_serial)"
    want=$((seq_now - back + 1))
    [ "$(j .gpt.lens.lens.sequence)" = "$want" ] && [ "$(j .gpt.lens.lens.first)" = $((want - 1)) ] ||
        fail "after $back Back one token the lens shows $(jc '.gpt.lens.lens | [.first, .rows, .sequence]'), want sequence $want"
done
python3 - "$STATE" "$WORK/cli.json" <<'PY' || fail "after two Back one token (above)"
import json, sys
st = json.load(open(sys.argv[1]))["gpt"]
cli = json.load(open(sys.argv[2]))
l = st["lens"]["lens"]
assert st["tokens"] == cli["tokens"][:len(st["tokens"])], "the sequence is not a prefix of pxi lens's"
assert l["sequence"] == len(st["tokens"]) and l["rows"] == 1, l
print("after two Back one token: %s at position %d, max |diff| %.6g" % (l["name"], l["first"], l["max_abs"]))
PY
# Run 2 tokens: back to the whole sequence, pxi lens's tokens.
set_setting run_tokens 2
read -r rx ry <<<"$(j '.gpt.settings_at.run | @tsv')"
click_at "$rx" "$ry"
wait_for '.gpt.tokens | length' $((T + N))
wait_for '.gpt.busy' false
[ "$(jc .gpt.tokens)" = "$(jq -c .tokens "$WORK/cli.json")" ] || fail "Run 2 tokens: $(jc .gpt.tokens)"
case "$(j .gpt.note)" in "tokens $((T + N - 1))..$((T + N)) appended"*) ;; *) fail "Run 2 tokens: note $(j .gpt.note)" ;; esac
echo "run 2 tokens: $(j .gpt.note)"
echo "[${SECONDS}s] ok"
