#!/usr/bin/env bash
# pxdbg_gui_faults.sh — pxdbg's writes into a full and a read-only directory, driven in a real X
# window (ctest: pxdbg_gui_faults).
#
#   pxdbg_gui_faults.sh PXDBG SHIM WORKDIR PROGRAM
#
# SHIM (tests/fs_fault_shim.c, preloaded into pxdbg) makes WORKDIR/faulty fail writes as a full
# (ENOSPC) or a read-only (EROFS) file system would, for root too; the mode is read from
# WORKDIR/fault at each call, so the test turns the fault on and off while pxdbg runs. In each mode:
#   1. Save image as (Ctrl+S) onto an existing file there, replace confirmed: "save failed: ..."
#   2. Export view (Ctrl+E) and Export matrix (Ctrl+M, the matrix at row 3 in the inspector) onto
#      existing PNGs there, replace confirmed: "export failed: ..."
#   3. Screenshot (F12, --screenshot there): "screenshot failed: ..."
#   4. The state file (--state-file there, a second pxdbg): "could not write ...", once the fault
#      is gone and the state file can say so.
#   5. imgui.ini (--ini there, a third pxdbg): a program opened (Ctrl+O) adds a recent file, which
#      Dear ImGui saves seconds later: "settings not saved: ..."; then SIGTERM, whose orderly exit
#      saves it again: "pxdbg: settings not saved: ..." on stderr and exit status 1. Without the
#      fault the exit saves it (the recent file in it) with status 0.
# Each time: the status bar message (the state file's "message") names the file and the reason,
# the previous file is byte-identical, no temporary is left, and pxdbg is alive and answers keys.
# Without the fault the same writes succeed (the fault was the cause).
# Exit 77 (skipped) only when Xvfb, xdotool or jq is missing.
set -euo pipefail
if [ "${1:-}" != "--inner" ]; then
    # shellcheck source=tests/pxdbg_gui_lib.sh
    source "$(dirname "$0")/pxdbg_gui_lib.sh"
    under_xvfb "$0" Xvfb xdotool jq -- "$@"
fi
shift
PXDBG=$1 SHIM=$2 WORK=$3 PROG=$4
rm -rf "$WORK" && mkdir -p "$WORK/faulty"
F=$WORK/faulty SWITCH=$WORK/fault
STATE=$WORK/state.json SHOT=$F/shot.png LOG=$WORK/pxdbg.log
# shellcheck source=tests/pxdbg_gui_lib.sh
source "$(dirname "$0")/pxdbg_gui_lib.sh"
fail_extra() {
    echo "--- fault: $(cat "$SWITCH" 2>/dev/null || echo off); $F holds: $(ls -A "$F" | tr '\n' ' ')"
    echo "--- state:" && cat "$STATE" 2>/dev/null || true
}
cp "$PROG" "$WORK/input.pxi"
cp "$(dirname "$0")/../assets/add_relu.pxi" "$F/existing.pxi"
cp "$(dirname "$0")/../assets/add_relu.pxi" "$F/view.png"
cp "$(dirname "$0")/../assets/add_relu.pxi" "$F/matrix.png"
# pxdbg with the shim (and, in a sanitizer build, ASan told that the shim may come first).
FAULTY_PXDBG=(env LD_PRELOAD="$SHIM" PXOS_FS_FAULT="$SWITCH" PXOS_FS_FAULT_DIR="$F"
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$PXDBG")
reason() { [ "$1" = enospc ] && echo "No space left on device" || echo "Read-only file system"; }
sums() { (cd "$F" && ls -A | sort | xargs sha256sum); }

# wait_message PREFIX [REASON]: until the status bar message starts with PREFIX and ends with
# REASON (10 s).
wait_message() {
    for _ in $(seq 1 200); do
        kill -0 "$PID" 2>/dev/null || fail "pxdbg exited"
        case "$(j .message)" in "$1"*"${2:-}") return 0 ;; esac
        sleep 0.05
    done
    fail "timed out waiting for a message '$1...${2:-}' (now: $(j .message))"
}
# replace_via KEY DIALOG PATH: KEY opens DIALOG; PATH typed, the "Replace file?" prompt confirmed.
replace_via() {
    xdotool key "$1"
    wait_for .dialog "\"$2\""
    type_into .path_field "$3"
    wait_for .dialog '"Replace file?"'
    sleep 0.2
    xdotool key Return
    wait_for .dialog '""'
}
# change: a new state (F10, or Ctrl+R once halted); EXPECT_STEPS is what the state file will say.
change() {
    if [ "$(j .status)" = halted ]; then
        EXPECT_STEPS=0 && xdotool key ctrl+r
    else
        EXPECT_STEPS=$(($(j .steps) + 1)) && xdotool key F10
    fi
}
# alive: pxdbg still answers keys.
alive() {
    change
    wait_for .steps "$EXPECT_STEPS"
}

