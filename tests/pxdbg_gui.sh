#!/usr/bin/env bash
# pxdbg_gui.sh — drives pxdbg in a real X window with real key events (ctest: pxdbg_gui*).
#
#   pxdbg_gui.sh PXDBG WORKDIR PROGRAM-ARGS...
#
# Runs pxdbg under Xvfb with Mesa llvmpipe, focuses its window with xdotool, then:
#   1. F10 until the state file says halted (each press must add exactly one step),
#   2. Shift+F10 once: pc, steps, status and image hash must be those before the last step,
#   3. F12: the screenshot must exist, be 1600x1000 and not be blank,
#   4. Ctrl+R then F5: continuing from the start must reach the same halted state.
# With PXDBG_GUI_SCENARIO=truth (and PXI=path of pxi) it runs the issue-12 regressions instead
# (every value shown true, no way to lose work): see the "truth" section below.
# Exit 77 (skipped) only when Xvfb or xdotool is missing; every other problem fails.
set -euo pipefail

if [ "${1:-}" != "--inner" ]; then
    for tool in xdotool Xvfb; do
        command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
    done
    export LIBGL_ALWAYS_SOFTWARE=1
    # A private Xvfb that is gone when the test ends (tests/with_xvfb.sh says why not xvfb-run).
    exec bash "$(dirname "$0")/with_xvfb.sh" 1600x1000x24 bash "$0" --inner "$@"
fi
shift
PXDBG=$1 WORK=$2
shift 2
rm -rf "$WORK" && mkdir -p "$WORK"
STATE=$WORK/state.json SHOT=$WORK/screen.png LOG=$WORK/pxdbg.log
if [ "${PXDBG_GUI_SCENARIO:-basic}" = truth ]; then
    # The program is a copy in the scratch folder: the write-policy checks try to overwrite it.
    ORIGINAL=$1
    cp "$ORIGINAL" "$WORK/input.pxi"
    shift
    set -- "$WORK/input.pxi" "$@"
fi

# shellcheck source=tests/pxdbg_gui_lib.sh
source "$(dirname "$0")/pxdbg_gui_lib.sh" # fail, launch (no jq here: field reads the state file)
fail_extra() { echo "--- state:"; cat "$STATE" 2>/dev/null || true; }
field() { sed -n "s/^  \"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$STATE"; }

# Waits until the state file's field $1 differs from $2 (or, with $3 = eq, equals it).
wait_field() {
    local name=$1 value=$2 mode=${3:-ne}
    for _ in $(seq 1 400); do
        kill -0 $PID 2>/dev/null || fail "pxdbg exited"
        if [ -f "$STATE" ]; then
            local now
            now=$(field "$name")
            if [ "$mode" = eq ] && [ "$now" = "$value" ]; then return 0; fi
            if [ "$mode" = ne ] && [ -n "$now" ] && [ "$now" != "$value" ]; then return 0; fi
        fi
        sleep 0.05
    done
    fail "timed out waiting for $name ($mode $value)"
}

launch "$PXDBG" "$@"
xdotool mousemove --window "$WIN" 800 700 # over the inspector, not the program view
wait_field steps 0 eq
[ "$(field status)" = ready ] || fail "not ready after loading"
[ -z "$(field error)" ] || fail "load error: $(field error)"
echo "loaded $(field file): $(field width)x$(field height)"

if [ "${PXDBG_GUI_SCENARIO:-basic}" = truth ]; then
    # shellcheck source=pxdbg_gui_truth.sh
    . "$(dirname "$0")/pxdbg_gui_truth.sh"
    echo PASS
    exit 0
fi

# 0. Wheel zoom over the program view, read back through Ctrl+Shift+S (state on request).
zoom0=$(field zoom)
xdotool mousemove --window "$WIN" 450 350 click 4 click 4 click 4
sleep 0.3
xdotool key ctrl+shift+s
wait_field zoom "$zoom0"
awk -v a="$(field zoom)" -v b="$zoom0" 'BEGIN { exit !(a > b * 1.5) }' || fail "wheel zoom: $zoom0 -> $(field zoom)"
echo "wheel zoom $zoom0 -> $(field zoom)"
xdotool mousemove --window "$WIN" 800 700

