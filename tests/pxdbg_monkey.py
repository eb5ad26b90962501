#!/usr/bin/env python3
"""pxdbg_monkey.py — seeded random input for pxdbg in a real X window (run by pxdbg_monkey.sh).

    pxdbg_monkey.py PXDBG SCRATCH SEED SECONDS

Starts pxdbg on SCRATCH/input.pxi (cwd SCRATCH, so every file it may be asked to write lands
there), then for SECONDS sends batches of random X events through xdotool: keys with and without
modifiers (quick taps and holds), the debugger's shortcuts, clicks, drags, wheel, and text typed
into every text field the dialogs and the inspector open, sometimes the name of a hostile file
in SCRATCH followed by Return. Clicks avoid the menu bar (File > Quit would end the run) and a
dialog's file list (its ".." would lead the monkey out of SCRATCH). After each batch pxdbg must be
alive; at the end Esc closes whatever is open and Ctrl+Shift+S must get a state file written
within 10 s (the app still answers). Prints what it did; exits 1 on the first failure.
"""
import json
import os
import random
import subprocess
import sys
import time

PXDBG, SCRATCH, SEED, SECONDS = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
W, H = 1600, 1000
STATE = os.path.join(SCRATCH, "state.json")
rng = random.Random(SEED)
# pxdbg runs as this user when the script gives one (as root: nobody, who may write only in the
# scratch folder). The monkey clicks the dialogs' ".." and presses Enter at "Replace file?", so
# pxdbg can be taken anywhere and told to replace anything, as a user could; the operating system,
# not the monkey's luck, keeps it inside the scratch folder, and each refused write is a
# read-only-directory failure pxdbg must report and survive.
RUN_AS = ["runuser", "-u", os.environ["PXOS_MONKEY_USER"], "--"] if os.environ.get("PXOS_MONKEY_USER") else []

KEYS = (["F1", "F5", "F6", "F9", "F10", "F12", "Escape", "Return", "Tab", "BackSpace", "Delete", "Left",
         "Right", "Up", "Down", "Home", "End", "space", "minus", "period", "slash", "1"]
        + list("abcdefghijklmnopqrstuvwxyz0123456789"))
MODS = ["", "", "", "shift+", "ctrl+", "alt+", "ctrl+shift+", "super+"]
SHORTCUTS = ["F10", "shift+F10", "F5", "F6", "F9", "ctrl+F10", "ctrl+r", "f", "1", "r", "g", "b", "a", "d",
             "h", "l", "c", "ctrl+o", "ctrl+s", "ctrl+e", "F12", "ctrl+shift+s", "F1", "ctrl+a", "n", "shift+n",
             "ctrl+p", "ctrl+z"]
TEXT = "abcdefghijklmnopqrstuvwxyz0123456789_-.,+=~ "


