#!/usr/bin/env bash
# memory_limits.sh — pxi under a memory limit lower than the work needs (ctest: memory_limits; issue 18).
#
#   memory_limits.sh PXI WORKDIR
#
# A program at the protocol's size limit (16384 x 16384: 1 GiB of pixels) is opened, run,
# validated and assembled by pxi in a shell whose virtual memory is capped at 600 MiB
# (ulimit -v). Each must end with exit status 2 and one line naming the problem (not enough / out of
# memory), write nothing, and never abort or crash. The 16384 x 16384 PNG is written once per build
# folder (zlib, about 1 MiB) and kept. Not run under the sanitizers: ASan reserves terabytes of
# address space, so any ulimit -v stops it before main().
set -uo pipefail
PXI=$1 WORK=$2
mkdir -p "$WORK"
cd "$WORK" || exit 1
LIMIT_KB=600000
status=0

# The program: MATMUL in the top rows of a 16384 x 16384 image, as source and as PNG.
cat >big.pxasm <<'ASM'
.width 16384
.height 16384
matrix A 1x4 [1 2 3 4]
matrix B 4x2 [1 2 3 4 5 6 7 8]
matrix C 1x2 zeros
MATMUL A, B, C
HALT
ASM
if [ ! -s big16384.pxi ]; then
    python3 - <<'PY' || { echo "FAIL: could not write big16384.pxi"; exit 1; }
import struct, zlib
w = h = 16384
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
z = zlib.compressobj(9)
# Row 0: MATMUL 1, 2, 3 then HALT; rows 1-3: A (1x4), B (4x2), C (1x2) headers and elements.
def row(pixels): return b"\0" + b"".join(bytes(p) for p in pixels) + b"\0" * (4 * (w - len(pixels)))
rows = {0: row([(4, 1, 2, 3), (0, 0, 0, 0)]), 1: row([(4, 0, 1, 0)] + [(v, 0, 0, 0) for v in (1, 2, 3, 4)]),
        2: row([(2, 0, 4, 0)] + [(v, 0, 0, 0) for v in range(1, 9)]), 3: row([(2, 0, 1, 0), (0,) * 4, (0,) * 4])}
zero = b"\0" * (4 * w + 1)
idat = b"".join(z.compress(rows.get(y, zero)) for y in range(h)) + z.flush()
with open("big16384.pxi.tmp", "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)) +
            chunk(b"IDAT", idat) + chunk(b"IEND", b""))
import os; os.replace("big16384.pxi.tmp", "big16384.pxi")
PY
fi

# check NAME EXPECTED_OUTPUT -- pxi arguments: under the limit, exit 2, one line, nothing at $out.
check() {
    local name=$1 out=$2
    shift 2
    rm -f "$out"
    (ulimit -v $LIMIT_KB && exec "$PXI" "$@") >"$name.out" 2>"$name.err"
    local rc=$?
    local lines
    lines=$(wc -l <"$name.err")
    if [ $rc -ne 2 ]; then
        echo "FAIL $name: exit status $rc (expected 2; 134 is an abort, 139 a crash)"; status=1
    elif [ "$lines" -ne 1 ] || ! grep -q -E "^pxi: .*(not enough memory|out of memory)" "$name.err"; then
        echo "FAIL $name: expected one 'pxi: ... memory' line, got:"; cat "$name.err"; status=1
    elif [ -n "$out" ] && [ -e "$out" ]; then
        echo "FAIL $name: $out was written"; status=1
    elif ls ./*.tmp* .*.tmp* 2>/dev/null | grep -q .; then
        echo "FAIL $name: a temporary file was left"; status=1
    else
        echo "ok   $name: $(cat "$name.err")"
    fi
}
check asm out_asm.pxi asm big.pxasm -o out_asm.pxi
check run out_run.pxi run big16384.pxi -o out_run.pxi
check run_ref out_ref.pxi run big16384.pxi --executor cpu-ref -o out_ref.pxi
check info "" info big16384.pxi
check validate "" validate big16384.pxi
check disasm out.pxasm disasm big16384.pxi -o out.pxasm
# Without the limit the same program runs (the limit, not the program, made them fail).
if "$PXI" run big16384.pxi -o ok_run.pxi --force >ok.out 2>&1; then
    echo "ok   without the limit: pxi run succeeds"
    rm -f ok_run.pxi
else
    echo "FAIL: without the limit pxi run fails too:"; cat ok.out; status=1
fi
[ $status = 0 ] && echo PASS
exit $status