# 1. Step to HALT with F10.
steps=0 pcs=() hashes=()
while [ "$(field status)" = ready ]; do
    pcs+=("$(field pc)") hashes+=("$(field image_hash)")
    xdotool key F10
    wait_field steps "$steps"
    steps=$((steps + 1))
    [ "$(field steps)" = "$steps" ] || fail "F10 should add one step: expected $steps, got $(field steps)"
    # Stepping uploads the written rectangles only, never the whole image again.
    uploaded=$(field texels_uploaded)
    [ "$uploaded" -lt $((3 * $(field width) * $(field height))) ] ||
        fail "a step re-uploaded the whole texture ($uploaded texels uploaded so far)"
    [ "$steps" -lt 5000 ] || fail "no HALT after 5000 steps"
done
[ "$(field status)" = halted ] || fail "stopped as $(field status), not halted"
halt_pc=$(field pc) halt_hash=$(field image_hash)
echo "halted after $steps steps at pc $halt_pc, image $halt_hash"

# 2. Step back: once (the state before HALT), then once more (before the last instruction that
# ran before HALT, which usually wrote pixels), each must give exactly the recorded state.
back_to() {
    local k=$1
    xdotool key shift+F10
    wait_field steps "$((k + 1))"
    [ "$(field steps)" = "$k" ] || fail "step back: steps $(field steps), expected $k"
    [ "$(field pc)" = "${pcs[$k]}" ] || fail "step back: pc $(field pc), expected ${pcs[$k]}"
    [ "$(field status)" = ready ] || fail "step back: status $(field status), expected ready"
    [ "$(field image_hash)" = "${hashes[$k]}" ] || fail "step back: image $(field image_hash), expected ${hashes[$k]}"
    echo "stepped back to step $k: pc ${pcs[$k]}, image ${hashes[$k]}"
}
back_to $((steps - 1))
[ "$steps" -ge 2 ] && back_to $((steps - 2))

# 3. Screenshot of the window, not blank.
xdotool key F12
wait_field screenshots 0
[ -s "$SHOT" ] || fail "no screenshot at $SHOT"
info=$(identify -format '%w %h %[fx:standard_deviation]' "$SHOT") || fail "screenshot is not a readable PNG"
read -r w h sd <<<"$info"
[ "$w" = 1600 ] && [ "$h" = 1000 ] || fail "screenshot is ${w}x${h}, expected 1600x1000"
awk -v s="$sd" 'BEGIN { exit !(s > 0.02) }' || fail "screenshot looks blank (standard deviation $sd)"
echo "screenshot ${w}x${h}, standard deviation $sd"

# 4. Reset and continue: the same halted state.
xdotool key ctrl+r
wait_field steps 0 eq
xdotool key F5
wait_field status halted eq
[ "$(field steps)" = "$steps" ] || fail "F5: $(field steps) steps, expected $steps"
[ "$(field image_hash)" = "$halt_hash" ] || fail "F5: image $(field image_hash), expected $halt_hash"
echo "continue (F5) from reset reached the same HALT"

# 5. Breakpoints: F10 once, F9 at the PC reached, Ctrl+R (breakpoints survive a reset), F5 stops
# there, before that instruction runs; F5 again runs on to HALT.
if [ "$steps" -ge 2 ]; then
    xdotool key ctrl+r
    wait_field steps 0 eq
    xdotool key F10
    wait_field steps 1 eq
    bp_pc=$(field pc)
    xdotool key F9
    wait_field breakpoints "[]" ne
    xdotool key ctrl+r
    wait_field steps 0 eq
    xdotool key F5
    wait_field steps 1 eq
    sleep 0.3
    [ "$(field status)" = ready ] && [ "$(field pc)" = "$bp_pc" ] && [ "$(field steps)" = 1 ] ||
        fail "F5 should stop at the breakpoint at pc $bp_pc (status $(field status), pc $(field pc))"
    xdotool key F5
    wait_field status halted eq
    echo "breakpoint at pc $bp_pc stopped F5 after 1 step; F5 again reached HALT"
fi
echo PASS
