#!/usr/bin/env python3
"""Recomputes every derived figure in `pxi bench --json` from the raw figures beside it.

bench_cli.cmake checks that the fields are there; CMake's math has no floats, so this checks that
each rate, ratio and fraction is the quotient of the figures it claims to divide: GMAC/s from the
multiply-adds and the milliseconds, speedups and peer ratios from the two times, the fractions of
the CPU's and the GL device's ceilings from the rate and the ceiling, the generation's bound from
the weight bytes and the read rate. A figure that pairs the wrong operands (another executor's
time, the per-core peak for a two-thread run) fails here.

usage: bench_ratios_check.py BENCH.json
"""
import json
import sys

REL = 1e-6
failures = []
checked = 0


def close(what, got, want):
    global checked
    checked += 1
    if got is None or want is None or abs(got - want) > REL * max(abs(want), 1e-300):
        failures.append(f"{what}: the report says {got}, its own figures give {want}")


def gmacs(macs, ms):
    return macs / (ms * 1e6)


def main():
    with open(sys.argv[1]) as f:
        d = json.load(f)
    limits = d["limits"]
    gl = limits.get("gl", {})
    gl_measured = gl.get("measured", False)

    # MATMUL shapes: GMAC/s, speedups over the naive loop, fractions of each executor's limit,
    # and the GL products against the GL device's integer ceiling.
    for s in d["shapes"]:
        name = s["name"]
        times = {v: s.get(f"{v}_ms") for v in ("naive", "cpu_ref", "cpu", "gl_simple", "gl_tiled")}
        for v, ms in times.items():
            if ms is None:
                continue
            close(f"shapes[{name}].gmacs.{v}", s["gmacs"][v], gmacs(s["macs"], ms))
            close(f"shapes[{name}].speedup_vs_naive.{v}", s["speedup_vs_naive"][v], times["naive"] / ms)
            lim = s["limits"][v]
            close(f"shapes[{name}].limits.{v}.fraction_of_limit", lim["fraction_of_limit"], lim["limit_ms"] / ms)
        close(f"shapes[{name}].fraction_of_limit", s["fraction_of_limit"], s["limits"]["cpu"]["fraction_of_limit"])
        if gl_measured:
            for v in ("gl_simple", "gl_tiled"):
                close(f"shapes[{name}].of_gl_int_peak.{v}", s["of_gl_int_peak"][v],
                      s["gmacs"][v] / gl["int_mul_add_gmacs"])

    # Integer peers: both ratios of every pair, GMAC/s, fractions of the integer peak: the larger
    # of the all-thread and one-thread figures (a busy machine can measure two threads below one).
    peers = d["peers"]
    int_peak = max(limits["gmacs_all_threads"], limits["gmacs_per_core"])
    for s in peers["shapes"]:
        name = s["name"]
        ours = {"ours": s["ours_ms"], "ours_kernel": s["ours_kernel_ms"], "ours_packed": s["ours_packed_ms"]}
        for key, ms in ours.items():
            close(f"peers[{name}].gmacs.{key}", s["gmacs"][key], gmacs(s["macs"], ms))
            close(f"peers[{name}].fraction_of_peak.{key}", s["fraction_of_peak"][key], s["gmacs"][key] / int_peak)
        if s.get("onednn_ms") is not None:
            for key, ratio in (("ours", "ours_vs_onednn"), ("ours_kernel", "kernel_vs_onednn"),
                               ("ours_packed", "packed_vs_onednn")):
                close(f"peers[{name}].{ratio}", s[ratio], s["onednn_ms"] / ours[key])
            close(f"peers[{name}].gmacs.onednn", s["gmacs"]["onednn"], gmacs(s["macs"], s["onednn_ms"]))
        if s.get("sgemm_ms") is not None:
            close(f"peers[{name}].ours_vs_sgemm", s["ours_vs_sgemm"], s["sgemm_ms"] / s["ours_ms"])
            close(f"peers[{name}].kernel_vs_sgemm", s["kernel_vs_sgemm"], s["sgemm_ms"] / s["ours_kernel_ms"])

    # FMATMUL: GMAC/s, the float peak for the shape's own thread count (the all-thread figure
    # scaled to its threads, never below one core's), sgemm, the GL float ceiling.
    fl = d["float"]
    threads_used = d["machine"]["threads_used"]
    for s in fl["shapes"]:
        name = s["name"]
        peak = fl["peak_gmacs_per_core"]
        if s["threads"] > 1:
            peak = max(fl["peak_gmacs_all_threads"] * s["threads"] / threads_used, peak)
        for v in ("cpu", "cpu_ref", "gl_simple", "gl_tiled", "sgemm"):
            ms = s.get(f"{v}_ms")
            if ms is None:
                continue
            close(f"float[{name}].gmacs.{v}", s["gmacs"][v], gmacs(s["macs"], ms))
            if v in s["fraction_of_float_peak"]:
                close(f"float[{name}].fraction_of_float_peak.{v}", s["fraction_of_float_peak"][v],
                      s["gmacs"][v] / peak)
        if s.get("sgemm_ms") is not None:
            close(f"float[{name}].cpu_vs_sgemm", s["cpu_vs_sgemm"], s["sgemm_ms"] / s["cpu_ms"])
        if gl_measured:
            for v in ("gl_simple", "gl_tiled"):
                close(f"float[{name}].of_gl_float_peak.{v}", s["of_gl_float_peak"][v],
                      s["gmacs"][v] / gl["float_mul_add_gmacs"])

    # Generation: the bound from the weight bytes and the read rate; each executor's tokens/s and
    # fraction of that bound; the ratios between executors and against libtorch.
    g = d["generation"]
    bound = g["weight_bytes_per_token"] / (g["read_gbs"] * 1e6)
    close("generation.bound_ms_per_token", g["bound_ms_per_token"], bound)
    by_name = {e["name"]: e for e in g["executors"]}
    for name, e in by_name.items():
        close(f"generation[{name}].tokens_per_s", e["tokens_per_s"], 1000.0 / e["ms_per_token"])
        close(f"generation[{name}].fraction_of_bound", e["fraction_of_bound"], bound / e["ms_per_token"])
    # The optimized CPU executor's split tuning: every decode iteration of every run (the warm-up
    # included: runs + 1) after each run's first is timed under one of the two thresholds. A
    # generation of n tokens takes n - 1 taken LOOPs after its prefill, so n - 2 timed iterations.
    for name, e in by_name.items():
        if name in ("cpu", "cpu-last-row"):
            sp = e["split"]
            close(f"generation[{name}].split timed iterations", sp["iterations_few"] + sp["iterations_eager"],
                  (g["runs"] + 1) * (g["tokens"] - 2))
            if sp["min_macs_per_thread_eager"] >= sp["min_macs_per_thread"]:
                failures.append(f"generation[{name}].split: the eager threshold is not the smaller")
        elif e["split"] is not None:
            failures.append(f"generation[{name}].split: set for an executor that does not tune")
    ratios = g["ratios"]
    cpu = by_name["cpu"]
    for other in ("cpu-ref", "gl"):
        key = f"cpu_decode_speedup_vs_{other}"
        if other in by_name:
            close(f"generation.ratios.{key}", ratios[key], by_name[other]["ms_per_token"] / cpu["ms_per_token"])
    # Sampling on the cpu executor: each variant's rate and its ratio to the greedy runs beside it;
    # its tokens equal cpu-ref's (bench exits 1 otherwise, and says so here).
    sampling = g["sampling"]
    for v in sampling["variants"]:
        name = f"generation.sampling[top_k {v['top_k']}]"
        close(f"{name}.tokens_per_s", v["tokens_per_s"], 1000.0 / v["ms_per_token"])
        close(f"{name}.vs_greedy", v["vs_greedy"], v["ms_per_token"] / sampling["greedy_ms_per_token"])
        if not v["same_as_cpu_ref"] or len(v["generated"]) != g["tokens"]:
            failures.append(f"{name}: not cpu-ref's {g['tokens']} tokens")
    if [v["top_k"] for v in sampling["variants"]] != [40, 0]:
        failures.append("generation.sampling: the variants are not top-k 40 and the whole vocabulary")
    peer = g["peer"]
    if peer.get("built"):
        close("generation.peer.tokens_per_s", peer["tokens_per_s"], 1000.0 / peer["ms_per_token"])
        close("generation.peer.fraction_of_bound", peer["fraction_of_bound"], bound / peer["ms_per_token"])
        close("generation.ratios.cpu_decode_vs_libtorch", ratios["cpu_decode_vs_libtorch"],
              peer["ms_per_token"] / cpu["ms_per_token"])
        close("generation.ratios.cpu_prefill_vs_libtorch", ratios["cpu_prefill_vs_libtorch"],
              peer["prefill_ms"] / cpu["prefill_ms"])
        close("generation.ratios.cpu_last_row_prefill_vs_libtorch", ratios["cpu_last_row_prefill_vs_libtorch"],
              peer["prefill_ms"] / by_name["cpu-last-row"]["prefill_ms"])

    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print(f"bench ratios: {checked} derived figures equal the quotients of their own figures")


main()
