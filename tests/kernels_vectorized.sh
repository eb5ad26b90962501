#!/usr/bin/env bash
# kernels_vectorized.sh — the optimized CPU executor's hot loops are vectorized in the build that
# ships (ctest: kernels_vectorized). Their speed rests on the auto-vectorizer, which GCC 12 at -O2
# leaves alone for these loops: engine/CMakeLists.txt gives every file with PX_CLONES kernels -O3.
# When cpu_gemm.cpp was split out of cpu_fast.cpp it lost that, and its integer GEMM ran scalar,
# 14x slower, with every test still passing (speed is not a test's to assert; the instructions are).
#
#   kernels_vectorized.sh LIBPXENGINE [debug|optimized]
#
# For each KERNEL:INSTRUCTION below, the KERNEL's AVX2 clone ([clone .avx2]) in the library must
# contain INSTRUCTION (kernels written with intrinsics, as fmath_vec.cpp's, need no check). Exit
# 77 (skipped) for a debug build, when objdump is missing, or when the library has no AVX2 clones
# (a build for another architecture).
set -euo pipefail
LIB=$1
[ "${2:-optimized}" = debug ] && { echo "SKIP: a Debug build is not optimized"; exit 77; }
command -v objdump >/dev/null || { echo "SKIP: no objdump"; exit 77; }
asm=$(objdump -d --no-show-raw-insn -C "$LIB")
grep -q 'clone \.avx2\]>:$' <<<"$asm" || { echo "SKIP: no AVX2 clones in $LIB"; exit 77; }
fail=0
for want in dot_2x2:vpmaddwd dot_1x1:vpmaddwd qscores:vpmaddwd qweighted_sum:ymm fmatmul_row:ymm \
    axpy_u8:ymm gather_r_run:ymm r_run_differs:ymm qadd_run:ymm; do
    kernel=${want%%:*} insn=${want#*:}
    n=$(awk -v k="$kernel" -v i="$insn" '
        /^[0-9a-f]+ <.*>:$/ { inside = index($0, "::" k "(") > 0 && $0 ~ /clone \.avx2\]>:$/; if (inside) found = 1; next }
        inside && index($0, i) { c++ }
        END { print found ? c + 0 : -1 }' <<<"$asm")
    if [ "$n" = -1 ]; then
        echo "FAIL: $kernel has no AVX2 clone in $LIB"
        fail=1
    elif [ "$n" = 0 ]; then
        echo "FAIL: $kernel's AVX2 clone has no $insn: not vectorized (is its file compiled with -O3?)"
        fail=1
    else
        echo "$kernel [avx2]: $n $insn"
    fi
done
[ $fail = 0 ] && echo PASS
exit $fail
