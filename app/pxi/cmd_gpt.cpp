// pxi gpt, pxi generate, pxi eval — the GPT program (engine/models/gpt.h, docs/gpt-program.md):
// build it from pxtrain's weights and a tokenizer image, generate text with it on any executor
// (streamed token by token as the program appends them), and score a text teacher-forced with
// pxtrain's bits-per-byte convention. Outputs are written atomically (save_png).
#include "commands.h"
#include "cpu_fast.h"
#include "gl_session.h"
#include "gpt.h"
#include "gpt_view.h"
#include "png_io.h"
#include "tokenizer_image.h"
#include "vm.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

namespace {

#ifdef PXOS_HAVE_GL
const std::vector<std::string> kExecutors = {"cpu", "cpu-ref", "gl"};
#else
const std::vector<std::string> kExecutors = {"cpu", "cpu-ref"};
#endif

// One executor driven one step at a time, so the host can watch the sequence grow. The CPU ones
// keep their VmState; the GL one keeps its session across programs (reset_executor).
struct Runner {
    std::string kind;
    std::string kernel = "tiled"; // the GL executor's matmul kernel (same bytes; speed differs)
    px::VmState vm;
    px::PlanExecutor execute;
#ifdef PXOS_HAVE_GL
    std::unique_ptr<pxi::GlSession> gl;
#endif

    // Loads a program; returns "" or an error line.
    std::string start(const px::Image& image, uint64_t step_limit) {
#ifdef PXOS_HAVE_GL
        if (kind == "gl") {
            std::string error;
            if (!gl) {
                gl = pxi::open_gl(image, kernel, step_limit, false, error);
                return gl ? "" : error;
            }
            if (px::Status st = px::gl::reset_executor(gl->executor, image); !st) return st.error().message;
            px::gl::gl_set_step_limit(gl->executor, step_limit);
            return "";
        }
#endif
        vm = px::make_vm(image, step_limit);
        if (!execute) execute = kind == "cpu" ? px::fast_executor() : px::PlanExecutor(px::execute_reference);
        return "";
    }
    px::VmStatus status() const {
#ifdef PXOS_HAVE_GL
        if (kind == "gl") return px::gl::gl_status(gl->executor);
#endif
        return vm.status;
    }
    uint32_t pc() const {
#ifdef PXOS_HAVE_GL
        if (kind == "gl") return px::gl::gl_pc(gl->executor);
#endif
        return vm.pc;
    }
    px::Trap trap() const {
#ifdef PXOS_HAVE_GL
        if (kind == "gl") return px::gl::gl_trap(gl->executor);
#endif
        return vm.trap;
    }
    // One step; the pc of the instruction that ran.
    uint32_t step() {
#ifdef PXOS_HAVE_GL
        if (kind == "gl") return px::gl::gl_step(gl->executor).step.executed_pc;
#endif
        return px::step(vm, nullptr, execute).executed_pc;
    }
    // The image as it is now (GL: read back whole).
    px::Image image() {
#ifdef PXOS_HAVE_GL
        if (kind == "gl") return px::gl::gl_read_image(gl->executor);
#endif
        return vm.image;
    }
    const px::Image* cpu_image() const {
        return kind == "gl" ? nullptr : &vm.image;
    }
    std::string gl_errors() {
#ifdef PXOS_HAVE_GL
        if (kind == "gl") {
            auto errors = px::gl::gl_take_errors(gl->executor);
            if (!errors.empty()) return "OpenGL error: " + errors.front();
        }
#endif
        return "";
    }
};

px::Bpe tokenizer_or_exit(const px::Image& image, const px::GptRegions& g, const std::string& file) {
    auto bpe = px::read_tokenizer(image);
    if (!bpe) pxi::fail(pxi::kExitUsage, file + ": " + bpe.error().message);
    if (bpe->vocab.size() != g.config.vocab)
        pxi::fail(pxi::kExitUsage, file + ": the tokenizer has " + std::to_string(bpe->vocab.size()) +
                                       " tokens but the model's vocabulary is " +
                                       std::to_string(g.config.vocab));
    return std::move(bpe.value());
}

std::string read_file_or_exit(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) pxi::fail(pxi::kExitUsage, path + ": cannot open");
    std::stringstream s;
    s << f.rdbuf();
    if (f.bad()) pxi::fail(pxi::kExitUsage, path + ": cannot read");
    return s.str();
}

