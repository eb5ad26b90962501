#!/usr/bin/env bash
# with_xvfb_test.sh — tests/with_xvfb.sh: ten sessions back to back each get a display that answers,
# the command's status comes back, and no Xvfb of ours is left running afterwards (the race that
# broke `xvfb-run -a` between GUI tests: a dying server removing the next one's socket).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
for tool in Xvfb xdotool; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
for i in $(seq 10); do
    geometry=$(bash "$HERE/with_xvfb.sh" 320x200x24 xdotool getdisplaygeometry)
    [ "$geometry" = "320 200" ] || { echo "FAIL: session $i: display geometry '$geometry'"; exit 1; }
done
set +e
bash "$HERE/with_xvfb.sh" 320x200x24 bash -c 'exit 7'
status=$?
set -e
[ $status = 7 ] || { echo "FAIL: the command's status 7 came back as $status"; exit 1; }
# Every server this test started has exited (with_xvfb waits for it).
left=$(pgrep -f -- "Xvfb -displayfd 3 -screen 0 320x200x24" || true)
[ -z "$left" ] || { echo "FAIL: Xvfb still running: $left"; exit 1; }
echo PASS