# ---- Save image as, Export view, Screenshot; the state file outside the faulty directory ----
start_with "${FAULTY_PXDBG[@]}" "$WORK/input.pxi" --inspect 3
wait_for '.inspector.rows' 1
xdotool key F12
wait_for .screenshots 1 # the previous screenshot, written without the fault
for mode in enospc erofs; do
    echo "$mode" >"$SWITCH"
    before=$(sums)
    why=$(reason $mode)
    replace_via ctrl+s "Save image as" "$F/existing.pxi"
    wait_message "save failed: $F/existing.pxi: " "$why"
    [ "$(sums)" = "$before" ] || fail "$mode: save changed $F"
    replace_via ctrl+e "Export view as PNG" "$F/view.png"
    wait_message "export failed: $F/view.png: " "$why"
    [ "$(sums)" = "$before" ] || fail "$mode: export view changed $F"
    replace_via ctrl+m "Export matrix as PNG" "$F/matrix.png"
    wait_message "export failed: $F/matrix.png: " "$why"
    [ "$(sums)" = "$before" ] || fail "$mode: export matrix changed $F"
    shots=$(j .screenshots)
    xdotool key F12
    wait_message "screenshot failed: $SHOT: " "$why"
    [ "$(j .screenshots)" = "$shots" ] || fail "$mode: a screenshot counted"
    [ "$(sums)" = "$before" ] || fail "$mode: F12 changed $F"
    alive
    echo "$mode: save, export view, export matrix and screenshot refused by the file system; $F unchanged, pxdbg alive"
done
rm "$SWITCH"
before=$(sums)
replace_via ctrl+s "Save image as" "$F/existing.pxi"
wait_message "saved $F/existing.pxi"
xdotool key F12
wait_message "screenshot saved to $SHOT"
[ "$(sums | grep -c existing.pxi)" = 1 ] && [ "$(sums)" != "$before" ] || fail "without the fault: nothing replaced"
[ "$(ls -A "$F" | grep -c tmp)" = 0 ] || fail "a temporary left in $F"
echo "no fault: save and screenshot replace the files"
kill "$PID" && wait "$PID" 2>/dev/null || true
PID=

# ---- The state file in the faulty directory: a second pxdbg ----
STATE=$F/state.json
start_with "${FAULTY_PXDBG[@]}" "$WORK/input.pxi"
for mode in enospc erofs; do
    before=$(sums)
    echo "$mode" >"$SWITCH"
    sleep 0.3
    change # a new state to write: refused
    sleep 1
    kill -0 "$PID" 2>/dev/null || fail "$mode: pxdbg exited"
    [ "$(sums)" = "$before" ] || fail "$mode: the state file changed (or a temporary was left) under the fault"
    rm "$SWITCH"
    wait_for .steps "$EXPECT_STEPS"
    wait_message "could not write $STATE: " "$(reason $mode)"
    [ "$(ls -A "$F" | grep -c tmp)" = 0 ] || fail "$mode: a temporary left in $F"
    alive
    echo "$mode: the state file kept while the fault lasted, then: $(j .message)"
done
kill "$PID" && wait "$PID" 2>/dev/null || true
PID=

# ---- imgui.ini in the faulty directory: a third pxdbg ----
STATE=$WORK/state.json
INI=$F/imgui.ini
printf '[pxdbg][Recent]\nFile=%s\n' "$WORK/earlier.pxi" >"$INI"
cp "$WORK/input.pxi" "$WORK/other.pxi"
# terminate: SIGTERM, then pxdbg's exit status in RC (its orderly exit saves imgui.ini).
terminate() {
    RC=0
    kill -TERM "$PID"
    wait "$PID" || RC=$?
    PID=
}
for mode in enospc erofs; do
    PXDBG_INI=$INI start_with "${FAULTY_PXDBG[@]}" "$WORK/input.pxi"
    echo "$mode" >"$SWITCH"
    before=$(sums)
    why=$(reason $mode)
    xdotool key ctrl+o
    wait_for .dialog '"Open program"'
    type_into .path_field "$WORK/other.pxi"
    xdotool key Return
    wait_for .dialog '""'
    wait_message "settings not saved: $INI: " "$why" # Dear ImGui asks about 5 s after the change
    [ "$(sums)" = "$before" ] || fail "$mode: imgui.ini changed (or a temporary was left) under the fault"
    alive
    terminate
    [ "$RC" = 1 ] || fail "$mode: exit status $RC after a failed save at exit (want 1)"
    grep -q "^pxdbg: settings not saved: $INI: .*$why\$" "$LOG" || fail "$mode: no 'settings not saved' on stderr"
    [ "$(sums)" = "$before" ] || fail "$mode: imgui.ini changed (or a temporary was left) at exit"
    rm "$SWITCH"
    echo "$mode: imgui.ini kept, the failure said in the status bar and, at exit, on stderr (status 1)"
done
PXDBG_INI=$INI start_with "${FAULTY_PXDBG[@]}" "$WORK/input.pxi"
terminate
[ "$RC" = 0 ] || fail "without the fault: exit status $RC"
grep -q "^File=$WORK/input.pxi\$" "$INI" || fail "without the fault: imgui.ini lacks the recent file: $(cat "$INI")"
grep -q "^File=$WORK/earlier.pxi\$" "$INI" || fail "without the fault: imgui.ini lost the earlier recent file"
[ "$(ls -A "$F" | grep -c tmp)" = 0 ] || fail "a temporary left in $F"
echo "no fault: the exit saves imgui.ini (status 0)"
echo PASS
