#!/usr/bin/env bash
# pxdbg_gui_write_inputs.sh — pxdbg never writes over the Lens window's float32 program (a loaded
# input like the program itself), driven in a real X window (ctest: pxdbg_gui_write_inputs).
#
#   pxdbg_gui_write_inputs.sh PXDBG PXI WORKDIR SRC
#
# A tiny random GPT (1 layer, width 16, a 300-token tokenizer trained here) as float32 (m.pxi) and uint8
# (m_u8.pxi); pxdbg opens m_u8.pxi with --reference m.pxi and --screenshot m.pxi. Save image as
# (Ctrl+S) and Export view (Ctrl+E) onto m.pxi are refused without a "Replace file?" prompt, F12
# is refused, and m.pxi is byte-identical afterwards (it was replaced after the prompt). A second
# pxdbg with --state-file m.pxi leaves it as it was (it wrote its first state there).
# Exit 77 (skipped) only when Xvfb, xdotool or jq is missing.
set -euo pipefail
if [ "${1:-}" != "--inner" ]; then
    # shellcheck source=tests/pxdbg_gui_lib.sh
    source "$(dirname "$0")/pxdbg_gui_lib.sh"
    under_xvfb "$0" Xvfb xdotool jq -- "$@"
fi
shift
PXDBG=$1 PXI=$2 WORK=$3 SRC=$4
rm -rf "$WORK" && mkdir -p "$WORK"
REF=$WORK/m.pxi
STATE=$WORK/state.json SHOT=$REF LOG=$WORK/pxdbg.log
# shellcheck source=tests/pxdbg_gui_lib.sh
source "$(dirname "$0")/pxdbg_gui_lib.sh"
fail_extra() { echo "--- state:" && jq -c '{message, dialog, lens: .gpt.lens.reference}' "$STATE" 2>/dev/null || true; }

"$PXI" tokenizer train --text "$SRC/tests/data/tokenizer_sample.txt" --vocab 300 -o "$WORK/tok.pxi" >/dev/null
cat >"$WORK/c.json" <<'EOF'
{"model": "gpt", "layers": 1, "width": 16, "heads": 2, "head_width": 8, "context": 40, "vocab": 300,
 "mlp_width": 64, "activation": "gelu_tanh", "layer_norm_eps": 1e-05, "tied_head": true,
 "dtype": "float32", "layout": "y = x @ W + b; W is [in, out]"}
EOF
"$PXI" gpt --random-init 1 --config "$WORK/c.json" --tokenizer "$WORK/tok.pxi" -o "$REF" >/dev/null
"$PXI" gpt --weights "$REF" --dtype u8 --calibration-windows 2 -o "$WORK/m_u8.pxi" >/dev/null
sum=$(sha256sum "$REF")

start "$WORK/m_u8.pxi" --reference "$REF"
wait_for '.gpt.lens.reference' "$(jq -cn --arg p "$REF" '$p')"
# refused KEY DIALOG: KEY's dialog, the reference's path typed: refused at once, no prompt.
refused() {
    xdotool key "$1"
    wait_for .dialog "\"$2\""
    type_into .path_field "$REF"
    wait_for .dialog '""'
    wait_for .message "$(jq -cn --arg p "refused: $REF is the Lens window's float32 program $REF (choose a new name)" '$p')"
    [ "$(sha256sum "$REF")" = "$sum" ] || fail "$2 wrote over the float32 program"
    echo "$2 onto the float32 program: $(j .message)"
}
refused ctrl+s "Save image as"
refused ctrl+e "Export view as PNG"
xdotool key F12
wait_for .message "$(jq -cn --arg p "screenshot refused: $REF is the Lens window's float32 program $REF (choose a new name)" '$p')"
[ "$(sha256sum "$REF")" = "$sum" ] || fail "F12 wrote over the float32 program"
echo "F12 (--screenshot the float32 program): $(j .message)"
kill "$PID" && wait "$PID" 2>/dev/null || true
PID=

# --state-file the float32 program: never written (the Lens window opens it in the first frame).
# (Not launch: it removes the old state file first.)
"$PXDBG" "$WORK/m_u8.pxi" --reference "$REF" --ini "" --width 1600 --height 1000 --state-file "$REF" \
    >"$LOG" 2>&1 &
PID=$!
WIN=$(timeout 60 xdotool search --sync --onlyvisible --name '^pxdbg$' | head -1) || true
[ -n "$WIN" ] || fail "no pxdbg window within 60 s"
sleep 2 # frames drawn, the Lens window opened the float32 program
kill -0 "$PID" 2>/dev/null || fail "pxdbg exited"
[ "$(sha256sum "$REF")" = "$sum" ] || fail "--state-file wrote over the float32 program"
echo "--state-file the float32 program: not written"
echo PASS
