// pxi pixellm — builds the Pixel-LLM (128 -> 128 ReLU -> 1024 logits) as one quantized .pxi program
// from seeded random weights or a NumPy .npz (engine/pixellm.h). Deterministic: the same weights
// give the same bytes. The output is written atomically.
#include "commands.h"
#include "pixellm.h"
#include "png_io.h"

#include <iostream>

namespace {

struct PixellmArgs {
    std::string output, weights, save_weights, logits = "int32", dtype = "u8";
    uint64_t seed = px::kLlmDefaultSeed;
    bool json = false, force = false;
};

void pixellm_command(const PixellmArgs& args) {
    pxi::check_output(args.output, {args.weights}, args.force);
    pxi::check_output(args.save_weights, {args.weights, args.output}, args.force);
    px::PixelLlmWeights w;
    px::PixelLlmBuildOptions opt;
    opt.int32_logits = args.logits == "int32";
    opt.dtype = *px::parse_dtype(args.dtype); // CLI::IsMember: u8 or f32
    if (opt.dtype == px::DType::F32 && args.logits != "int32")
        pxi::fail(pxi::kExitUsage, "--logits applies to the u8 build only (the f32 build has f32 logits)");
    if (!args.weights.empty()) {
        auto loaded = px::load_npz_weights(args.weights);
        if (!loaded) pxi::fail(pxi::kExitUsage, loaded.error().message);
        w = std::move(loaded.value());
        opt.weights_file = args.weights;
    } else {
        w = px::seeded_weights(args.seed);
        opt.seed = args.seed;
    }
    auto img = px::build_pixellm(w, opt);
    if (!img) pxi::fail(pxi::kExitUsage, img.error().message);
    if (px::Status st = px::save_png(*img, args.output); !st) pxi::fail(pxi::kExitUsage, st.error().message);
    if (!args.save_weights.empty())
        if (px::Status st = px::save_npz_weights(w, args.save_weights); !st)
            pxi::fail(pxi::kExitUsage, st.error().message);
    auto io = px::pixellm_io(*img);
    if (!io) pxi::fail(pxi::kExitFailed, io.error().message);
    if (args.json) {
        nlohmann::json j{{"output", args.output},
                         {"width", img->width},
                         {"height", img->height},
                         {"dtype", args.dtype},
                         {"logits", io->dtype == px::DType::F32 ? std::string("f32") : args.logits},
                         {"input_row", io->input_row},
                         {"input_scale", io->input.scale},
                         {"input_zero_point", io->input.zero_point},
                         {"logits_row", io->logits_row},
                         {"logits_scale", io->logits.scale},
                         {"logits_zero_point", io->logits.zero_point}};
        if (opt.seed)
            j["seed"] = *opt.seed;
        else
            j["weights"] = opt.weights_file;
        if (!args.save_weights.empty()) j["saved_weights"] = args.save_weights;
        pxi::print_json(j);
    } else {
        std::cout << "wrote " << args.output << " (" << img->width << "x" << img->height << ", Pixel-LLM "
                  << px::kLlmIn << " -> " << px::kLlmHidden << " ReLU -> " << px::kLlmOut << ", "
                  << (io->dtype == px::DType::F32 ? "float32 pixels (FMATMUL), f32" : args.logits)
                  << " logits, weights from "
                  << (opt.seed ? "seed " + std::to_string(*opt.seed) : opt.weights_file) << ")\n";
        if (io->dtype == px::DType::F32)
            std::cout << "  input: row " << io->input_row << " (f32); logits: row " << io->logits_row
                      << " (f32)\n";
        else
            std::cout << "  input: row " << io->input_row << ", scale " << io->input.scale << ", zero point "
                      << io->input.zero_point << "; logits: row " << io->logits_row << "\n";
        if (!args.save_weights.empty())
            std::cout << "  wrote the float weights to " << args.save_weights << "\n";
    }
    pxi::finish(pxi::kExitOk);
}

} // namespace

void register_pixellm(CLI::App& app) {
    auto args = std::make_shared<PixellmArgs>();
    CLI::App* cmd = app.add_subcommand("pixellm", "Build the Pixel-LLM program (128 -> 128 ReLU -> 1024), "
                                                  "quantized or float32, from seeded or .npz weights");
    cmd->add_option("-o,--output", args->output, "the .pxi to write")->required();
    cmd->add_option("--weights", args->weights,
                    ".npz with W_hidden (128x128), b_hidden (128), W_out (128x1024), b_out (1024); x @ W");
    cmd->add_option("--seed", args->seed,
                    "seed of the random weights (splitmix64 + Box-Muller; see pixellm.h)")
        ->capture_default_str();
    cmd->add_option("--logits", args->logits, "int32 (exact accumulators, QMATMUL32) or uint8 (QMATMUL)")
        ->check(CLI::IsMember({"int32", "uint8"}))
        ->capture_default_str();
    cmd->add_option(
           "--dtype", args->dtype,
           "u8: the quantized program (QMATMUL, QMATMUL32); f32: float32 pixels (FMATMUL with bias and "
           "activation, PROTOCOL.md 11)")
        ->check(CLI::IsMember({"u8", "f32"}))
        ->capture_default_str();
    cmd->add_option("--save-weights", args->save_weights,
                    "also write the float weights as float64 .npz (atomic write)");
    pxi::add_force_flag(cmd, args->force);
    cmd->add_flag("--json", args->json, "print the summary as JSON");
    cmd->callback([args] { pixellm_command(*args); });
}
