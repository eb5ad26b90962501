# pxdbg_gui_truth.sh — issue 12's regressions, sourced by pxdbg_gui.sh (PXDBG_GUI_SCENARIO=truth)
# once pxdbg runs on $WORK/input.pxi (a copy of the Pixel-LLM) with its window focused. Real X
# events (xdotool) drive it; the state file and the files on disk are checked, and every number
# against an independent reading of the PNG (tests/pxdbg_truth.py, Python's zlib only).
#   bug 1  quick Shift taps and typing in the Open dialog's path field must not abort
#   bug 4  logits (int32 pixels) shown as int32 with their real values, after HALT
#   bug 5  the inspector's "before" pane holds a matrix the last step did not write
#   bug 2  saving or exporting over the loaded program is refused (file unchanged)
#   bug 7  Ctrl+S onto an existing file asks first; Esc keeps the file, Enter replaces it
#   bug 3  the exported view does not contain the export dialog
#   bug 6  an RGB PNG opens with the CLI's warning
#   bug 8  texels_uploaded is current when the state file says a step happened
#   bug 9  characters typed right after Ctrl+A in a path field are kept (were dropped while the
#          held-back Ctrl release still counted as down: the 1-in-5 flake of this test)
#   float  a float32 matrix (NaN, +-inf, -0, a subnormal) and an f16 one in the inspector: type,
#          every value, NaN/inf counts, min/max over the finite values, the diverging range about 0
#          (issue 13), against NumPy on the PNG's bytes
HERE=$(dirname "$0")
INPUT=$WORK/input.pxi
PXI=${PXI:?PXI must name the pxi binary}
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$STATE"; }
sum_of() { sha256sum "$1" | cut -d' ' -f1; }
input_sum=$(sum_of "$INPUT")
wait_dialog() { wait_field dialog "$1" eq; }
# Waits until a Python condition on the state file `d` holds (10 s), else fails with $2
# ($3, if given, is sys.argv[2] in the condition).
wait_json() {
    local end=$((SECONDS + 10))
    while [ $SECONDS -lt $end ]; do
        kill -0 $PID 2>/dev/null || fail "pxdbg exited"
        python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($1) else 1)" "$STATE" \
            "${3:-}" 2>/dev/null && return 0
        sleep 0.05
    done
    fail "$2 (waited for: $1)"
}
# Types a path into the path field of a file dialog, replacing what it holds, and accepts: only
# once the state file says the field has the keyboard, and Enter only once it holds the whole path.
type_path() {
    wait_json 'd["path_field"] and d["path_field"]["active"]' "the path field never took the keyboard"
    xdotool key ctrl+a
    xdotool type --delay 20 "$1"
    wait_json "d['path_field'] and d['path_field']['text'] == sys.argv[2]" "the path field lost keys typed" "$1"
    xdotool key Return
}

# Truth: the logits after a run, read from the PNG by Python.
"$PXI" run "$INPUT" -o "$WORK/halted.pxi" >/dev/null
python3 "$HERE/pxdbg_truth.py" "$WORK/halted.pxi" logits >"$WORK/truth.json"
logits_row=$(python3 -c "import json; print(json.load(open('$WORK/truth.json'))['row'])")

# --- bug 1: quick modifier taps in a text field.
xdotool key ctrl+o
wait_dialog "Open program"
for _ in 1 2 3 4 5 6 7; do xdotool key --delay 0 shift+minus; done
xdotool type --delay 5 "some_file-name_.pxi"
xdotool key ctrl+a shift+Home shift+End
sleep 0.3
kill -0 $PID 2>/dev/null || fail "bug 1: pxdbg died on quick Shift taps in the path field"
xdotool key Escape
wait_dialog ""
echo "bug 1: quick Shift taps, typing and Ctrl+A in the Open dialog: alive"

# --- bug 9: Ctrl+A and typing in one burst (one X event batch): every character arrives.
xdotool key ctrl+o
wait_dialog "Open program"
wait_json 'd["path_field"] and d["path_field"]["active"]' "bug 9: the path field never took the keyboard"
xdotool key --delay 0 ctrl+a type --delay 0 "typed_at_once-9.pxi"
wait_json "d['path_field']['text'] == 'typed_at_once-9.pxi'" "bug 9: keys typed right after Ctrl+A were lost"
xdotool key Escape
wait_dialog ""
echo "bug 9: Ctrl+A then typing at once: every character arrived"