def xdo(args):
    subprocess.run(["xdotool"] + args, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def state():
    try:
        with open(STATE) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def click_point(dialog_open):
    while True:
        x, y = rng.randrange(0, W), rng.randrange(22, H)
        # A modal dialog is centered, 640x440: its file list fills the top of it.
        if dialog_open and 480 <= x <= 1120 and 280 <= y <= 680:
            continue
        return x, y


def batch(win, dialog_open, hostile):
    """One batch of 8 to 24 actions as xdotool command lines. xdotool's `type` takes every word
    after it as text, so a `type` ends its command line and the next action starts a new one."""
    cmds = [[]]
    for _ in range(rng.randrange(8, 25)):
        cmd = cmds[-1]
        r = rng.random()
        if r < 0.30:  # a key, maybe with modifiers, tapped fast
            cmd += ["key", "--delay", str(rng.choice([0, 0, 1, 5, 30])), rng.choice(MODS) + rng.choice(KEYS)]
        elif r < 0.45:  # a shortcut
            cmd += ["key", "--delay", "0", rng.choice(SHORTCUTS)]
        elif r < 0.52:  # a modifier held across other keys (a hold), then released
            mod = rng.choice(["shift", "ctrl", "alt"])
            cmd += ["keydown", mod, "key", "--delay", "0", rng.choice(KEYS), "sleep", "0.05", "keyup", mod]
        elif r < 0.62:  # typing into whatever text field has focus
            text = "".join(rng.choice(TEXT) for _ in range(rng.randrange(1, 12)))
            cmd += ["type", "--delay", str(rng.choice([0, 2, 10])), text]
            cmds.append([])
        elif r < 0.66:  # a hostile or real file's name, accepted
            cmd += ["key", "ctrl+a", "type", "--delay", "2", rng.choice(hostile)]
            cmds.append(["key", "Return"])
        elif r < 0.80:  # a click (left, middle, right), sometimes a double click
            x, y = click_point(dialog_open)
            cmd += ["mousemove", "--window", win, str(x), str(y), "click", "--repeat", str(rng.choice([1, 1, 2])),
                    str(rng.choice([1, 1, 1, 2, 3]))]
        elif r < 0.88:  # a drag
            x0, y0 = click_point(dialog_open)
            x1, y1 = click_point(dialog_open)
            b = str(rng.choice([1, 1, 2]))
            cmd += ["mousemove", "--window", win, str(x0), str(y0), "mousedown", b, "mousemove", "--window", win,
                    str((x0 + x1) // 2), str((y0 + y1) // 2), "mousemove", "--window", win, str(x1), str(y1),
                    "mouseup", b]
        elif r < 0.96:  # wheel
            x, y = click_point(dialog_open)
            cmd += ["mousemove", "--window", win, str(x), str(y), "click", "--repeat", str(rng.randrange(1, 6)),
                    rng.choice(["4", "5"])]
        else:  # a ctrl+click (turns a drag field into a text field)
            x, y = click_point(dialog_open)
            cmd += ["mousemove", "--window", win, str(x), str(y), "keydown", "ctrl", "click", "1", "keyup", "ctrl"]
    return [c for c in cmds if c]


def main():
    hostile = sorted(f for f in os.listdir(SCRATCH) if f != "state.json")
    log = open(os.path.join(SCRATCH, "..", "pxdbg.log"), "w")
    proc, win = None, None
    try:
        # pxdbg is started again (twice at most) only when it could not open the display at all,
        # which is the X server's problem, not pxdbg's; the log keeps every attempt.
        for attempt in range(3):
            proc = subprocess.Popen(RUN_AS + [PXDBG, "input.pxi", "--ini", "imgui.ini", "--state-file", STATE, "--width",
                                     str(W), "--height", str(H)], cwd=SCRATCH, stdout=log, stderr=subprocess.STDOUT)
            # Up to 60 s: a fresh ASan+UBSan build on llvmpipe took over 10 s to show its first frame in CI.
            for _ in range(1200):
                if proc.poll() is not None:
                    break
                out = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^pxdbg$"],
                                     capture_output=True, text=True).stdout.split()
                if out:
                    win = out[0]
                    break
                time.sleep(0.05)
            log.flush()
            with open(log.name, errors="replace") as f:
                no_display = "Failed to open display" in f.read()
            if win or proc.poll() is None or not no_display:
                break
            answers = subprocess.run(["xdotool", "getdisplaygeometry"], capture_output=True, text=True)
            print(f"note: pxdbg could not open the display (attempt {attempt + 1}); "
                  f"xdotool getdisplaygeometry: {answers.stdout.strip() or answers.stderr.strip()}")
            time.sleep(1)
        if not win:
            print("FAIL: no pxdbg window" + ("" if proc.poll() is None else " (pxdbg exited %d)" % proc.returncode))
            log.flush()
            with open(log.name, errors="replace") as f:
                print("pxdbg's log:\n" + f.read()[-3000:])
            return 1
        for _ in range(100):
            xdo(["windowfocus", "--sync", win])
            if subprocess.run(["xdotool", "getwindowfocus"], capture_output=True, text=True).stdout.strip() == win:
                break
            time.sleep(0.05)
        t0, batches, actions = time.time(), 0, 0
        seen_dialogs, max_steps, files, statuses = set(), 0, set(), set()
        while time.time() - t0 < SECONDS:
            s = state() or {}
            if s.get("dialog"):
                seen_dialogs.add(s["dialog"])
            max_steps = max(max_steps, s.get("steps", 0))
            files.add(os.path.basename(s.get("file", "")))
            statuses.add(s.get("status", ""))
            cmds = batch(win, bool(s.get("dialog")), hostile)
            for cmd in cmds:
                actions += cmd.count("key") + cmd.count("type") + cmd.count("click") + cmd.count("mousedown")
                xdo(cmd)
            batches += 1
            if proc.poll() is not None:
                print(f"FAIL: pxdbg exited with {proc.returncode} after {batches} batches (seed {SEED})")
                print("last batch: " + " ; ".join("xdotool " + " ".join(c) for c in cmds))
                return 1
        # Still answering: close what is open, then ask for the state file.
        for _ in range(4):
            xdo(["mouseup", "1", "mouseup", "2", "mouseup", "3", "keyup", "shift", "keyup", "ctrl", "keyup", "alt",
                 "key", "Escape"])
            time.sleep(0.1)
        before = os.stat(STATE).st_mtime_ns if os.path.exists(STATE) else 0
        answered = False
        for _ in range(100):
            xdo(["key", "ctrl+shift+s"])
            time.sleep(0.1)
            if os.path.exists(STATE) and os.stat(STATE).st_mtime_ns != before and state() is not None:
                answered = True
                break
            xdo(["key", "Escape"])
        if proc.poll() is not None:
            print(f"FAIL: pxdbg exited with {proc.returncode} at the end (seed {SEED})")
            return 1
        if not answered:
            print(f"FAIL: pxdbg alive but no state file within 10 s of Ctrl+Shift+S (seed {SEED})")
            return 1
        s = state()
        print(f"monkey seed {SEED}: {batches} batches, about {actions} actions in {time.time() - t0:.0f} s; "
              f"alive, state answers (steps {s['steps']}, status {s['status']}, file {os.path.basename(s['file'])}); "
              f"seen: dialogs {sorted(seen_dialogs)}, up to {max_steps} steps, statuses {sorted(statuses)}, "
              f"files loaded {sorted(files)}")
        return 0
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
