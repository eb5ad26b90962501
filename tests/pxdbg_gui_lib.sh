# pxdbg_gui_lib.sh — what the GUI tests share (sourced, not run): launching pxdbg in the test's
# Xvfb and focusing its window, reading its state file, waiting for a state, clicking.
#
# The sourcing script sets PXDBG, STATE (the --state-file), SHOT (--screenshot), LOG, and may
# define fail_extra (more to print on failure). start PROGRAM [PXDBG ARGS...] sets PID and WIN.

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

start() {
    rm -f "$STATE"
    "$PXDBG" "$@" --ini "" --width 1600 --height 1000 --state-file "$STATE" --screenshot "$SHOT" >"$LOG" 2>&1 &
    PID=$!
    WIN=$(timeout 60 xdotool search --sync --onlyvisible --name '^pxdbg$' | head -1)
    [ -n "$WIN" ] || fail "no pxdbg window within 60 s"
    for _ in $(seq 1 100); do
        xdotool windowfocus --sync "$WIN" 2>/dev/null && [ "$(xdotool getwindowfocus)" = "$WIN" ] && break
        sleep 0.05
    done
    [ "$(xdotool getwindowfocus)" = "$WIN" ] || fail "could not focus the pxdbg window"
    xdotool mousemove --window "$WIN" 1500 20
    wait_for '.steps' 0
}

click_at() { # x y (window coordinates, floats allowed)
    xdotool mousemove --window "$WIN" "${1%.*}" "${2%.*}"
    sleep 0.1
    xdotool click 1
}

# set_prompt TEXT: Ctrl+P, select all, type, Enter; waits until the field holds it.
set_prompt() {
    xdotool key ctrl+p
    wait_for '.gpt.prompt_field.active' true
    xdotool key ctrl+a
    xdotool type --delay 20 "$1"
    wait_for '.gpt.prompt_field.text' "$(jq -c -n --arg p "$1" '$p')"
    xdotool key Return
}

# screenshot NAME: F12, then the picture copied to $WORK/NAME (and to $PXDBG_SHOTS/NAME when set).
screenshot() {
    local n
    n=$(j .screenshots)
    sleep 0.3
    xdotool key F12
    wait_for '.screenshots' $((n + 1))
    cp "$SHOT" "$WORK/$1"
    if [ -n "${PXDBG_SHOTS:-}" ]; then cp "$SHOT" "$PXDBG_SHOTS/$1"; fi
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
