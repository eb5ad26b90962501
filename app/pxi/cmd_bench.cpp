// pxi bench — how fast each executor runs MATMUL (naive baseline, reference, optimized CPU, GL
// simple and tiled kernels), a Pixel-LLM forward pass, PNG I/O and the debugger's texture update,
// against the machine's measured limits. The measuring lives in bench.cpp; this file is the CLI.
// Exit status 1 when any variant's output differs from the reference (a parity failure).
#include "bench.h"
#include "commands.h"

#include <iostream>

namespace {

struct BenchArgs {
    bool json = false;
    bool quick = false;
    bool no_gl = false;
    unsigned threads = 0;
    std::string plot;
    bool force = false;
};

void bench_command(const BenchArgs& args) {
    pxi::check_output(args.plot, {}, args.force); // before minutes of measuring
    pxbench::Options opt;
    opt.quick = args.quick;
    opt.gl = !args.no_gl;
    opt.threads = args.threads;
    opt.plot_path = args.plot;
    opt.progress = !args.json;
    const pxbench::Report report = pxbench::run_bench(opt);
    if (args.json)
        pxi::print_json(report.json);
    else
        std::cout << report.table;
    for (const std::string& e : report.errors)
        std::cerr << "pxi: bench: " << e << "\n";
    if (!report.parity_ok)
        pxi::fail(pxi::kExitFailed, "bench: PARITY FAILURE (see above); timings are not valid");
    pxi::finish(pxi::kExitOk);
}

} // namespace

void register_bench(CLI::App& app) {
    auto args = std::make_shared<BenchArgs>();
    CLI::App* cmd = app.add_subcommand(
        "bench",
        "Time MATMUL on every executor (naive, reference, optimized CPU, GL simple/tiled) against the "
        "machine's measured limits; check that every executor gives the reference's bytes");
    cmd->add_flag("--json", args->json, "Print the results as JSON (schema in BENCHMARKS.md)");
    cmd->add_flag("--quick", args->quick, "CI-sized shapes and repetition counts");
    cmd->add_flag("--no-gl", args->no_gl, "Skip the OpenGL executor");
    cmd->add_option("--threads", args->threads, "Threads for the optimized CPU executor (default: all)")
        ->check(CLI::Range(1u, 1024u));
    cmd->add_option("--plot", args->plot, "Write the time-vs-M*N*K scaling plot to this PNG (atomic write)");
    pxi::add_force_flag(cmd, args->force);
    cmd->callback([args] { bench_command(*args); });
}
