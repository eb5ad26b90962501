// pxi accuracy — runs N seeded inputs through a Pixel-LLM program (on an executor) and through
// the double-precision float reference, and reports top-1 agreement, top-5 containment and
// relative L2 error; for a quantized (u8) program the same figures for the v0.0.3 raw-clamp
// arithmetic on the same weights beside them, and the program against the float32 build of the
// same weights (engine/pixellm.h, issues 3 and 13). A float32 program is measured against the
// double-precision reference alone: its relative error is float32 rounding, about 1e-7.
#include "commands.h"
#include "pixellm.h"
#include "vm.h"
#ifdef PXOS_HAVE_GL
#include "gl/gl_executor.h"
#endif

#include <cstdio>
#include <iostream>
#include <optional>

namespace {

struct AccuracyArgs {
    std::string input, executor = "cpu", weights;
    uint32_t inputs = 1000;
    uint64_t seed = 1;
    std::optional<double> min_top1, max_rel_l2;
    bool json = false, no_f32 = false;
};

std::string sci(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3e", v);
    return buf;
}

std::string pct(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", v);
    return buf;
}

void accuracy_command(const AccuracyArgs& args) {
    px::Image program = pxi::load_or_exit(args.input);
    auto io = px::pixellm_io(program);
    if (!io) pxi::fail(pxi::kExitFailed, args.input + ": " + io.error().message);
    auto weights = px::program_weights(*io, args.weights);
    if (!weights) pxi::fail(pxi::kExitUsage, weights.error().message);

    px::ProgramRunner runner = px::run_on_cpu;
    std::string device = "cpu";
#ifdef PXOS_HAVE_GL
    std::optional<px::gl::HeadlessContext> context;
    std::optional<px::gl::Executor> executor;
#endif
    if (args.executor == "gl") {
#ifdef PXOS_HAVE_GL
        auto ctx = px::gl::create_headless_context();
        if (!ctx) pxi::fail(pxi::kExitUsage, "gl executor: " + ctx.error().message);
        context.emplace(std::move(ctx.value()));
        device = "gl (" + context->renderer + ")";
        auto ex = px::gl::create_executor(program);
        if (!ex) pxi::fail(pxi::kExitUsage, "gl executor: " + ex.error().message);
        executor.emplace(std::move(ex.value()));
        runner = [&executor](const px::Image& image) -> px::Result<px::Image> {
            if (px::Status st = px::gl::reset_executor(*executor, image); !st) return st.error();
            while (px::gl::gl_status(*executor) == px::VmStatus::Ready)
                px::gl::gl_step(*executor);
            if (px::gl::gl_status(*executor) == px::VmStatus::Trapped)
                return px::make_error(px::ErrorCode::Invalid, px::describe_trap(px::gl::gl_trap(*executor)));
            return px::gl::gl_read_image(*executor);
        };
#else
        pxi::fail(pxi::kExitUsage, "the gl executor is not available in this build (built without PXOS_GL)");
#endif
    }

    auto rep = px::measure_accuracy(program, *weights, args.inputs, args.seed, runner, !args.no_f32);
    if (!rep) pxi::fail(pxi::kExitFailed, args.input + ": " + rep.error().message);
    const auto& q = rep->quantized;
    const auto& r = rep->raw;
    bool pass = true;
    if (args.min_top1 && q.top1_agreement < *args.min_top1) pass = false;
    if (args.max_rel_l2 && q.rel_l2 > *args.max_rel_l2) pass = false;
    const bool f32 = rep->dtype == px::DType::F32;
    const std::string logits = f32 ? "f32" : io->int32_logits ? "int32" : "uint8";
    if (args.json) {
        nlohmann::json j{{"file", args.input},
                         {"executor", args.executor},
                         {"device", device},
                         {"inputs", rep->inputs},
                         {"seed", rep->seed},
                         {"dtype", std::string(px::dtype_name(rep->dtype))},
                         {"logits", logits},
                         {"reference", "float64"},
                         {"top1_agreement", q.top1_agreement},
                         {"top5_containment", q.top5_containment},
                         {"rel_l2", q.rel_l2},
                         {"max_rel_l2", rep->max_rel_l2},
                         {"pass", pass}};
        if (!f32) {
            j["raw_top1_agreement"] = r.top1_agreement;
            j["raw_top5_containment"] = r.top5_containment;
            j["raw_rel_l2"] = r.rel_l2;
        }
        if (rep->vs_f32) {
            j["vs_f32_top1_agreement"] = rep->vs_f32->top1_agreement;
            j["vs_f32_top5_containment"] = rep->vs_f32->top5_containment;
            j["vs_f32_rel_l2"] = rep->vs_f32->rel_l2;
        }
        pxi::print_json(j);
    } else {
        std::cout << args.input << ": " << rep->inputs << " seeded inputs (seed " << rep->seed
                  << "), executor " << device << ", " << logits << " logits\n";
        std::cout << "  arithmetic                      against   top1_agreement  top5_containment  rel_l2\n";
        if (f32) {
            std::cout << "  float32 (1.2, FMATMUL)          float64   " << pct(q.top1_agreement)
                      << "          " << pct(q.top5_containment) << "            " << sci(q.rel_l2)
                      << " (max " << sci(rep->max_rel_l2) << ")\n";
        } else {
            std::cout << "  quantized (1.1)                 float64   " << pct(q.top1_agreement)
                      << "          " << pct(q.top5_containment) << "            " << pct(q.rel_l2) << "\n";
            if (rep->vs_f32)
                std::cout << "  quantized (1.1)                 float32   "
                          << pct(rep->vs_f32->top1_agreement) << "          "
                          << pct(rep->vs_f32->top5_containment) << "            " << pct(rep->vs_f32->rel_l2)
                          << "\n";
            std::cout << "  raw v0.0.3 (clamp)              float64   " << pct(r.top1_agreement)
                      << "          " << pct(r.top5_containment) << "            " << pct(r.rel_l2) << "\n";
        }
        if (args.min_top1 || args.max_rel_l2) std::cout << (pass ? "  PASS\n" : "  FAIL\n");
    }
    pxi::finish(pass ? pxi::kExitOk : pxi::kExitFailed);
}

} // namespace

void register_accuracy(CLI::App& app) {
    auto args = std::make_shared<AccuracyArgs>();
    CLI::App* cmd = app.add_subcommand(
        "accuracy",
        "Compare a Pixel-LLM program with its float reference on seeded inputs (top-1, top-5, rel. L2)");
    cmd->add_option("program", args->input, "Pixel-LLM program (.pxi, from pxi pixellm)")->required();
    cmd->add_option("--inputs", args->inputs, "number of seeded inputs")
        ->check(CLI::Range(1u, 1000000u))
        ->capture_default_str();
    cmd->add_option("--seed", args->seed, "seed of the input stream (N(0,1) values, splitmix64)")
        ->capture_default_str();
    cmd->add_option("--executor", args->executor, "which executor runs the program")
        ->check(CLI::IsMember({"cpu", "gl"}))
        ->capture_default_str();
    cmd->add_option("--weights", args->weights, "float weights (.npz) instead of those the program records");
    cmd->add_option("--min-top1", args->min_top1, "exit 1 when top1_agreement is below this");
    cmd->add_option("--max-rel-l2", args->max_rel_l2, "exit 1 when rel_l2 is above this");
    cmd->add_flag("--no-f32", args->no_f32,
                  "u8 programs: skip the comparison with the float32 build of the same weights");
    cmd->add_flag("--json", args->json, "print the figures as JSON");
    cmd->callback([args] { accuracy_command(*args); });
}