// JSON text with invalid UTF-8 (a token may end inside a character) replaced, never thrown on.
void print_json_lossy(const nlohmann::json& j) {
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

// ---- pxi gpt ----

struct GptArgs {
    std::string weights, config, tokenizer, output, dtype = "f32", logits = "all";
    uint32_t max_new_tokens = 32;
    bool force = false, json = false;
};

void gpt_command(const GptArgs& a) {
    if (a.dtype == "u8")
        pxi::fail(pxi::kExitUsage, "--dtype u8: not implemented yet: the uint8 path (I-BERT integer "
                                   "softmax/layernorm/GELU) is issue 14's open item (docs/gpt-program.md)");
    pxi::check_output(a.output, {a.weights, a.config, a.tokenizer}, a.force);
    auto config = px::read_gpt_config(a.config);
    if (!config) pxi::fail(pxi::kExitUsage, config.error().message);
    auto weights = px::load_gpt_weights(a.weights, *config);
    if (!weights) pxi::fail(pxi::kExitUsage, weights.error().message);
    const px::Image tok_image = pxi::load_or_exit(a.tokenizer);
    auto bpe = px::read_tokenizer(tok_image);
    if (!bpe) pxi::fail(pxi::kExitUsage, a.tokenizer + ": " + bpe.error().message);
    if (bpe->vocab.size() != config->vocab)
        pxi::fail(pxi::kExitUsage, a.tokenizer + ": the tokenizer has " + std::to_string(bpe->vocab.size()) +
                                       " tokens but " + a.config +
                                       " says \"vocab\": " + std::to_string(config->vocab));
    px::GptBuildOptions opt;
    opt.all_logits = a.logits == "all";
    if (a.max_new_tokens == 0 || a.max_new_tokens > config->context)
        pxi::fail(pxi::kExitUsage, "--max-new-tokens must be 1.." + std::to_string(config->context) +
                                       " (the context; the image starts with a one-token prompt)");
    opt.max_new_tokens = a.max_new_tokens;
    auto img = px::build_gpt(*config, *weights, *bpe, opt);
    if (!img) pxi::fail(pxi::kExitUsage, img.error().message);
    if (px::Status st = px::save_png(*img, a.output); !st) pxi::fail(pxi::kExitUsage, st.error().message);
    const px::GptConfig& c = *config;
    if (a.json) {
        pxi::print_json({{"output", a.output},
                         {"width", img->width},
                         {"height", img->height},
                         {"layers", c.layers},
                         {"model_width", c.width},
                         {"heads", c.heads},
                         {"context", c.context},
                         {"vocab", c.vocab},
                         {"parameters", c.parameters()},
                         {"logits", a.logits},
                         {"pixels", uint64_t(img->width) * img->height}});
    } else {
        std::cout << "wrote " << a.output << " (" << img->width << "x" << img->height << ", GPT " << c.layers
                  << " layers, width " << c.width << ", " << c.heads << " heads, context " << c.context
                  << ", vocabulary " << c.vocab << ", " << c.parameters()
                  << " parameters, float32; logits: " << a.logits << ")\n";
    }
    pxi::finish(pxi::kExitOk);
}

// ---- pxi generate ----

struct GenerateArgs {
    std::string input, prompt, executor = "cpu", kernel = "simple", output; // simple: faster at 1 row
    uint32_t tokens = 32, seed = 0, top_k = 0;
    float temperature = 0.0f;
    bool json = false, force = false;
};

void generate_command(const GenerateArgs& a) {
    pxi::check_output(a.output, {a.input}, a.force);
    px::Image image = pxi::load_or_exit(a.input);
    auto g = px::find_gpt_regions(image);
    if (!g) pxi::fail(pxi::kExitUsage, a.input + ": " + g.error().message);
    const px::Bpe bpe = tokenizer_or_exit(image, *g, a.input);
    const std::vector<int32_t> prompt = px::encode(bpe, a.prompt);
    if (prompt.empty()) pxi::fail(pxi::kExitUsage, "--prompt is empty: the program needs at least one token");
    if (px::Status st = px::set_gpt_prompt(image, *g, prompt, a.tokens); !st)
        pxi::fail(pxi::kExitUsage, st.error().message);
    if (px::Status st = px::set_gpt_sampling(image, *g, {a.temperature, a.top_k, a.seed}); !st)
        pxi::fail(pxi::kExitUsage, st.error().message);

    Runner run{a.executor, a.kernel};
    // Every instruction of a pass runs once per token: width steps per token is an upper bound.
    const uint64_t limit = (uint64_t(a.tokens) + 2) * image.width;
    if (std::string e = run.start(image, limit); !e.empty()) pxi::fail(pxi::kExitUsage, e);
    if (!a.json) {
        std::cout << a.prompt;
        std::cout.flush();
    }
    std::vector<int32_t> generated;
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    auto t_first = t0;
    auto is_append = [&](uint32_t pc) {
        return std::find(g->token_append_pcs.begin(), g->token_append_pcs.end(), pc) !=
               g->token_append_pcs.end();
    };
    while (run.status() == px::VmStatus::Ready) {
        const uint32_t pc = run.step();
        if (run.status() == px::VmStatus::Trapped || !is_append(pc)) continue;
        // The step appended next_token to the sequence: that token is the newest text.
        int32_t token = 0;
        if (const px::Image* cpu = run.cpu_image()) {
            token = int32_t(px::element_bits(*cpu, g->next_token, px::DType::I32, 0));
        } else {
            const px::Image now = run.image();
            token = int32_t(px::element_bits(now, g->next_token, px::DType::I32, 0));
        }
        if (generated.empty()) t_first = clock::now();
        generated.push_back(token);
        if (!a.json) {
            auto bytes = px::decode(bpe, std::span(&token, 1));
            if (bytes) std::cout << *bytes;
            std::cout.flush();
        }
    }
    const auto t_end = clock::now();
    if (std::string e = run.gl_errors(); !e.empty()) pxi::fail(pxi::kExitUsage, e);
    if (!a.json) std::cout << "\n" << std::flush;
    if (run.status() == px::VmStatus::Trapped)
        pxi::fail(pxi::kExitFailed, a.input + ": the program trapped: " + px::describe_trap(run.trap()));
    const px::Image final_image = run.image();
    // The streamed tokens must be what the sequence holds: a check on the streaming itself.
    auto seq = px::read_i32_matrix(final_image, g->tokens);
    if (!seq || seq->size() != prompt.size() + generated.size() ||
        !std::equal(generated.begin(), generated.end(), seq->begin() + prompt.size()))
        pxi::fail(pxi::kExitFailed,
                  a.input + ": the sequence in the image does not match the streamed tokens");
    if (!a.output.empty())
        if (px::Status st = px::save_png(final_image, a.output); !st)
            pxi::fail(pxi::kExitUsage, st.error().message);

    const double prefill_ms = std::chrono::duration<double, std::milli>(t_first - t0).count();
    const double decode_ms = std::chrono::duration<double, std::milli>(t_end - t_first).count();
    const size_t decoded = generated.size() - 1;
    const double ms_per_token = decoded ? decode_ms / double(decoded) : prefill_ms;
    auto text = px::decode(bpe, generated);
    const std::string out_text = text ? *text : std::string();
    if (a.json) {
        nlohmann::json j{{"prompt", a.prompt},
                         {"prompt_tokens", prompt},
                         {"tokens", generated},
                         {"text", out_text},
                         {"seed", a.seed},
                         {"temperature", a.temperature},
                         {"top_k", a.top_k},
                         {"executor", a.executor},
                         {"kernel", a.executor == "gl" ? nlohmann::json(a.kernel) : nlohmann::json(nullptr)},
                         {"prefill_ms", prefill_ms},
                         {"decode_ms", decode_ms},
                         {"ms_per_token", ms_per_token}};
        if (!a.output.empty()) j["output"] = a.output;
        print_json_lossy(j);
        std::cout.flush();
    }
    char line[256];
    std::snprintf(line, sizeof line,
                  "pxi: %s: prefill %zu tokens in %.1f ms (%.1f tokens/s, the first new token included); "
                  "decode %zu tokens in %.1f ms (%.2f ms/token, %.1f tokens/s)\n",
                  a.executor.c_str(), prompt.size(), prefill_ms,
                  prefill_ms > 0 ? 1000.0 * prompt.size() / prefill_ms : 0.0, decoded, decode_ms,
                  ms_per_token, decode_ms > 0 ? 1000.0 * double(decoded) / decode_ms : 0.0);
    std::cerr << line;
    pxi::finish(pxi::kExitOk);
}

// ---- pxi attention ----

struct AttentionArgs {
    std::string input, prompt;
    uint32_t tokens = 1;
    int layer = -1; // -1: every layer
};

// Writes the prompt, runs the CPU VM (fast kernels) keeping every step's undo record, and prints
// what gpt_layer_attention recomputes from that history: the probabilities pxdbg's Attention
// window shows, for tests to check against an independent computation (tests/gpt_reference.py).
void attention_command(const AttentionArgs& a) {
    px::Image image = pxi::load_or_exit(a.input);
    auto g = px::find_gpt_regions(image);
    if (!g) pxi::fail(pxi::kExitUsage, a.input + ": " + g.error().message);
    const px::Bpe bpe = tokenizer_or_exit(image, *g, a.input);
    const std::vector<int32_t> prompt = px::encode(bpe, a.prompt);
    if (prompt.empty()) pxi::fail(pxi::kExitUsage, "--prompt is empty: the program needs at least one token");
    if (px::Status st = px::set_gpt_prompt(image, *g, prompt, a.tokens); !st)
        pxi::fail(pxi::kExitUsage, st.error().message);
    if (a.layer >= int(g->config.layers))
        pxi::fail(pxi::kExitUsage, "--layer " + std::to_string(a.layer) + ": the model has " +
                                       std::to_string(g->config.layers) + " layers");
    const uint64_t limit = (uint64_t(a.tokens) + 2) * image.width; // as generate's
    px::VmState vm = px::make_vm(std::move(image), limit);
    const px::PlanExecutor fast = px::fast_executor();
    px::History history;
    while (vm.status == px::VmStatus::Ready) {
        history.emplace_back();
        px::step(vm, &history.back(), fast);
    }
    if (vm.status == px::VmStatus::Trapped)
        pxi::fail(pxi::kExitFailed, a.input + ": the program trapped: " + px::describe_trap(vm.trap));
    auto seq = px::read_i32_matrix(vm.image, g->tokens);
    if (!seq) pxi::fail(pxi::kExitFailed, a.input + ": tokens: " + seq.error().message);
    nlohmann::json layers = nlohmann::json::array();
    for (uint32_t l = 0; l < g->config.layers; ++l) {
        if (a.layer >= 0 && uint32_t(a.layer) != l) continue;
        auto at = px::gpt_layer_attention(history, vm.image, *g, l);
        if (!at) pxi::fail(pxi::kExitFailed, a.input + ": " + at.error().message);
        nlohmann::json heads = nlohmann::json::array();
        for (uint32_t h = 0; h < at->heads; ++h) {
            nlohmann::json rows = nlohmann::json::array();
            for (uint32_t t = 0; t < at->length; ++t) {
                nlohmann::json row = nlohmann::json::array();
                if (at->step[t] != 0)
                    for (uint32_t j = 0; j <= t; ++j)
                        row.push_back(double(at->at(h, t, j)));
                rows.push_back(std::move(row));
            }
            heads.push_back(std::move(rows));
        }
        layers.push_back({{"layer", l},
                          {"length", at->length},
                          {"scale", double(at->scale)},
                          {"q_row", at->q},
                          {"k_cache_row", at->k_cache},
                          {"steps", at->step},
                          {"p", std::move(heads)}});
    }
    pxi::print_json({{"prompt_tokens", prompt},
                     {"tokens", *seq},
                     {"heads", g->config.heads},
                     {"layers", std::move(layers)}});
    pxi::finish(pxi::kExitOk);
}

// ---- pxi eval ----

struct EvalArgs {
    std::string input, text, executor = "cpu", kernel = "tiled";
    uint64_t max_tokens = 0;
    bool json = false;
};

void eval_command(const EvalArgs& a) {
    px::Image image = pxi::load_or_exit(a.input);
    auto g = px::find_gpt_regions(image);
    if (!g) pxi::fail(pxi::kExitUsage, a.input + ": " + g.error().message);
    if (!g->all_logits)
        pxi::fail(pxi::kExitUsage, a.input +
                                       ": keeps only the last row of logits (built with --prefill-logits "
                                       "last); pxi eval needs an image built with --prefill-logits all");
    const px::Bpe bpe = tokenizer_or_exit(image, *g, a.input);
    const std::string text = read_file_or_exit(a.text);
    std::vector<int32_t> ids = px::encode(bpe, text);
    uint64_t bytes = text.size();
    bool truncated = false;
    if (a.max_tokens > 0 && ids.size() > a.max_tokens) {
        ids.resize(a.max_tokens);
        auto part = px::decode(bpe, ids);
        bytes = part ? part->size() : 0;
        truncated = true;
    }
    if (ids.empty()) pxi::fail(pxi::kExitUsage, a.text + ": the text is empty");
    if (px::Status st = px::set_gpt_sampling(image, *g, {0.0f, 0, 0}); !st)
        pxi::fail(pxi::kExitUsage, st.error().message);
    Runner run{a.executor, a.kernel};
    const uint32_t stop_pc = g->sample_pcs.front(); // the prefill's logits are complete here
    double run_ms = 0;
    uint64_t scored = 0;
    auto window_logits = [&](std::span<const int32_t> window) -> px::Result<std::vector<float>> {
        px::Image img = image;
        if (px::Status st = px::set_gpt_prompt(img, *g, window, 1); !st) return st.error();
        if (std::string e = run.start(img, img.width); !e.empty())
            return px::make_error(px::ErrorCode::Gl, e);
        const auto t0 = std::chrono::steady_clock::now();
        while (run.status() == px::VmStatus::Ready && run.pc() != stop_pc)
            run.step();
        if (run.status() != px::VmStatus::Ready)
            return px::make_error(px::ErrorCode::Invalid, run.status() == px::VmStatus::Trapped
                                                              ? px::describe_trap(run.trap())
                                                              : "the program halted before its SAMPLE");
        const px::Image done = run.image();
        run_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        scored += window.size();
        if (std::string e = run.gl_errors(); !e.empty()) return px::make_error(px::ErrorCode::Gl, e);
        return px::read_float_matrix(done, g->logits, px::DType::F32);
    };
    auto r = px::gpt_eval(ids, bytes, g->config.context, g->config.vocab, window_logits);
    if (!r) pxi::fail(pxi::kExitFailed, a.input + ": " + r.error().message);
    if (a.json) {
        pxi::print_json({{"file", a.input},
                         {"text", a.text},
                         {"executor", a.executor},
                         {"tokens", r->tokens},
                         {"bytes", r->bytes},
                         {"windows", r->windows},
                         {"truncated", truncated},
                         {"nats", r->nats},
                         {"loss_per_token", r->loss_per_token},
                         {"perplexity_per_token", r->perplexity},
                         {"bits_per_byte", r->bits_per_byte},
                         {"ms", run_ms},
                         {"tokens_per_s", run_ms > 0 ? 1000.0 * double(scored) / run_ms : 0.0}});
    } else {
        std::printf("%s: %llu tokens, %llu bytes, %llu windows of up to %u: loss %.4f nats/token, perplexity "
                    "%.4f, %.4f bits per byte%s\n",
                    a.text.c_str(), (unsigned long long)r->tokens, (unsigned long long)r->bytes,
                    (unsigned long long)r->windows, g->config.context, r->loss_per_token, r->perplexity,
                    r->bits_per_byte, truncated ? " (truncated by --max-tokens)" : "");
        std::fflush(stdout);
        std::fprintf(stderr, "pxi: %s: prefill %.1f tokens/s (%.1f ms)\n", a.executor.c_str(),
                     run_ms > 0 ? 1000.0 * double(scored) / run_ms : 0.0, run_ms);
    }
    pxi::finish(pxi::kExitOk);
}

void add_kernel_option(CLI::App* cmd, std::string& kernel) {
    cmd->add_option("--kernel", kernel, "matmul kernel of the gl executor (same bytes; speed differs)")
        ->check(CLI::IsMember({"simple", "tiled"}))
        ->capture_default_str();
}

} // namespace