# --- bug 10: Ctrl+A, a name and Enter in quick succession (as the monkey types): Enter comes last,
# so the file named is the one opened (Enter may not overtake characters held back behind Ctrl).
cp "$HERE/../assets/add_relu.pxi" "$WORK/burst.pxi"
xdotool key ctrl+o
wait_dialog "Open program"
wait_json 'd["path_field"] and d["path_field"]["active"]' "bug 10: the path field never took the keyboard"
xdotool key --delay 0 ctrl+a type --delay 0 "$WORK/burst.pxi" # (type takes every word after it)
xdotool key --delay 0 Return
wait_json "d['file'] == sys.argv[2]" "bug 10: Ctrl+A, name, Enter in one burst did not open the file named" \
    "$WORK/burst.pxi"
echo "bug 10: Ctrl+A, a name and Enter in one burst opened $(field file)"
xdotool key ctrl+o
wait_dialog "Open program"
type_path "$INPUT"
wait_field file "$INPUT" eq
wait_field steps 0 eq

# --- bug 4 and 5: click logits in the Regions list (also moves the view there), run to HALT.
pan0=$(json 'd["pan"]')
read -r cx cy < <(json "' '.join(str(int(r[k])) for r in d['regions_list'] if r['row'] == $logits_row for k in ('x', 'y'))")
[ -n "${cx:-}" ] || fail "logits (row $logits_row) not in the Regions list"
xdotool mousemove --window "$WIN" "$cx" "$cy" click 1
wait_field selected_row "$logits_row" eq
xdotool mousemove --window "$WIN" 5 990
sleep 0.3
xdotool key ctrl+shift+s
sleep 0.3
[ "$(json 'd["pan"]')" != "$pan0" ] || fail "clicking logits in the Regions list did not move the view"
xdotool key F5
wait_field status halted eq
sleep 0.3
xdotool key ctrl+shift+s
sleep 0.5
python3 - "$STATE" "$WORK/truth.json" <<'PY' || fail "bug 4: the inspector's logits are not the file's int32 values"
import json, sys
s, t = json.load(open(sys.argv[1]))["inspector"], json.load(open(sys.argv[2]))
assert s is not None, "no matrix in the inspector"
assert s["type"] == "i32", s["type"]
n = len(s["values"])
assert n == 64 and s["values"] == t["int32"][:n], (s["values"][:8], t["int32"][:8])
assert all(abs(a - b) <= 1e-12 + 1e-9 * abs(b) for a, b in zip(s["real"], t["int32_real"][:n])), "real values"
assert s["min"] == min(t["int32"]) and s["max"] == max(t["int32"]), (s["min"], s["max"])
print(f"bug 4: logits[0,42] = {t['int32'][42]} -> {t['int32_real'][42]:.6g} (R byte {t['r_byte'][42]} no longer shown); "
      f"inspector values = file for {n} elements, min {s['min']} max {s['max']}")
# bug 5: HALT wrote nothing: "before the last step" is the matrix, unchanged, not empty.
assert s["before_elements"] == t["rows"] * t["cols"], s["before_elements"]
print(f"bug 5: before-pane holds {s['before_elements']} elements after a step that did not write them")
PY
# The halted image the GUI shows is the CLI's.
[ "$(json 'd["stopped"]')" = "halted (HALT)" ] || fail "disassembly does not say why it stopped: $(json 'd["stopped"]')"

# --- export matrix: logits as their whole int32 pixels, equal to the file's.
xdotool key ctrl+m
wait_dialog "Export matrix as PNG"
type_path "$WORK/logits.png"
for _ in $(seq 1 100); do [ -s "$WORK/logits.png" ] && break; sleep 0.05; done
python3 - "$HERE" "$WORK/logits.png" "$WORK/truth.json" <<'PY' || fail "the exported logits are not the file's int32 pixels"
import json, struct, sys
sys.path.insert(0, sys.argv[1])
from pxdbg_truth import read_png
w, h, rows, _ = read_png(sys.argv[2])
t = json.load(open(sys.argv[3]))
assert (w, h) == (t["cols"], t["rows"]), (w, h)
got = [struct.unpack("<i", rows[0][x * 4 : x * 4 + 4])[0] for x in range(w)]
assert got == t["int32"], "values differ"
print(f"export matrix: logits.png is {w}x{h}, its pixels are the {w} int32 logits")
PY

