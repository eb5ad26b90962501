# shellcheck shell=bash
# pxdbg_gui_lib.sh — what the GUI tests share (sourced, not run): launching pxdbg in the test's
# Xvfb and focusing its window, reading its state file, waiting for a state, clicking.
#
# The sourcing script sets PXDBG, STATE (the --state-file), SHOT (--screenshot), LOG, and may
# define fail_extra (more to print on failure). start PROGRAM [PXDBG ARGS...] sets PID and WIN;
# start_with BINARY ... runs another build (pxdbg_fault); launch BINARY ... only opens and focuses
# the window (for pxdbg_gui.sh, which reads the state file without jq).
# Only wait_for, j, jc, set_prompt, type_into, screenshot and set_setting need jq.

PID=
fail() {
    echo "FAIL: $*"
    if declare -F fail_extra >/dev/null; then fail_extra; fi
    echo "--- log:"
    cat "$LOG" 2>/dev/null || true
    exit 1
}
j() { jq -r "$1" "$STATE" 2>/dev/null; }
jc() { jq -c "$1" "$STATE" 2>/dev/null; }
trap '[ -n "$PID" ] && kill $PID 2>/dev/null || true' EXIT

# wait_for JQ VALUE: until the state file's JQ (compact) equals VALUE, asking for a fresh state file
# (Ctrl+Shift+S) now and then; fails after 15 s or when pxdbg exits.
wait_for() {
    for i in $(seq 1 300); do
        kill -0 "$PID" 2>/dev/null || fail "pxdbg exited"
        [ -f "$STATE" ] && [ "$(jc "$1")" = "$2" ] && return 0
        [ $((i % 20)) = 0 ] && xdotool key ctrl+shift+s
        sleep 0.05
    done
    fail "timed out waiting for $1 = $2 (now $(jc "$1"))"
}

# launch BINARY [ARGS...]: BINARY ARGS with the window size, state file and screenshot path (and
# imgui.ini: none unless PXDBG_INI names one), in the background (PID); its window (WIN) found within 60 s and given the input focus (no window
# manager under Xvfb: retried until the window is viewable).
launch() {
    local bin=$1
    shift
    rm -f "$STATE"
    "$bin" "$@" --ini "${PXDBG_INI:-}" --width 1600 --height 1000 --state-file "$STATE" --screenshot "$SHOT" >"$LOG" 2>&1 &
    PID=$!
    # "|| true": under set -e and pipefail a timeout (or head closing the pipe) would end the test
    # here without the log; the check below fails with it.
    WIN=$(timeout 60 xdotool search --sync --onlyvisible --name '^pxdbg$' | head -1) || true
    [ -n "$WIN" ] || fail "no pxdbg window within 60 s"
    for _ in $(seq 1 100); do
        xdotool windowfocus --sync "$WIN" 2>/dev/null && [ "$(xdotool getwindowfocus)" = "$WIN" ] && break
        sleep 0.05
    done
    [ "$(xdotool getwindowfocus)" = "$WIN" ] || fail "could not focus the pxdbg window"
}

# start_with BINARY [ARGS...]: launch, the mouse over the menu bar (no tooltips), the first state.
start_with() {
    launch "$@"
    xdotool mousemove --window "$WIN" 1500 20
    wait_for '.steps' 0
}
start() { start_with "$PXDBG" "$@"; }

click_at() { # x y (window coordinates, floats allowed)
    xdotool mousemove --window "$WIN" "${1%.*}" "${2%.*}"
    sleep 0.1
    xdotool click 1
}

# holds JQ VALUE SECONDS: whether the state file's JQ equals VALUE within SECONDS (no failure).
holds() {
    local i
    for i in $(seq 1 $(($3 * 20))); do
        [ -f "$STATE" ] && [ "$(jc "$1")" = "$2" ] && return 0
        sleep 0.05
    done
    return 1
}

# set_prompt TEXT: Ctrl+P, select all, type, Enter; waits until the field holds it. Ctrl+P is
# pressed again when the field does not take the keyboard: a key that reaches pxdbg in the frame
# another field lets go of it is that field's, not a shortcut.
set_prompt() {
    local k
    for k in 1 2 3 4 5; do
        xdotool key ctrl+p
        holds '.gpt.prompt_field.active' true 2 && break
        xdotool key ctrl+shift+s
    done
    type_into .gpt.prompt_field "$1"
}

# type_into FIELD TEXT: once the state file's FIELD (.path_field, .gpt.prompt_field) has the
# keyboard, select all, type TEXT, wait until FIELD holds all of it, Enter.
type_into() {
    wait_for "$1.active" true
    xdotool key ctrl+a
    xdotool type --delay 20 "$2"
    wait_for "$1.text" "$(jq -c -n --arg p "$2" '$p')"
    xdotool key Return
}

# screenshot NAME [SHOTS_NAME]: F12 after SCREENSHOT_SETTLE seconds (default 0.3: a frame or two),
# then the picture copied to $WORK/NAME (and to $PXDBG_SHOTS/SHOTS_NAME, default NAME, when set).
screenshot() {
    local n
    n=$(j .screenshots)
    sleep "${SCREENSHOT_SETTLE:-0.3}"
    xdotool key F12
    wait_for '.screenshots' $((n + 1))
    cp "$SHOT" "$WORK/$1"
    if [ -n "${PXDBG_SHOTS:-}" ]; then cp "$SHOT" "$PXDBG_SHOTS/${2:-$1}"; fi
}

# set_setting NAME VALUE [AS_STATED]: the Text window's setting field NAME (seed, temperature, top_k,
# new_tokens) clicked, cleared and typed; waits until the state file holds VALUE (or AS_STATED: a
# float32 temperature reads back as its double, 0.8 as 0.800000011920929).
set_setting() {
    local x y
    read -r x y <<<"$(j ".gpt.settings_at.$1 | @tsv")"
    click_at "$x" "$y"
    xdotool key ctrl+a
    xdotool type --delay 20 "$2"
    xdotool key Return
    wait_for ".gpt.settings.$1" "${3:-$2}"
}

# under_xvfb SCRIPT TOOL... -- ARGS...: the outer half of a GUI test: exit 77 (skipped) when a TOOL is
# missing, else run SCRIPT --inner ARGS under a private 1600x1000 Xvfb (tests/with_xvfb.sh says why
# not xvfb-run), software GL. Does not return.
under_xvfb() {
    local script=$1 tool
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        command -v "$1" >/dev/null || { echo "SKIP: $1 not installed"; exit 77; }
        shift
    done
    shift
    export LIBGL_ALWAYS_SOFTWARE=1
    exec bash "$(dirname "$script")/with_xvfb.sh" 1600x1000x24 bash "$script" --inner "$@"
}

# next_tokens FROM N: presses N (Next token) N times, each time until the sequence has grown by one
# from FROM tokens and pxdbg is idle again; each token's wall time (the state's token_ms) is
# appended to NEXT_TOKEN_MS.
NEXT_TOKEN_MS=()
next_tokens() {
    local k
    xdotool mousemove --window "$WIN" 1500 20
    for k in $(seq 1 "$2"); do
        xdotool key n
        wait_for '.gpt.tokens | length' $(($1 + k))
        wait_for '.gpt.busy' false
        NEXT_TOKEN_MS+=("$(j .gpt.token_ms)")
    done
}