void register_gpt(CLI::App& app) {
    auto a = std::make_shared<GptArgs>();
    CLI::App* cmd = app.add_subcommand(
        "gpt",
        "Build the GPT program (docs/gpt-program.md) from pxtrain's weights, config and a tokenizer image");
    cmd->add_option("--weights", a->weights, "best.npz (docs/gpt-weights.md)")->required();
    cmd->add_option("--config", a->config, "config.json (docs/gpt-weights.md)")->required();
    cmd->add_option("--tokenizer", a->tokenizer, "a .pxi holding the tokenizer (pxi tokenizer train)")
        ->required();
    cmd->add_option("-o,--output", a->output, "the .pxi to write (atomic write)")->required();
    cmd->add_option("--dtype", a->dtype, "f32 (the uint8 program is not implemented yet)")
        ->check(CLI::IsMember({"f32", "u8"}))
        ->capture_default_str();
    cmd->add_option("--prefill-logits", a->logits,
                    "all: the prefill writes T x V logits (pxi eval needs them); last: only the last row "
                    "(a smaller image)")
        ->check(CLI::IsMember({"all", "last"}))
        ->capture_default_str();
    cmd->add_option("--max-new-tokens", a->max_new_tokens, "tokens the image generates as built")
        ->capture_default_str();
    cmd->add_flag("--json", a->json, "print the summary as JSON");
    pxi::add_force_flag(cmd, a->force);
    cmd->callback([a] { gpt_command(*a); });
}

