#!/usr/bin/env bash
# pxdbg_gui_model.sh — pxdbg's A/B compare, pixel history, go to, reverse execution, weight
# statistics and break on divergence, driven in a real X window (ctest: pxdbg_gui_model).
#
#   pxdbg_gui_model.sh PXDBG PXDBG_FAULT PXI WORKDIR PROGRAM
#
# Every number read from pxdbg's state file (--state-file, key "model") is checked against an
# independent source: `pxi run --trace` (steps, pcs, written rectangles, image hashes), the image
# `pxi run -o` saves read back with ImageMagick (the logit's int32, the weights' statistics) and
# `pxi diff --json` (differing pixels). PXDBG_FAULT is pxdbg built with the test-only GPU fault
# injection (--inject-gpu-fault); the released pxdbg has no such option.
# Screenshots of each mode are left in WORKDIR/shots (and copied to $PXDBG_SHOTS when set).
# Exit 77 (skipped) only when Xvfb, xdotool, jq or ImageMagick is missing.
set -euo pipefail

if [ "${1:-}" != "--inner" ]; then
    for tool in xdotool Xvfb jq convert identify; do
        command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
    done
    export LIBGL_ALWAYS_SOFTWARE=1
    # A private Xvfb that is gone when the test ends (tests/with_xvfb.sh says why not xvfb-run).
    exec bash "$(dirname "$0")/with_xvfb.sh" 1600x1000x24 bash "$0" --inner "$@"
fi
shift
PXDBG=$1 PXDBG_FAULT=$2 PXI=$3 WORK=$4 PROG=$5
rm -rf "$WORK" && mkdir -p "$WORK/shots"
STATE=$WORK/state.json SHOT=$WORK/screen.png LOG=$WORK/pxdbg.log
SCREENSHOT_SETTLE=0.4 # a frame or two: flicker and wipe settle
# shellcheck source=tests/pxdbg_gui_lib.sh
source "$(dirname "$0")/pxdbg_gui_lib.sh"
fail_extra() { echo "--- model state:"; jq .model "$STATE" 2>/dev/null || cat "$STATE" 2>/dev/null || true; }

# ---- The truth, from pxi and ImageMagick ----
"$PXI" run "$PROG" --trace -o "$WORK/out.pxi" >"$WORK/trace.txt"
grep -c '^step=' "$WORK/trace.txt" >/dev/null || fail "no trace from pxi"
# trace_field STEP NAME: a field of the trace line of step STEP.
trace_field() { sed -n "s/^step=$1 .*\b$2=\([^ ]*\).*/\1/p" "$WORK/trace.txt"; }
trace_pc() { sed -n "s/^step=$1 pc=\([0-9]*\) .*/\1/p" "$WORK/trace.txt"; }
trace_op() { sed -n "s/^step=$1 pc=[0-9]* \([A-Z0-9]*\).*/\1/p" "$WORK/trace.txt"; }
total=$(grep -c '^step=' "$WORK/trace.txt")
# pixel X Y FILE: "r g b a" of one pixel.
pixel() { convert "$3" -crop "1x1+$1+$2" +repage -depth 8 RGBA:- | od -An -v -tu1 -w4 | tr -s ' ' | sed 's/^ //'; }
i32() { awk -v r="$1" -v g="$2" -v b="$3" -v a="$4" 'BEGIN { v = r + 256*g + 65536*b + 16777216*a; if (v >= 2147483648) v -= 4294967296; printf "%d\n", v }'; }
# The header row of a region, from pxi info.
region_row() { "$PXI" info "$PROG" | awk -v n="$1" '$1 == n { for (i = 2; i <= NF; ++i) if ($i ~ /^row/) { gsub(/[^0-9]/, "", $(i+1)); print $(i+1); exit } }'; }

stop() { kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; PID=; }
shot() { # shot NAME: F12, then keep the screenshot as shots/NAME.png
    screenshot "shots/$1.png" "$1.png"
    echo "screenshot $1"
}
goto() { # goto TEXT: Ctrl+G, type, Enter; waits until pxdbg has carried it out
    # Waiting for .model.goto.ok alone returned at once after an earlier go-to (it was already
    # true), and the next key could reach the still-focused field under ASan's slower frames.
    local before
    before=$(j '.model.goto.count // 0')
    xdotool key ctrl+g
    sleep 0.3 # the field takes the focus with its text selected: typing replaces it
    xdotool type --delay 20 "$1"
    xdotool key Return
    wait_for '.model.goto.count' $((before + 1))
    [ "$(j .model.goto.ok)" = true ] || fail "go to '$1': $(j .model.goto.text)"
    sleep 0.2 # a margin of a few frames before the next key
}