# --- bug 2: save and export over the loaded program are refused.
xdotool key ctrl+s
wait_dialog "Save image as"
type_path "$INPUT"
wait_dialog ""
sleep 0.3
case "$(json 'd["message"]')" in refused*) ;; *) fail "bug 2: Ctrl+S onto the input: $(json 'd["message"]')" ;; esac
[ "$(sum_of "$INPUT")" = "$input_sum" ] || fail "bug 2: Ctrl+S wrote over the loaded program"
ln -sf "$INPUT" "$WORK/link-to-input.pxi"
xdotool key ctrl+e
wait_dialog "Export view as PNG"
type_path "$WORK/link-to-input.pxi"
wait_dialog ""
sleep 0.5
[ "$(sum_of "$INPUT")" = "$input_sum" ] || fail "bug 2: export view wrote over the loaded program (through a link)"
case "$(json 'd["message"]')" in refused*) ;; *) fail "bug 2: export onto the input: $(json 'd["message"]')" ;; esac
echo "bug 2: save and export view onto the loaded program (also through a link) refused, file unchanged"

# --- bug 7: Ctrl+S onto an existing file asks; Esc keeps it, Enter replaces it (atomically).
cp "$HERE/../assets/add_relu.pxi" "$WORK/existing.pxi"
existing_sum=$(sum_of "$WORK/existing.pxi")
xdotool key ctrl+s
wait_dialog "Save image as"
type_path "$WORK/existing.pxi"
wait_dialog "Replace file?"
[ "$(sum_of "$WORK/existing.pxi")" = "$existing_sum" ] || fail "bug 7: replaced before asking"
xdotool key Escape
wait_dialog ""
[ "$(sum_of "$WORK/existing.pxi")" = "$existing_sum" ] || fail "bug 7: Esc at the prompt still replaced the file"
xdotool key ctrl+s
wait_dialog "Save image as"
type_path "$WORK/existing.pxi"
wait_dialog "Replace file?"
sleep 0.2
xdotool key Return
wait_dialog ""
sleep 0.3
[ "$(sum_of "$WORK/existing.pxi")" != "$existing_sum" ] || fail "bug 7: Enter at the prompt did not replace the file"
"$PXI" run "$WORK/existing.pxi" --json >"$WORK/saved-run.json" 2>&1 || true
[ "$(identify -format '%wx%h' "$WORK/existing.pxi")" = "$(field width)x$(field height)" ] ||
    fail "bug 7: the saved image is not the program's size"
echo "bug 7: Ctrl+S onto an existing file asked; Esc kept it, Enter replaced it with the halted image"

# --- bug 3: the exported view is the view, without the dialog that asked for it.
xdotool key ctrl+e
wait_dialog "Export view as PNG"
type_path "$WORK/view.png"
for _ in $(seq 1 100); do [ -s "$WORK/view.png" ] && break; sleep 0.05; done
[ -s "$WORK/view.png" ] || fail "bug 3: no exported view"
sleep 0.3
shots=$(field screenshots)
xdotool key F12
wait_field screenshots "$shots"
read -r x0 y0 x1 y1 < <(json "' '.join(str(int(v)) for v in d['view_rect'])")
convert "$SHOT" -crop "$((x1 - x0))x$((y1 - y0))+$x0+$y0" +repage "$WORK/view-from-screen.png"
diff_px=$(compare -metric AE "$WORK/view.png" "$WORK/view-from-screen.png" null: 2>&1 || true)
total=$(((x1 - x0) * (y1 - y0)))
[ "${diff_px%%.*}" -lt $((total / 100)) ] ||
    fail "bug 3: exported view differs from the view on screen in $diff_px of $total pixels (dialog drawn in?)"
echo "bug 3: exported view = the view on screen ($diff_px of $total pixels differ)"

# --- bug 8: texels_uploaded is current when the state says a step happened.
xdotool key ctrl+r
wait_field steps 0 eq
sleep 0.3
tex0=$(field texels_uploaded)
xdotool key F10
wait_field steps 1 eq
[ "$(field texels_uploaded)" -gt "$tex0" ] || fail "bug 8: texels_uploaded lags the step ($tex0 -> $(field texels_uploaded))"
echo "bug 8: texels_uploaded $tex0 -> $(field texels_uploaded) in the state of step 1"

# --- bug 6: an RGB PNG opens with the CLI's warning.
convert "$HERE/../assets/add_relu.pxi" -alpha off "PNG24:$WORK/rgb.png"
cli_warning=$({ "$PXI" info "$WORK/rgb.png" 2>&1 >/dev/null || true; } | sed -n 's/^pxi: warning: //p' | head -1)
[ -n "$cli_warning" ] || fail "the CLI gives no warning for an RGB PNG (test premise)"
xdotool key ctrl+o
wait_dialog "Open program"
type_path "$WORK/rgb.png"
wait_field file "$WORK/rgb.png" eq
sleep 0.3
gui_warning=$(json 'd["warnings"][0] if d["warnings"] else ""')
[ "$gui_warning" = "$cli_warning" ] || fail "bug 6: GUI warning '$gui_warning', CLI '$cli_warning'"
echo "bug 6: RGB PNG opened with the CLI's warning: $gui_warning"
[ "$(sum_of "$INPUT")" = "$input_sum" ] || fail "the loaded program changed on disk"

