#!/usr/bin/env bash
# pxdbg_gui_attention.sh — pxdbg's Attention window on a tiny GPT program, driven in a real X window
# (ctest: pxdbg_gui_attention): a prompt typed, three Next tokens, layer 0 and layer 1 (a click on the
# layer button), a hovered and a clicked cell of the full map, a click on a head's strip.
#
#   pxdbg_gui_attention.sh PXDBG PXI WORKDIR SOURCE_DIR
#
# Every probability the state file shows ("gpt"."attention"."p", the hovered cell) is checked
# against a NumPy float64 forward pass of the same weights over the same tokens
# (tests/gpt_reference.py, max abs error 1e-4, rows summing to 1) and against `pxi attention` (the
# same engine function reached through a different history: equal). The clicked cell's "go to"
# pixels are computed here from the key cache's row and PROTOCOL.md's element layout.
# The Model window ("gpt"."overview"): the tree's groups, and every weight region's shape, type and
# statistics (min, max, mean, std) against NumPy on the region read from the PNG by
# gpt_reference.py (not pxOS code); a click on a leaf selects its region, and the picture's centre
# and range are 0 and max |w|.
# Breakpoints: "Break at layer 1 head 1" and the Model window's "Break on write" on layer 1's key
# cache; F5 stops after the APPEND and then before the FATTENTION whose pcs `pxi info` lists, and
# the Attention window comes back to layer 1, head 1.
# Exit 77 (skipped) only when Xvfb, xdotool, jq or python3 with NumPy is missing.
set -euo pipefail

if [ "${1:-}" != "--inner" ]; then
    for tool in xdotool Xvfb jq python3; do
        command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
    done
    PY=python3 # the system Python has NumPy where a pyenv one may not (tests/gpt_ref.cmake uses it too)
    [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import numpy" 2>/dev/null && PY=/usr/bin/python3
    "$PY" -c "import numpy" 2>/dev/null || { echo "SKIP: NumPy missing"; exit 77; }
    export PXOS_NUMPY_PYTHON=$PY
    export LIBGL_ALWAYS_SOFTWARE=1
    exec bash "$(dirname "$0")/with_xvfb.sh" 1600x1000x24 bash "$0" --inner "$@"
fi
shift
PXDBG=$1 PXI=$2 WORK=$3 SRC=$4 PY=$PXOS_NUMPY_PYTHON
rm -rf "$WORK" && mkdir -p "$WORK"
STATE=$WORK/state.json SHOT=$WORK/screen.png LOG=$WORK/pxdbg.log
PROMPT="The quick fox"
N=3
# shellcheck source=tests/pxdbg_gui_lib.sh
source "$SRC/tests/pxdbg_gui_lib.sh"
fail_extra() { echo "--- attention state:"; jq -c .gpt.attention "$STATE" 2>/dev/null | cut -c1-3000 || true; }

echo "[${SECONDS}s] fixture"; python3 "$SRC/tests/gpt_tiny_fixture.py" "$WORK/m" 300 11
"$PXI" tokenizer train --text "$SRC/tests/data/tokenizer_sample.txt" --vocab 300 -o "$WORK/tok.pxi" >/dev/null
"$PXI" gpt --weights "$WORK/m.npz" --config "$WORK/m.json" --tokenizer "$WORK/tok.pxi" --max-new-tokens $N \
    -o "$WORK/m.pxi" >/dev/null
PROG=$WORK/m.pxi
"$PXI" attention "$PROG" --prompt "$PROMPT" --tokens $N >"$WORK/cli.json"
T=$(jq '.prompt_tokens | length' "$WORK/cli.json")
LEN=$((T + N - 1))
width=$("$PXI" info "$PROG" | awk '$1 == "width" { print $2; exit }')
[ -n "$width" ] || width=$(python3 -c "import struct,sys; d=open(sys.argv[1],'rb').read(); print(struct.unpack('>I', d[16:20])[0])" "$PROG")

# check.py STATE LAYER: the state file's probabilities of LAYER against NumPy and pxi attention.
cat >"$WORK/check.py" <<'PY'
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[4])
import gpt_reference as R
st = json.load(open(sys.argv[1]))["gpt"]
layer, work = int(sys.argv[2]), sys.argv[3]
a = st["attention"]
assert a["layer"] == layer, a["layer"]
cli = json.load(open(work + "/cli.json"))
assert st["tokens"] == cli["tokens"], (st["tokens"], cli["tokens"])
w, cfg = R.load_model(work + "/m.npz", work + "/m.json")
ref = []
R.forward(w, cfg, cli["tokens"][:a["length"]], attention=ref)
assert a["p"] == cli["layers"][layer]["p"], "the window's probabilities differ from pxi attention's"
worst = 0.0
for h, rows in enumerate(a["p"]):
    for t, row in enumerate(rows):
        assert len(row) == t + 1, (h, t, len(row))
        err = float(np.max(np.abs(np.array(row) - ref[layer][h, t, :t + 1])))
        assert err <= 1e-4, "layer %d head %d query %d: error %g" % (layer, h, t, err)
        assert abs(sum(row) - 1) <= 1e-5, (h, t, sum(row))
        worst = max(worst, err)
