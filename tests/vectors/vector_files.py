"""vector_files.py — what every vector generator shares: the pixel words, the trap, the program
builder, the check of a vector against its hand-worked values, and the JSON files tests read
(make_vectors.py, make_float_vectors.py, make_gen_vectors.py, make_qint_vectors.py). Each generator
keeps its own model of the protocol; nothing here runs an instruction.

A vector is (name, description, prog, result): prog has width, height, px ({(x, y): [r, g, b, a]})
and optionally step_limit; result is the model's dict (status, steps, pc, trap, trap_x, trap_y,
image). The files list only non-zero pixels, one per line, so a diff of a regenerated vector shows
the pixels that changed.
"""
import json
import os
import struct
import sys

DEFAULT_STEP_LIMIT = 65536
M32 = 0xFFFFFFFF


class Trap(Exception):
    """A model's trap: its name and the pixel it names."""

    def __init__(self, name, x, y):
        super().__init__(name)
        self.name, self.x, self.y = name, x, y


def word(p):
    """A whole pixel as a little-endian 32-bit word (R lowest)."""
    return p[0] | p[1] << 8 | p[2] << 16 | p[3] << 24


def pix(w):
    """A 32-bit word (taken modulo 2^32) as a pixel."""
    w = int(w) & M32
    return [w & 255, w >> 8 & 255, w >> 16 & 255, w >> 24 & 255]


def bits(x):
    """A Python float's float32 bits."""
    return struct.unpack("<I", struct.pack("<f", x))[0]


class Prog:
    """A program being written: instructions in row 0, matrices below (PROTOCOL.md §3)."""

    def __init__(self, width, height, step_limit=DEFAULT_STEP_LIMIT):
        self.width, self.height, self.px, self.step_limit = width, height, {}, step_limit

    def ins(self, x, op, a, b, c, params=()):
        self.px[(x, 0)] = [op, a, b, c]
        for k, p in enumerate(params):
            self.px[(x + 1 + k, 0)] = list(p)
        return self

    def mat(self, row, rows, cols, words=(), u8=None):
        """A matrix: words are whole-pixel values (ints, or floats as f32); u8 values (or
        [r, g, b, a] pixels) go to R."""
        self.px[(0, row)] = [cols & 255, cols >> 8, rows & 255, rows >> 8]
        vals = u8 if u8 is not None else words
        for i, v in enumerate(vals):
            p = (1 + i % (self.width - 1), row + i // (self.width - 1))
            if u8 is not None:
                self.px[p] = list(v) if isinstance(v, (list, tuple)) else [v, 0, 0, 0]
            else:
                self.px[p] = pix(v if isinstance(v, int) else bits(v))
        return self


def check_hand(name, prog, r, hand):
    """Exits naming the vector when the model's result r disagrees with a value worked out by hand:
    status, steps, pc, trap (name, x, y), whole words, whole pixels, R channels, or an unchanged
    image."""
    for k in ("status", "steps", "pc"):
        if k in hand and hand[k] != r[k]:
            sys.exit(f"{name}: model gives {k}={r[k]}, hand says {hand[k]}")
    if "trap" in hand and tuple(hand["trap"]) != (r.get("trap"), r.get("trap_x"), r.get("trap_y")):
        sys.exit(f"{name}: model traps {r.get('trap')} at ({r.get('trap_x')},{r.get('trap_y')}), "
                 f"hand says {hand['trap']}")
    for (x, y), w in hand.get("words", {}).items():
        got = word(r["image"].get((x, y), [0, 0, 0, 0]))
        if got != w & M32:
            sys.exit(f"{name}: model gives pixel ({x},{y}) = {got:#010x}, hand says {w & M32:#010x}")
    for (x, y), p in hand.get("pixels", {}).items():
        got = r["image"].get((x, y), [0, 0, 0, 0])
        if got != list(p):
            sys.exit(f"{name}: model gives pixel ({x},{y}) = {got}, hand says {p}")
    for (x, y), v in hand.get("r", {}).items():
        got = r["image"].get((x, y), [0, 0, 0, 0])[0]
        if got != v:
            sys.exit(f"{name}: model gives R of ({x},{y}) = {got}, hand says {v}")
    if hand.get("unchanged") and {k: v for k, v in r["image"].items() if any(v)} != {
            k: v for k, v in prog.px.items() if any(v)}:
        sys.exit(f"{name}: image changed, hand says unchanged")


def nonzero(pixels):
    return sorted(([x, y] + list(v) for (x, y), v in pixels.items() if any(v)), key=lambda p: (p[1], p[0]))


def render(name, description, prog, r):
    lines = ['{', f'  "name": {json.dumps(name)},', f'  "description": {json.dumps(description, ensure_ascii=False)},',
             f'  "width": {prog.width},', f'  "height": {prog.height},']
    step_limit = getattr(prog, "step_limit", DEFAULT_STEP_LIMIT)
    if step_limit != DEFAULT_STEP_LIMIT:
        lines.append(f'  "step_limit": {step_limit},')

    def pixel_list(key, pixels, indent):
        rows = nonzero(pixels)
        if not rows:
            return [f'{indent}"{key}": []']
        body = [f'{indent}  {json.dumps(p)}' for p in rows]
        return [f'{indent}"{key}": ['] + [x + ',' for x in body[:-1]] + [body[-1], f'{indent}]']

    lines += pixel_list("input", prog.px, "  ")
    lines[-1] += ','
    lines += ['  "expect": {', f'    "status": "{r["status"]}",', f'    "steps": {r["steps"]},', f'    "pc": {r["pc"]},']
    if r["status"] == "trapped":
        lines.append(f'    "trap": "{r["trap"]}",')
        lines.append(f'    "trap_pixel": {json.dumps([r["trap_x"], r["trap_y"]])},')
    lines += pixel_list("output", r["image"], "    ")
    lines += ['  }', '}']
    text = "\n".join(lines) + "\n"
    json.loads(text)
    return text


def write_all(vectors, directory, prefix, generator, noun, check):
    """Writes every vector as directory/<name>.json and removes <prefix>*.json files no vector makes.
    With check, writes nothing and exits 1 when any file differs from what the model writes."""
    stale = []
    texts = {n + ".json": render(n, d, p, r) for n, d, p, r in vectors}
    existing = {f for f in os.listdir(directory) if f.startswith(prefix) and f.endswith(".json")}
    for old in existing - set(texts):
        stale.append(old)
        if not check:
            os.remove(os.path.join(directory, old))
    for fname, text in texts.items():
        path = os.path.join(directory, fname)
        try:
            with open(path, encoding="utf-8") as fh:
                same = fh.read() == text
        except OSError:
            same = False
        if same:
            continue
        stale.append(fname)
        if not check:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
    if check:
        if stale:
            print(f"stale (rerun tests/vectors/{generator}):", *stale, sep="\n  ")
            sys.exit(1)
        print(f"{len(texts)} {noun} vectors are what the model writes")
    else:
        print(f"wrote {len(stale)} of {len(texts)} {noun} vectors to {directory}")
