// pxi bench — how fast each executor runs MATMUL (naive baseline, reference, optimized CPU, GL
// simple and tiled kernels), a Pixel-LLM forward pass, PNG I/O and the debugger's texture update,
// against the machine's measured limits; then text generation with a GPT program on each executor
// beside libtorch (bench_gen.h). The measuring lives in bench.cpp and bench_gen.cpp; this file is
// the CLI.
// Exit status 1 when any variant's output differs from the reference (a parity failure).
#include "bench.h"
#include "bench_gen.h"
#include "commands.h"

#include <iostream>

namespace {

struct BenchArgs {
    bool json = false;
    bool quick = false;
    bool no_gl = false;
    bool generation_only = false;
    unsigned threads = 0;
    std::string plot, gen_program = "assets/gpt_brown_f32.pxi";
    bool force = false;
};

void bench_command(const BenchArgs& args) {
    // Before minutes of measuring. The programs it reads are inputs: a plot over --gen-program
    // would be written before the generation section reads it.
    std::vector<std::string> inputs = pxbench::kForwardAssets;
    inputs.push_back(args.gen_program);
    pxi::check_output(args.plot, inputs, args.force);
    pxbench::Options opt;
    opt.quick = args.quick;
    opt.gl = !args.no_gl;
    opt.threads = args.threads;
    opt.plot_path = args.plot;
    opt.progress = !args.json;
    pxbench::Report report;
    if (!args.generation_only) report = pxbench::run_bench(opt);
    // After run_bench, whose GL context is gone by now: the generation section opens its own.
    pxbench::GenOptions go;
    go.program = args.gen_program;
    go.quick = args.quick;
    go.gl = !args.no_gl;
    go.threads = args.threads;
    go.progress = !args.json;
    pxbench::GenReport gen = pxbench::measure_generation(go);
    report.json["generation"] = gen.json;
    report.table += gen.table;
    report.errors.insert(report.errors.end(), gen.errors.begin(), gen.errors.end());
    report.parity_ok = report.parity_ok && gen.parity_ok;
    report.json["parity"] = report.parity_ok;
    report.json["errors"] = report.errors;
    if (args.json)
        pxi::print_json(report.json);
    else
        std::cout << report.table;
    for (const std::string& e : report.errors)
        std::cerr << "pxi: bench: " << e << "\n";
    // A plot that could not be written is a failed write (docs/write-paths.md): exit 2, naming it.
    if (!report.plot_error.empty()) pxi::fail(pxi::kExitUsage, report.plot_error);
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
    cmd->add_flag("--generation-only", args->generation_only,
                  "Only the generation section (GPT tokens/s on each executor and the libtorch peer)");
    cmd->add_option("--gen-program", args->gen_program,
                    "The GPT program (pxi gpt) the generation section runs")
        ->capture_default_str();
    cmd->add_option("--plot", args->plot, "Write the time-vs-M*N*K scaling plot to this PNG (atomic write)");
    pxi::add_force_flag(cmd, args->force);
    cmd->callback([args] { bench_command(*args); });
}
