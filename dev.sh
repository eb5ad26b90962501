#!/usr/bin/env bash
# dev.sh — the one entry point for people and CI.
#   ./dev.sh demo [FILE]   install what is missing, build, open pxdbg on FILE (default assets/pixellm.pxi)
#   ./dev.sh test          install what is missing, build, run every test, then again under ASan+UBSan,
#                          then a short fuzz run (what CI runs)
#   ./dev.sh bench         install what is missing and the benchmark peers (oneDNN, OpenBLAS), build,
#                          run pxi bench (table in BENCHMARKS.md; extra arguments go to pxi bench)
#   ./dev.sh deps|build    just that step
# Works as root on a fresh Debian 12 (uses sudo when not root).
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(cmake g++ make pkg-config git libpng-dev libglm-dev doctest-dev nlohmann-json3-dev libcli11-dev
          libimgui-dev libglfw3-dev libepoxy-dev libegl-dev libgl-dev libgl1-mesa-dri libegl-mesa0
          xvfb xauth xdotool x11-apps imagemagick clang libclang-rt-14-dev
          python3 python3-numpy  # python3-numpy: the vector models (tests/vectors/make_*vectors.py)
          liblzma-dev)           # pxi corpus baseline: xz -9
# pxi bench's peers (app/pxi/bench_peers.cpp): only ./dev.sh bench installs them.
BENCH_PACKAGES=(libdnnl-dev libopenblas-dev)
JOBS=$(nproc 2>/dev/null || echo 2)

deps() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "dev.sh: installing ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() { # build PRESET
    cmake --preset "$1" >/dev/null
    cmake --build --preset "$1" -j "$JOBS"
}

case "${1:-}" in
deps) deps ;;
build) deps && build default ;;
demo)
    deps && build default
    file=${2:-assets/pixellm.pxi}
    if [ -x build/app/pxdbg/pxdbg ] && { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; }; then
        exec build/app/pxdbg/pxdbg "$file"
    fi
    [ -x build/app/pxdbg/pxdbg ] && echo "dev.sh: no display; showing the headless run instead (try: xvfb-run ./dev.sh demo)"
    exec build/app/pxi run "$file" -o /tmp/pxos-demo-out.pxi --force
    ;;
test)
    deps
    echo "== 1/3 build and test (RelWithDebInfo)"
    build default
    ctest --preset default -j "$JOBS"
    echo "== 2/3 the whole suite under AddressSanitizer + UndefinedBehaviorSanitizer"
    build asan
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --preset asan -j "$JOBS"
    echo "== 3/3 fuzz smoke run (libFuzzer, 20 s a target)"
    build fuzz
    tests/fuzz/smoke.sh 20 build-fuzz
    ;;
bench)
    deps
    PACKAGES=("${BENCH_PACKAGES[@]}") && deps # the peers, with the same installer
    cmake --preset default -DPXOS_BENCH_PEERS=ON >/dev/null # re-run: finds the peers just installed
    cmake --build --preset default -j "$JOBS" --target pxi
    shift
    # Each peer gets its best setup, for this run only: this machine's environment may force an
    # OpenBLAS core (OPENBLAS_CORETYPE) and cache size, so they are unset (pxi bench names the core
    # OpenBLAS chose); oneDNN's OpenMP threads wait passively, as on any shared machine (spinning
    # threads that lose their core made its medians 10 to 50 times slower here).
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}" \
        build/app/pxi bench --plot docs/bench-scaling.png "$@"
    ;;
*)
    sed -n '2,9p' "$0"
    exit 2
    ;;
esac
