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
#
# Long run: PXOS_MONKEY_MINUTES=N replaces SECONDS with N minutes. Run the script itself, not
# through ctest: the test's TIMEOUT property (for CI's 40 s) wins over `ctest --timeout` and would
# stop it after 180 s. E.g. under ASan+UBSan:
#   cmake --preset asan && cmake --build build-asan --target pxdbg
#   PXOS_MONKEY_MINUTES=30 ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
#       bash tests/pxdbg_monkey.sh build-asan/app/pxdbg/pxdbg /tmp/monkey 22 0 assets/pixellm.pxi
# PXOS_MONKEY_SEED=S changes the seed the same way.
set -euo pipefail

if [ "${1:-}" != "--inner" ]; then
    for tool in xdotool Xvfb convert python3; do
        command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
    done
    export LIBGL_ALWAYS_SOFTWARE=1
    # A private Xvfb that is gone when the test ends (tests/with_xvfb.sh says why not xvfb-run).
    exec bash "$(dirname "$0")/with_xvfb.sh" 1600x1000x24 bash "$0" --inner "$@"
fi
shift
PXDBG=$1 WORK=$2 SEED=${PXOS_MONKEY_SEED:-$3} SECONDS_=$4 PROGRAM=$5
[ -n "${PXOS_MONKEY_MINUTES:-}" ] && SECONDS_=$((PXOS_MONKEY_MINUTES * 60))
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(dirname "$HERE")
rm -rf "$WORK" && mkdir -p "$WORK/scratch"
S=$WORK/scratch
cp "$PROGRAM" "$S/input.pxi"
cp "$SRC/assets/add_relu.pxi" "$S/add_relu.pxi"
# The shipped language model: Next token (n), back one token (Shift+N), a prompt typed after Ctrl+P
# and its undo (Ctrl+Z) run the generation loop, QATTENTION and SAMPLE under the monkey.
cp "$SRC/assets/gpt_brown.pxi" "$S/gpt_brown.pxi"
head -c 300 "$PROGRAM" >"$S/truncated.pxi"
head -c 4096 /dev/urandom >"$S/noise.pxi"
: >"$S/empty.pxi"
convert "$SRC/assets/add_relu.pxi" -alpha off "PNG24:$S/rgb.png"
convert "$SRC/assets/add_relu.pxi" -depth 16 "PNG64:$S/deep16.png"
# The bad-input corpus (tests/bad_inputs: bad CRCs, huge claimed sizes, 16385 wide, traps ...).
for f in "$SRC"/tests/bad_inputs/*.pxi; do cp "$f" "$S/bad_$(basename "$f")"; done
# A float program on hostile words: FMATMUL (bias, GELU) then FADD and FMUL in place, over NaN
# payloads, infinities, subnormals and -0, and one with a reserved dtype code (a trap).
python3 - "$S" <<'PY'
import struct, sys, zlib
def png(path, w, pixels):
    rows = [pixels[i:i + w] for i in range(0, len(pixels), w)]
    raw = b"".join(b"\0" + b"".join(bytes(p) for p in r) for r in rows)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, len(rows), 8, 6, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
def word(u): return [u & 255, u >> 8 & 255, u >> 16 & 255, u >> 24 & 255]
def header(cols, rows): return [cols & 255, cols >> 8, rows & 255, rows >> 8]
W = 9
hostile = [0x7FC12345, 0x7F800000, 0xFF800000, 0x00000001, 0x80000000, 0x3F800000, 0x7F7FFFFF, 0xFFFFFFFF]
for name, dtype_b in (("float_hostile.pxi", 1), ("float_bad_dtype.pxi", 7)):
    img = [[0, 0, 0, 0] for _ in range(W * 6)]
    prog = [[12, 1, 2, 4], [1, dtype_b, 1, 0], [3, 0, 2, 0], [13, 4, 3, 4], [1, 1, 1, 0], [14, 4, 4, 4], [1, 1, 1, 0]]
    img[0:len(prog)] = prog
    for row, (cols, rows) in zip((1, 2, 3, 4), ((4, 2), (4, 4), (4, 1), (4, 2))):
        img[row * W] = header(cols, rows)
        for i in range(cols * rows):
            y, x = row + i // (W - 1), 1 + i % (W - 1)
            img[y * W + x] = word(hostile[(i * 3 + row) % len(hostile)])
    png(sys.argv[1] + "/" + name, W, img)
PY

# As root, pxdbg runs as nobody, owner of the scratch folder and of nothing else it could reach
# (tests/pxdbg_monkey.py says why). Without root it runs as the caller; the check below still holds.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v runuser >/dev/null; then
    chown -R nobody "$S"
    export PXOS_MONKEY_USER=nobody
fi

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
if grep -q -i -E "assert|abort|segmentation|sanitizer|runtime error" "$WORK/pxdbg.log"; then
    echo "FAIL: pxdbg's log:"
    tail -20 "$WORK/pxdbg.log"
    status=1
fi
echo "files pxdbg wrote in scratch: $(cd "$S" && ls | grep -v -x -E 'input.pxi|add_relu.pxi|truncated.pxi|noise.pxi|empty.pxi|rgb.png|deep16.png|gpt_brown.pxi|bad_.*|float_.*' | tr '\n' ' ')"
[ $status = 0 ] && echo PASS
exit $status