void register_generate(CLI::App& app) {
    auto a = std::make_shared<GenerateArgs>();
    CLI::App* cmd = app.add_subcommand("generate", "Generate text with a GPT program (pxi gpt), streamed");
    cmd->add_option("input", a->input, "the GPT program (.pxi)")->required();
    cmd->add_option("--prompt", a->prompt, "the text to continue (encoded with the image's tokenizer)")
        ->required();
    cmd->add_option("--tokens", a->tokens, "how many tokens to generate (>= 1)")->capture_default_str();
    cmd->add_option("--seed", a->seed, "the PRNG state's start (SAMPLE, PROTOCOL.md 13.5)")
        ->capture_default_str();
    cmd->add_option("--temperature", a->temperature, "0: greedy (argmax)")->capture_default_str();
    cmd->add_option("--top-k", a->top_k, "sample among the k most likely tokens (0: all)")
        ->capture_default_str();
    cmd->add_option("--executor", a->executor, "which executor runs it")
        ->check(CLI::IsMember(kExecutors))
        ->capture_default_str();
    add_kernel_option(cmd, a->kernel);
    cmd->add_flag("--json", a->json, "print one JSON object instead of the streamed text");
    cmd->add_option("-o,--output", a->output, "save the image after the run (atomic write)");
    pxi::add_force_flag(cmd, a->force);
    cmd->callback([a] { generate_command(*a); });
}

