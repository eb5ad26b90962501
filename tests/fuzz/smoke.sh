#!/usr/bin/env bash
# Short fuzz run over every target (CI's smoke run; pass a longer time for a real campaign):
#   tests/fuzz/smoke.sh [SECONDS_PER_TARGET=20] [BUILD_DIR=build-fuzz]
# Seeds: assets, the bad-input corpus, kept regressions. A crash input is copied into
# tests/fuzz/regressions/<target>/ so it becomes a regression test, and the run fails.
set -uo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-20}
build=${2:-build-fuzz}
status=0
for target in png_run asm vm tokenizer float gpt; do
    bin=$build/tests/fuzz/fuzz_$target
    work=$(mktemp -d)
    case $target in
    png_run) cp assets/*.pxi tests/bad_inputs/* tests/fuzz/regressions/png/* "$work" 2>/dev/null ;;
    asm) cp assets/*.pxasm tests/fuzz/regressions/asm/* "$work" 2>/dev/null ;;
    vm) cp tests/fuzz/seeds/vm/* tests/fuzz/regressions/vm/* "$work" 2>/dev/null ;;
    tokenizer) cp tests/fuzz/seeds/tokenizer/* tests/fuzz/regressions/tokenizer/* "$work" 2>/dev/null ;;
    float) cp tests/fuzz/seeds/float/* tests/fuzz/regressions/float/* "$work" 2>/dev/null ;;
    gpt) cp tests/fuzz/seeds/gpt/* tests/fuzz/regressions/gpt/* "$work" 2>/dev/null ;;
    esac
    rm -f "$work/.keep" "$work"/*.json "$work"/*.md "$work"/*.py
    artifacts=$(mktemp -d)
    echo "fuzz: $target for ${secs}s"
    if ! "$bin" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
        -artifact_prefix="$artifacts/" -print_final_stats=1 "$work" 2>"$artifacts/log"; then
        status=1
        dest=tests/fuzz/regressions/${target%_run}
        cp "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-* "$dest"/ 2>/dev/null
        echo "fuzz: $target FOUND A CRASH, inputs kept in $dest"; tail -40 "$artifacts/log"
    fi
    grep -E "stat::number_of_executed_units|cov:" "$artifacts/log" | tail -2
    rm -rf "$work" "$artifacts"
done
exit $status
