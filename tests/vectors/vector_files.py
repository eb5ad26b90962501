"""vector_files.py — writes program vectors as the JSON files tests read (shared by make_float_vectors.py
and make_gen_vectors.py).

A vector is (name, description, prog, result): prog has width, height, px ({(x, y): [r, g, b, a]})
and optionally step_limit; result is the model's dict (status, steps, pc, trap, trap_x, trap_y,
image). The files list only non-zero pixels, one per line, so a diff of a regenerated vector shows
the pixels that changed.
"""
import json
import os
import sys

DEFAULT_STEP_LIMIT = 65536


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