void register_attention(CLI::App& app) {
    auto a = std::make_shared<AttentionArgs>();
    CLI::App* cmd = app.add_subcommand(
        "attention", "A GPT program's attention probabilities (JSON), recomputed from its step history");
    cmd->add_option("input", a->input, "the GPT program (.pxi)")->required();
    cmd->add_option("--prompt", a->prompt, "the text to continue")->required();
    cmd->add_option("--tokens", a->tokens, "how many tokens to generate (>= 1)")->capture_default_str();
    cmd->add_option("--layer", a->layer, "only this layer (default: all)");
    cmd->callback([a] { attention_command(*a); });
}

void register_eval(CLI::App& app) {
    auto a = std::make_shared<EvalArgs>();
    CLI::App* cmd = app.add_subcommand(
        "eval", "Score a text with a GPT program, teacher-forced: bits per byte as pxtrain computes them");
    cmd->add_option("input", a->input, "the GPT program (.pxi, built with --prefill-logits all)")->required();
    cmd->add_option("--text", a->text, "the text file to score")->required();
    cmd->add_option("--max-tokens", a->max_tokens, "score only the first N tokens (0: all)")
        ->check(pxi::non_negative())
        ->capture_default_str();
    cmd->add_option("--executor", a->executor, "which executor runs it")
        ->check(CLI::IsMember(kExecutors))
        ->capture_default_str();
    add_kernel_option(cmd, a->kernel);
    cmd->add_flag("--json", a->json, "print the result as JSON");
    cmd->callback([a] { eval_command(*a); });
}
