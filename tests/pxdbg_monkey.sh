#!/usr/bin/env bash
# pxdbg_monkey.sh — a seeded monkey for pxdbg under Xvfb (ctest: pxdbg_monkey; issue 12, issue 18).
#
#   pxdbg_monkey.sh PXDBG WORKDIR SEED SECONDS PROGRAM
#
# Copies PROGRAM and a few hostile files (truncated, not a PNG, RGB, 16-bit, empty) into
# WORKDIR/scratch and runs tests/pxdbg_monkey.py there: random keys, clicks, drags, wheel and
# typing for SECONDS. Passes when pxdbg never died, still answers at the end, logged no assertion,
# and no file outside WORKDIR/scratch changed (the source tree, WORKDIR itself, $HOME).
# Exit 77 (skipped) only when Xvfb or xdotool is missing.
set -euo pipefail

if [ "${1:-}" != "--inner" ]; then
    for tool in xvfb-run xdotool Xvfb convert python3; do
        command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
    done
    export LIBGL_ALWAYS_SOFTWARE=1
    exec xvfb-run -a -s "-screen 0 1600x1000x24" "$0" --inner "$@"
fi
shift
PXDBG=$1 WORK=$2 SEED=$3 SECONDS_=$4 PROGRAM=$5
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(dirname "$HERE")
rm -rf "$WORK" && mkdir -p "$WORK/scratch"
S=$WORK/scratch
cp "$PROGRAM" "$S/input.pxi"
cp "$SRC/assets/add_relu.pxi" "$S/add_relu.pxi"
head -c 300 "$PROGRAM" >"$S/truncated.pxi"
head -c 4096 /dev/urandom >"$S/noise.pxi"
: >"$S/empty.pxi"
convert "$SRC/assets/add_relu.pxi" -alpha off "PNG24:$S/rgb.png"
convert "$SRC/assets/add_relu.pxi" -depth 16 "PNG64:$S/deep16.png"

# Everything outside the scratch folder that pxdbg could touch, as it was.
touch "$WORK/marker"
sleep 1 # mtime granularity
status=0
python3 "$HERE/pxdbg_monkey.py" "$PXDBG" "$S" "$SEED" "$SECONDS_" || status=1

changed=$(find "$SRC" "$WORK" "$HOME" -xdev -newer "$WORK/marker" -type f \
    -not -path "$S/*" -not -path "$WORK/pxdbg.log" -not -path "$SRC/build*" -not -path "$SRC/.git/*" \
    -not -path "$HOME/.*" 2>/dev/null | head -20)
if [ -n "$changed" ]; then
    echo "FAIL: files outside the scratch folder changed:"
    echo "$changed"
    status=1
fi
if grep -q -i -E "assert|abort|segmentation|sanitizer" "$WORK/pxdbg.log"; then
    echo "FAIL: pxdbg's log:"
    tail -20 "$WORK/pxdbg.log"
    status=1
fi
echo "files pxdbg wrote in scratch: $(cd "$S" && ls | grep -v -x -E 'input.pxi|add_relu.pxi|truncated.pxi|noise.pxi|empty.pxi|rgb.png|deep16.png' | tr '\n' ' ')"
[ $status = 0 ] && echo PASS
exit $status