# ---- 1. Pixel history of one logit, after HALT ----
start_with "$PXDBG" "$PROG" --gpu
xdotool key F5
wait_for '.status' '"halted"'
[ "$(j .steps)" = "$total" ] || fail "halted after $(j .steps) steps, pxi ran $total"
goto 'logits[0, 42]'
lrow=$(region_row logits)
[ -n "$lrow" ] || fail "pxi info names no logits region"
lx=43 ly=$lrow # element 42 of a 1xN matrix at row lrow: x = 1 + 42 (the image is wider than 43)
[ "$(j .model.pixel_history.x)" = "$lx" ] && [ "$(j .model.pixel_history.y)" = "$ly" ] ||
    fail "go to logits[0, 42]: history of ($(j .model.pixel_history.x), $(j .model.pixel_history.y)), expected ($lx, $ly)"
# The step that wrote it, from the trace: the one whose written rectangles hold (lx, ly).
wstep=$(awk -v x="$lx" -v y="$ly" '/^step=/ { split($0, f, "writes="); split(f[2], w, " "); n = split(w[1], rs, ";");
    for (i = 1; i <= n; ++i) { split(rs[i], r, ","); if (x >= r[1] && x < r[1] + r[3] && y >= r[2] && y < r[2] + r[4]) { s = $1; sub("step=", "", s); print s } } }' "$WORK/trace.txt" | tail -1)
[ -n "$wstep" ] || fail "the trace has no step writing ($lx, $ly)"
[ "$(j '.model.pixel_history.writes[-1].step')" = "$wstep" ] || fail "history: last write at step $(j '.model.pixel_history.writes[-1].step'), trace says $wstep"
[ "$(j '.model.pixel_history.writes[-1].opcode')" = "$(trace_op "$wstep")" ] || fail "history opcode $(j '.model.pixel_history.writes[-1].opcode') vs $(trace_op "$wstep")"
[ "$(j '.model.pixel_history.writes[-1].pc')" = "$(trace_pc "$wstep")" ] || fail "history pc"
read -r r g b a <<<"$(pixel "$lx" "$ly" "$WORK/out.pxi")"
want=$(i32 "$r" "$g" "$b" "$a")
[ "$(j .model.pixel_history.type)" = i32 ] || fail "logits should read as i32"
[ "$(j '.model.pixel_history.writes[-1].after_value')" = "$want" ] ||
    fail "logit [0, 42] after its write: pxdbg $(j '.model.pixel_history.writes[-1].after_value'), pxi's output $want"
read -r r g b a <<<"$(pixel "$lx" "$ly" "$PROG")"
[ "$(j '.model.pixel_history.writes[0].before_value')" = "$(i32 "$r" "$g" "$b" "$a")" ] || fail "logit before its first write"
echo "pixel history of logits[0, 42] at ($lx, $ly): step $wstep $(trace_op "$wstep") wrote $want (pxi agrees)"
shot pixel-history-logit

# ---- 2. A/B compare: GPU now (identical), then CPU at step 0 (pxi diff's count) ----
xdotool key w
wait_for '.model.compare.with' '"gpu"'
wait_for '.model.compare.count' 0
xdotool key v
wait_for '.model.compare.with' '"step"'
"$PXI" diff "$PROG" "$WORK/out.pxi" --json >"$WORK/diff.json" || true
want=$(jq -r .differing_pixels "$WORK/diff.json")
wait_for '.model.compare.count' "$want"
sum=$(j '[.model.compare.regions[].count] | add')
[ "$sum" = "$want" ] || fail "per-region counts add to $sum, pxi diff says $want"
[ "$(j '.model.compare.regions[] | select(.name == "logits") | .count')" -gt 0 ] || fail "logits should differ from step 0"
echo "A/B now vs step 0: $want pixels differ (pxi diff agrees), per region adds up"
goto 'logits[0, 42]'
shot ab-wipe
xdotool key m
wait_for '.model.compare.mode' '"flicker"'
shot ab-flicker
xdotool key m
wait_for '.model.compare.mode' '"difference"'
shot ab-difference
xdotool key w
wait_for '.model.compare' null

