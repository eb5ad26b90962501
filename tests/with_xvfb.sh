#!/usr/bin/env bash
# with_xvfb.sh — runs a command under a private Xvfb: the display of the GUI tests.
#
#   with_xvfb.sh WxHxDEPTH COMMAND [ARGS...]
#
# Why not `xvfb-run -a`: it picks a display number by looking for lock files, and its cleanup kills
# Xvfb without waiting for it. When the GUI tests run back to back, the next test's Xvfb can take
# the number of one that is still shutting down, and that one's exit then removes the new server's
# socket: the next client fails with "Failed to open display" (pxdbg_monkey failed so in CI). Here
# Xvfb picks a free number itself (-displayfd: it writes the number once it accepts connections),
# and the script waits for it to exit before returning, so no dying server is left behind.
# Exits with COMMAND's status, or 1 when Xvfb does not start (its log is printed).
set -euo pipefail
screen=$1
shift
dir=$(mktemp -d "${TMPDIR:-/tmp}/pxos-xvfb.XXXXXX")
xpid=
cleanup() {
    if [ -n "$xpid" ]; then
        kill "$xpid" 2>/dev/null || true
        wait "$xpid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
Xvfb -displayfd 3 -screen 0 "$screen" -nolisten tcp 3>"$dir/display" >"$dir/xvfb.log" 2>&1 &
xpid=$!
display=
for _ in $(seq 600); do # up to 60 s
    # The number is complete once its line is: Xvfb writes "N\n" in one go, but read it whole.
    if [ "$(wc -l <"$dir/display")" -ge 1 ]; then
        display=$(head -n 1 "$dir/display")
        break
    fi
    if ! kill -0 "$xpid" 2>/dev/null; then
        echo "with_xvfb: Xvfb exited before it gave a display:" >&2
        cat "$dir/xvfb.log" >&2
        exit 1
    fi
    sleep 0.1
done
if ! [[ "$display" =~ ^[0-9]+$ ]]; then
    echo "with_xvfb: Xvfb gave no display number within 60 s (got '$display'):" >&2
    cat "$dir/xvfb.log" >&2
    exit 1
fi
set +e
DISPLAY=":$display" "$@"
status=$?
set -e
exit "$status"