# --- float: a float program's matrices in the inspector, checked against NumPy on the file.
python3 "$HERE/make_float_program.py" "$WORK/float.pxi"
xdotool key ctrl+o
wait_dialog "Open program"
type_path "$WORK/float.pxi"
wait_field file "$WORK/float.pxi" eq
sleep 0.3
for name in a h; do
    python3 "$HERE/pxdbg_truth.py" "$WORK/float.pxi" "$name" >"$WORK/truth_$name.json"
    row=$(python3 -c "import json; print(json.load(open('$WORK/truth_$name.json'))['row'])")
    xdotool key ctrl+shift+s
    sleep 0.3
    read -r cx cy < <(json "' '.join(str(int(r[k])) for r in d['regions_list'] if r['row'] == $row for k in ('x', 'y'))")
    [ -n "${cx:-}" ] || fail "float: $name (row $row) not in the Regions list"
    xdotool mousemove --window "$WIN" "$cx" "$cy" click 1
    wait_field selected_row "$row" eq
    xdotool mousemove --window "$WIN" 5 990
    sleep 0.3
    xdotool key ctrl+shift+s
    sleep 0.5
    /usr/bin/python3 - "$STATE" "$WORK/truth_$name.json" "$name" <<'PY' || fail "float: the inspector's $name is not the file's values"
import json, sys
import numpy as np
s, t, name = json.load(open(sys.argv[1]))["inspector"], json.load(open(sys.argv[2])), sys.argv[3]
dtype = "f16" if name == "h" else "f32"
assert s is not None and s["type"] == dtype, s and s["type"]
want = t[dtype][: t["rows"] * t["cols"]]
assert s["values"] == want, (s["values"], want)
v = np.array([float(x.replace("NaN", "nan")) if isinstance(x, str) else x for x in want])
fin = v[np.isfinite(v)]
assert s["nan"] == int(np.isnan(v).sum()) and s["inf"] == int(np.isinf(v).sum()), (s["nan"], s["inf"])
assert s["min"] == fin.min() and s["max"] == fin.max(), (s["min"], s["max"])
assert abs(s["mean"] - fin.mean()) <= 1e-12 * max(1.0, abs(fin.mean())), (s["mean"], fin.mean())
m = max(abs(fin.min()), abs(fin.max()))
lo, hi = s["view_range"]
assert s["colormap"] == "diverging" and lo == -hi and abs(hi - m) <= 1e-6 * m, (s["colormap"], lo, hi, m)
texts = ["NaN" if x == "NaN" else x if isinstance(x, str) else None for x in want]
assert all(a == b for a, b in zip(s["texts"], texts) if b), (s["texts"], texts)
print(f"float: {name} ({dtype}) in the inspector = the file's {len(want)} values {s['texts']}; "
      f"{s['nan']} NaN, {s['inf']} inf; min {s['min']} max {s['max']}; diverging over {lo:.6g}..{hi:.6g}")
PY
done

# --- write paths named on the command line: the state file, the screenshot and imgui.ini pointed
# at the loaded program are refused too (a second pxdbg, on its own).
kill $PID 2>/dev/null || true
wait $PID 2>/dev/null || true
# It runs to the end; the refused imgui.ini is said on stderr and in the exit status (1), as any
# settings save that fails at exit (tests/pxdbg_gui_faults.sh).
rc=0
"$PXDBG" "$INPUT" --ini "$INPUT" --state-file "$INPUT" --screenshot "$INPUT" --screenshot-at 3 --quit-after 8 \
    --width 800 --height 600 >"$WORK/second.log" 2>&1 || rc=$?
[ $rc = 1 ] || fail "second pxdbg: exit status $rc (want 1): $(cat "$WORK/second.log")"
grep -q "^pxdbg: settings not saved: $INPUT is the loaded program" "$WORK/second.log" ||
    fail "second pxdbg: the refused imgui.ini not said: $(cat "$WORK/second.log")"
[ "$(sum_of "$INPUT")" = "$input_sum" ] || fail "--state-file/--screenshot/--ini wrote over the loaded program"
echo "state file, screenshot and imgui.ini named as the loaded program: refused, file unchanged"