# ---- 2b. CPU | GPU | difference: unlink the panes (K), zoom the CPU pane alone, lock again (K) ----
xdotool key c
xdotool key k
wait_for '.model.panes_linked' false
z=$(j '.model.pane_zoom[1]')
[ "$(j '.model.pane_zoom[0]')" = "$z" ] && [ "$(j '.zoom')" = "$z" ] || fail "unlinked panes should start at the shared zoom"
xdotool mousemove --window "$WIN" 160 400 click 4 click 4 click 4 # over the CPU pane
sleep 0.3
xdotool mousemove --window "$WIN" 1500 20
for _ in $(seq 1 100); do
    xdotool key ctrl+shift+s
    sleep 0.1
    [ "$(j '.model.pane_zoom[0]')" != "$z" ] && break
done
z0=$(j '.model.pane_zoom[0]')
awk -v a="$z0" -v b="$z" 'BEGIN { exit !(a > b * 1.5) }' || fail "wheel over the unlinked CPU pane: zoom $z -> $z0"
[ "$(j '.model.pane_zoom[1]')" = "$z" ] && [ "$(j '.model.pane_zoom[2]')" = "$z" ] || fail "the other panes moved with the CPU pane"
shot compare-unlinked
xdotool key k
wait_for '.model.panes_linked' true
[ "$(j .zoom)" = "$z0" ] || fail "re-locking should take the CPU pane's zoom $z0, not $(j .zoom)"
xdotool key c
echo "panes unlinked: CPU pane zoomed $z -> $z0 alone; re-locked to it"

# ---- 3. Reverse: to the logit's last change, then reverse-continue to a breakpoint ----
goto 'logits[0, 42]'
xdotool key ctrl+shift+F5
wait_for '.steps' $((wstep - 1))
[ "$(j .model.reverse.change_step)" = "$wstep" ] || fail "reverse to change: step $(j .model.reverse.change_step), expected $wstep"
prev=$((wstep - 1))
want=$(j .loaded_hash)
[ "$prev" -gt 0 ] && want=$(trace_field "$prev" fnv)
[ "$(j .image_hash)" = "$want" ] || fail "after reverse to the change: image $(j .image_hash), trace says $want"
[ "$(j .pc)" = "$(trace_pc "$wstep")" ] || fail "reverse to change: pc $(j .pc), expected the writing instruction's $(trace_pc "$wstep")"
echo "back to the logit's last change: before step $wstep, pc $(j .pc), image as the trace says"
shot reverse-to-change
if [ "$total" -ge 3 ]; then
    xdotool key ctrl+r
    wait_for '.steps' 0
    xdotool key F10
    wait_for '.steps' 1
    bp_pc=$(j .pc)
    xdotool key F9
    xdotool key F5
    wait_for '.status' '"halted"'
    xdotool key shift+F5
    wait_for '.steps' 1
    [ "$(j .pc)" = "$bp_pc" ] || fail "reverse-continue: pc $(j .pc), breakpoint at $bp_pc"
    [ "$(j .image_hash)" = "$(trace_field 1 fnv)" ] || fail "reverse-continue: image $(j .image_hash), trace step 1 $(trace_field 1 fnv)"
    echo "reverse-continue from HALT stopped at the breakpoint (pc $bp_pc, after step 1), image as the trace says"
    shot reverse-continue
    xdotool key shift+F5
    wait_for '.steps' 0
    [ "$(j .image_hash)" = "$(j .loaded_hash)" ] || fail "reverse-continue to the start: image differs from the loaded one"
    j .model.reverse.note | grep -q "no breakpoint behind" || fail "reverse-continue without a breakpoint: $(j .model.reverse.note)"
fi

# ---- 4. Weight statistics of W_out against the image's own bytes ----
goto 'W_out'
xdotool key t
wait_for '.model.stats.count' 131072 # 128 x 1024
wrow=$(region_row W_out)
W=$(identify -format '%w' "$PROG")
# Elements i of W_out: x = 1 + i % (W-1), y = wrow + i / (W-1); full rows then the rest.
full=$((131072 / (W - 1))) rest=$((131072 % (W - 1)))
zp=$(j .model.stats.zero_point)
{ convert "$PROG" -crop "$((W - 1))x$full+1+$wrow" +repage -depth 8 RGBA:-
  [ "$rest" -gt 0 ] && convert "$PROG" -crop "${rest}x1+1+$((wrow + full))" +repage -depth 8 RGBA:-; } |
    od -An -v -tu1 -w4 | awk -v zp="$zp" '{ v = $1; s += v; q += v * v; n++; if (n == 1 || v < lo) lo = v; if (n == 1 || v > hi) hi = v; z += (v == zp) }
        END { m = s / n; printf "%d %.6f %.6f %d %d %d\n", n, m, sqrt(q / n - m * m), lo, hi, z }' >"$WORK/wstats.txt"