hv = a["hovered"]
if hv is not None:
    assert hv["p"] == a["p"][hv["head"]][hv["query"]][hv["key"]]
    assert hv["query_id"] == st["tokens"][hv["query"]] and hv["key_id"] == st["tokens"][hv["key"]]
print("layer %d: %d heads x %d positions, max abs error against NumPy %.3g" % (layer, len(a["p"]), a["length"], worst))
PY

echo "[${SECONDS}s] start"; start "$PROG"; echo "[${SECONDS}s] started"
wait_for '.gpt.attention.show' true
set_prompt "$PROMPT"
wait_for '.gpt.prompt_tokens' "$(jq -c .prompt_tokens "$WORK/cli.json")"
next_tokens "$T" $N
wait_for '.gpt.attention.length' $LEN
wait_for '[.gpt.attention.steps[] | select(. > 0)] | length' $LEN
echo "[${SECONDS}s] tokens done"; "$PY" "$WORK/check.py" "$STATE" 0 "$WORK" "$SRC/tests" || fail "layer 0 (above)"

# ---- Layer 1 by its button ----
read -r lx ly <<<"$(j '.gpt.attention.layer_at[1] | @tsv')"
click_at "$lx" "$ly"
wait_for '.gpt.attention.layer' 1
wait_for '[.gpt.attention.steps[] | select(. > 0)] | length' $LEN
wait_for '.gpt.attention.k_cache_row' "$(jq .layers[1].k_cache_row "$WORK/cli.json")"
"$PY" "$WORK/check.py" "$STATE" 1 "$WORK" "$SRC/tests" || fail "layer 1 (above)"

