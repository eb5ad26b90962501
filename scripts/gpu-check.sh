#!/usr/bin/env bash
# gpu-check.sh — on an NVIDIA machine reached through EGL (no display needed): build the GL
# executor, prove it runs on the NVIDIA driver (not llvmpipe), run the CPU-vs-GL parity suite, the
# pxi compare of every asset, and pxi bench: the GPU table (BENCHMARKS.md, "On a GPU", says what to read).
#   scripts/gpu-check.sh [BUILD_DIR]      (default build-gpu)
# Exit status: 0 all passed; 1 a check failed; 2 no usable NVIDIA OpenGL 4.3 context.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-gpu}
JOBS=$(nproc 2>/dev/null || echo 4)
status=0
step() { printf '\n== %s\n' "$*"; }

step "machine"
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
else
    echo "gpu-check: nvidia-smi not found; this script is meant for an NVIDIA machine" >&2
fi

step "configure and build (GL tests, pxi)"
# PXOS_BENCH_PEERS: pxi bench's peers (oneDNN, OpenBLAS, libtorch) where their packages are
# installed (./dev.sh bench installs them); without them bench reports "not built".
cmake -S . -B "$BUILD" -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=Release -DPXOS_GUI=OFF -DPXOS_BENCH_PEERS=ON \
    >/dev/null || exit 1
targets=(gl_executor_test gl_shaders_test gl_random_test gl_quant_test gl_fmath_test gl_float_random_test
         cpu_fast_test)
for t in pxi pxi-torch-peer; do
    cmake --build "$BUILD" --target help 2>/dev/null | grep -q "\.\.\. $t\$" && targets+=("$t")
done
cmake --build "$BUILD" -j "$JOBS" --target "${targets[@]}" || exit 1

step "renderer"
out=$("$BUILD/tests/gl_executor_test" -tc="a headless context reports its renderer" 2>&1)
rc=$?
echo "$out" | grep -E "renderer:|SKIP" || echo "$out" | tail -5
if [ $rc -eq 77 ]; then
    echo "gpu-check: no OpenGL 4.3 context through EGL" >&2
    exit 2
fi
if echo "$out" | grep -qiE "renderer: .*(llvmpipe|softpipe|swrast)"; then
    echo "gpu-check: EGL gave a software renderer; check the NVIDIA EGL vendor library (libEGL_nvidia, /usr/share/glvnd/egl_vendor.d)" >&2
    status=1
fi

step "float definitions on this GPU: shaders/fmath.glsl bit-identical to engine/numeric/fmath.h"
"$BUILD/tests/gl_fmath_test" || status=1

step "parity suite (ctest -R ^gl_)"
(cd "$BUILD" && ctest -R '^gl_' --output-on-failure) || status=1

step "1000 random float programs per kernel on this GPU: CPU reference vs GL in lockstep (and cpu_fast_test's 1000 vs the fast CPU executor)"
PXOS_FLOAT_PROGRAMS=1000 "$BUILD/tests/gl_float_random_test" || status=1
"$BUILD/tests/cpu_fast_test" -tc="*random float programs*" || status=1

if [ -x "$BUILD/app/pxi" ] && "$BUILD/app/pxi" compare --help >/dev/null 2>&1; then
    step "pxi compare on every asset and on the f32 Pixel-LLM, both kernels"
    shopt -s nullglob
    "$BUILD/app/pxi" pixellm --dtype f32 -o /tmp/gpu-check-pixellm-f32.pxi --force >/dev/null || status=1
    for f in assets/*.pxi /tmp/gpu-check-pixellm-f32.pxi; do
        for k in simple tiled; do
            "$BUILD/app/pxi" compare "$f" --kernel "$k" >/tmp/gpu-check-compare.txt 2>&1 ||
                { status=1; echo "DIVERGES ($k): $f"; }
            tail -1 /tmp/gpu-check-compare.txt
        done
    done
    for f in assets/*.pxi; do
        step "per-instruction GPU time: $f"
        for k in simple tiled; do
            echo "-- kernel $k"
            "$BUILD/app/pxi" run "$f" --executor gl --kernel "$k" --trace || true
        done
    done
fi

if [ -x "$BUILD/app/pxi" ]; then
    # The GPU table: pxi bench on this machine's GL (integer and float32 products, simple vs tiled,
    # each as a fraction of the GPU's own read bandwidth and multiply-add peaks, measured in the
    # same run: limits.gl), the CPU peers beside them, and generation on both GPT programs (gl
    # against cpu and libtorch; Debian's libtorch is CPU-only, so there is no libtorch CUDA
    # figure). Text and JSON go to $OUT (the device tool's folder) or /tmp/gpu-check.
    out=${OUT:-/tmp/gpu-check}
    mkdir -p "$out"
    bench=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=PASSIVE "$BUILD/app/pxi" bench)
    step "benchmarks: pxi bench (tables in $out/bench.txt, JSON in $out/bench.json)"
    "${bench[@]}" --plot "$out/bench-scaling.png" --force >"$out/bench.txt" 2>"$out/bench.log" || status=1
    cat "$out/bench.txt"
    "${bench[@]}" --json >"$out/bench.json" 2>>"$out/bench.log" || status=1
    step "benchmarks: generation on the uint8 program"
    "${bench[@]}" --generation-only --gen-program assets/gpt_brown.pxi >"$out/bench-gen-u8.txt" \
        2>>"$out/bench.log" || status=1
    cat "$out/bench-gen-u8.txt"
else
    step "benchmarks: pxi was not built; skipped"
    status=1
fi

step "result: $([ $status -eq 0 ] && echo PASS || echo FAIL)"
exit $status