read -r n mean std lo hi z <"$WORK/wstats.txt"
[ "$n" = 131072 ] || fail "read $n W_out elements with ImageMagick"
[ "$(j .model.stats.min)" = "$lo" ] && [ "$(j .model.stats.max)" = "$hi" ] || fail "W_out min/max $(j .model.stats.min)/$(j .model.stats.max), bytes say $lo/$hi"
awk -v a="$(j .model.stats.mean)" -v b="$mean" -v c="$(j .model.stats.std)" -v d="$std" \
    'BEGIN { exit !((a - b < 1e-4 && b - a < 1e-4) && (c - d < 1e-3 && d - c < 1e-3)) }' ||
    fail "W_out mean/std $(j .model.stats.mean)/$(j .model.stats.std), bytes say $mean/$std"
awk -v a="$(j .model.stats.zero_point_share)" -v b="$z" 'BEGIN { d = a - b / 131072; exit !(d < 1e-9 && d > -1e-9) }' ||
    fail "zero-point share $(j .model.stats.zero_point_share), bytes say $z / 131072"
[ "$(j '.model.stats.bins | add')" = $((131072 - $(j .model.stats.below) - $(j .model.stats.above))) ] || fail "histogram bins do not add up"
echo "W_out statistics: mean $mean std $std min $lo max $hi, zero point $zp x $z (ImageMagick agrees)"
shot weight-stats
stop

# ---- 5. Break on divergence: a test-only fault flips one GPU byte after the first writing step ----
fstep=$(awk '/^step=/ && !/writes=- / { s = $1; sub("step=", "", s); print s; exit }' "$WORK/trace.txt")
[ -n "$fstep" ] || fail "no step writes anything"
# The fault hits the first pixel of the step's last written rectangle (an element, past the header).
frect=$(trace_field "$fstep" writes)
frect=${frect##*;}
fx=${frect%%,*} rest=${frect#*,} fy=${rest%%,*}
start_with "$PXDBG_FAULT" "$PROG" --gpu --inject-gpu-fault "$fstep,$fx,$fy"
xdotool key F5
wait_for '.model.divergence.step' "$fstep"
[ "$(j .status)" = ready ] || fail "stopped as $(j .status), not ready at the divergence"
[ "$(j .steps)" = "$fstep" ] || fail "stopped after $(j .steps) steps, divergence at $fstep"
[ "$(j .model.divergence.pc)" = "$(trace_pc "$fstep")" ] || fail "divergence pc $(j .model.divergence.pc), trace $(trace_pc "$fstep")"
[ "$(j .model.divergence.opcode)" = "$(trace_op "$fstep")" ] || fail "divergence opcode"
[ "$(j .model.divergence.x)" = "$fx" ] && [ "$(j .model.divergence.y)" = "$fy" ] ||
    fail "divergence pixel ($(j .model.divergence.x), $(j .model.divergence.y)), first written ($fx, $fy)"
[ "$(j .model.divergence.differing)" = 1 ] || fail "one flipped byte should differ, not $(j .model.divergence.differing)"
[ "$(j '.model.divergence.cpu[0]')" = "$(( $(j '.model.divergence.gpu[0]') ^ 1 ))" ] || fail "GPU byte should be the CPU's xor 1"
wait_for '.model.compare.with' '"gpu"'
wait_for '.model.compare.count' 1
[ "$(j .model.compare.mode)" = difference ] || fail "the divergence should open the difference view"
echo "break on divergence: stopped after step $fstep ($(trace_op "$fstep") at pc $(trace_pc "$fstep")), pixel ($fx, $fy)"
shot break-on-divergence
stop
# The released pxdbg has no fault option.
"$PXDBG" --help | grep -q inject-gpu-fault && fail "the release pxdbg offers --inject-gpu-fault"
echo PASS