# ---- Hover and click a cell of the full map (head 0): query LEN-1, key 1 ----
read -r mx my <<<"$(j '.gpt.attention.map_at | @tsv')"
cs=$(j .gpt.attention.map_cell)
q=$((LEN - 1)) key=1
read -r cx cy <<<"$(python3 -c "print($mx + ($key + 0.5) * $cs, $my + ($q + 0.5) * $cs)")"
xdotool mousemove --window "$WIN" "${cx%.*}" "${cy%.*}"
wait_for '.gpt.attention.hovered | [.head, .query, .key]' "[0,$q,$key]"
"$PY" "$WORK/check.py" "$STATE" 1 "$WORK" "$SRC/tests" || fail "hovered cell (above)"
echo "hovered: $(jc .gpt.attention.hovered)"
screenshot gpt-attention.png gpt-attention-tiny.png
xdotool click 1
wait_for '.gpt.attention.clicked | [.head, .query, .key]' "[0,$q,$key]"
row=$(jq .layers[1].k_cache_row "$WORK/cli.json")
d=$(jq .width "$WORK/m.json")
want=$(python3 -c "
w, row, d, key, hd = $width, $row, $d, $key, $d // 2
i0, i1 = key * d, key * d + hd - 1  # head 0: columns 0 .. hd-1 of key row $key
xy = lambda i: (1 + i % (w - 1), row + i // (w - 1))
print('layer1.attn.k_cache [%d, 0..%d] at pixels (%d, %d)..(%d, %d)' % ((key, hd - 1) + xy(i0) + xy(i1)))")
[ "$(j .gpt.attention.clicked_goto)" = "$want" ] || fail "clicked: $(j .gpt.attention.clicked_goto), expected $want"
wait_for '.selected_row' "$row"
echo "clicked: $want (selected row $row)"

# ---- A click on head 1's strip selects head 1 for the map ----
read -r sx sy <<<"$(j '.gpt.attention.strip_at[1] | @tsv')"
read -r sw sh <<<"$(j '.gpt.attention.strip_cell | @tsv')"
click_at "$(python3 -c "print($sx + $sw * 0.5)")" "$(python3 -c "print($sy + $sh * 0.5)")"
wait_for '.gpt.attention.head' 1
wait_for '.gpt.attention.clicked | [.head, .query, .key]' "[1,$q,0]"
# ---- The Model window ----
cat >"$WORK/check_tree.py" <<'PY'
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[3])
import gpt_reference as R
st = json.load(open(sys.argv[1]))["gpt"]["overview"]
prog = sys.argv[2]
tree = st["tree"]
groups = [c["group"] for c in tree["children"]]
assert groups[:3] == ["embedding", "layers", "output"], groups
layers = tree["children"][1]["children"]
assert [l["group"] for l in layers] == ["layer 0", "layer 1"], layers
assert [b["group"] for b in layers[1]["children"]] == ["attention", "mlp"]
leaves = []
def walk(n):
    if "name" in n: leaves.append(n)
    for c in n.get("children", []): walk(c)
walk(tree)
checked = 0
for leaf in leaves:
    name = leaf["name"]
    weight = name in ("wte", "wte_t", "wpe") or name.startswith("ln_f.") or (
        name.startswith("layer") and not name.endswith("_cache"))
    if not weight:
        continue
    v = R.read_region(prog, name)
    s = leaf["stats"]
    assert leaf["type"] == "f32" and leaf["shape"] == list(v.shape if v.ndim == 2 else (1, v.size)), (name, leaf["shape"], v.shape)
    assert s["count"] == v.size and s["min"] == v.min() and s["max"] == v.max(), (name, s, v.min(), v.max())
    assert abs(s["mean"] - v.mean()) <= 1e-12 * max(1, abs(v.mean())), (name, s["mean"], v.mean())
    assert abs(s["std"] - v.std()) <= 1e-12 * max(1, v.std()), (name, s["std"], v.std())
    checked += 1
assert checked >= 3 + 2 + 2 * 16, checked
if len(sys.argv) > 4:
    v = R.read_region(prog, sys.argv[4])
    pic = st["picture"]
    assert pic["centre"] == 0 and pic["half_range"] == float(np.max(np.abs(v))), (pic, np.max(np.abs(v)))
    assert [pic["h"], pic["w"]] == list(v.shape), pic
print("overview: %d weight regions' statistics match NumPy" % checked)
PY
"$PY" "$WORK/check_tree.py" "$STATE" "$PROG" "$SRC/tests" || fail "overview (above)"
read -r tx ty <<<"$(j '.gpt.overview.node_at.wpe | @tsv')"
click_at "$tx" "$ty"
wait_for '.gpt.overview.clicked' '"wpe"'
wait_for '.selected_row' "$("$PXI" info "$PROG" | awk '$1 == "wpe" && $2 == "row" { print $3 }')"
wait_for '.gpt.overview.picture != null' true
"$PY" "$WORK/check_tree.py" "$STATE" "$PROG" "$SRC/tests" wpe || fail "overview picture (above)"

# ---- Breakpoints: "layer 1 head 1" (Attention window) and a watch on layer 1's key cache (Model
# window's Break on write). The pcs they must stop at come from `pxi info` (the CLI's listing of
# the prefill pass): the APPEND into layer1.attn.k_cache and the FATTENTION that reads it.
"$PXI" info "$PROG" --json >"$WORK/info.json"
pc_of() { jq "[.instructions[] | select(.text | test(\"$1\"))][0].pc" "$WORK/info.json"; }
append_pc=$(pc_of '^APPEND .*layer1[.]attn[.]k_cache')
att_pc=$(pc_of '^FATTENTION .*layer1[.]attn[.]k_cache')
[ "$append_pc" != null ] && [ "$att_pc" != null ] || fail "pxi info lists no APPEND or FATTENTION on layer1.attn.k_cache"
wait_for '.gpt.attention | [.layer, .head]' '[1,1]'
read -r bx by <<<"$(j '.gpt.attention.break_at | @tsv')"
click_at "$bx" "$by"
wait_for '.layer_breakpoints | map(.label)' '["layer 1 head 1"]'
[ "$(j '.layer_breakpoints[0].pcs[0]')" = "$att_pc" ] || fail "layer 1's first pc $(jc .layer_breakpoints), pxi info: $att_pc"
# A click on the map (head 1) selects layer 1's key cache; the Model window watches it.
read -r mx my <<<"$(j '.gpt.attention.map_at | @tsv')"
cs=$(j .gpt.attention.map_cell)
click_at "$(python3 -c "print($mx + 0.5 * $cs)")" "$(python3 -c "print($my + ($q + 0.5) * $cs)")"
wait_for '.gpt.attention.clicked | [.head, .query, .key]' "[1,$q,0]"
wait_for '.selected_row' "$row"
read -r wx wy <<<"$(j '.gpt.overview.watch_at | @tsv')"
click_at "$wx" "$wy"
wait_for '.watches' "[{\"name\":\"layer1.attn.k_cache\",\"row\":$row}]"
# Show layer 0, head 0, so that the stop has to bring back layer 1 and head 1.
read -r lx ly <<<"$(j '.gpt.attention.layer_at[0] | @tsv')"
click_at "$lx" "$ly"
wait_for '.gpt.attention.layer' 0
wait_for '[.gpt.attention.steps[] | select(. > 0)] | length' $LEN
read -r sx sy <<<"$(j '.gpt.attention.strip_at[0] | @tsv')"
click_at "$(python3 -c "print($sx + $sw * 0.5)")" "$(python3 -c "print($sy + $sh * 0.5)")"
wait_for '.gpt.attention.head' 0
xdotool mousemove --window "$WIN" 1500 20
xdotool key ctrl+r
wait_for '.steps' 0
xdotool key F5
wait_for '.stopped' '"watched region written"'
[ "$(j .watch_hit)" = "$row" ] || fail "watch hit $(j .watch_hit), expected row $row"
j .stop_note | grep -Eq "^step [0-9]+ \(pc $append_pc\) wrote layer1[.]attn[.]k_cache$" ||
    fail "watch stop: '$(j .stop_note)', expected the APPEND at pc $append_pc"
echo "watch: $(j .stop_note)"
xdotool key F5
wait_for '.stopped' '"layer breakpoint hit"'
[ "$(j .pc)" = "$att_pc" ] || fail "layer breakpoint at pc $(j .pc), pxi info: FATTENTION at $att_pc"
wait_for '.layer_hit' '{"head":1,"layer":1}'
wait_for '.gpt.attention | [.layer, .head]' '[1,1]'
echo "layer breakpoint: $(j .stop_note)"
echo "[${SECONDS}s] PASS"
