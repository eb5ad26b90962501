// pxi gpt, pxi generate, pxi eval — the GPT program (engine/models/gpt.h, docs/gpt-program.md):
// build it from pxtrain's weights and a tokenizer image, generate text with it on any executor
// (streamed token by token as the program appends them), and score a text teacher-forced with
// pxtrain's bits-per-byte convention. Outputs are written atomically (save_png).
#include "bench.h"
#include "commands.h"
#include "cpu_fast.h"
#include "debuginfo.h"
#include "gpt.h"
#include "gpt_lens.h"
#include "gpt_runner.h"
#include "gpt_u8.h"
#include "gpt_view.h"
#include "opcodes.h"
#include "png_io.h"
#include "profile.h"
#include "tokenizer_image.h"
#include "vm.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

namespace {

const std::vector<std::string> kExecutors = pxi::gpt_executors();

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
    std::string weights, config, tokenizer, output, dtype = "f32", logits = "all", calibration;
    uint32_t max_new_tokens = 32, calibration_windows = 0;
    std::optional<uint64_t> random_init;   // --random-init SEED instead of --weights
    std::optional<float> presence_penalty; // unset: the source program's, else 0 (off)
    std::optional<uint32_t> penalty_window;
    bool force = false, json = false;
};

bool is_png(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    char magic[8] = {};
    f.read(magic, 8);
    return f.gcount() == 8 && std::string_view(magic, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8);
}

void gpt_command(const GptArgs& a) {
    if (a.weights.empty() == !a.random_init)
        pxi::fail(pxi::kExitUsage, "give exactly one of --weights W and --random-init SEED");
    std::vector<std::string> inputs;
    for (const std::string* s : {&a.weights, &a.config, &a.tokenizer, &a.calibration})
        if (!s->empty()) inputs.push_back(*s);
    // The default calibration text is an input of --dtype u8 too, though nobody named it.
    if (a.dtype == "u8" && a.calibration.empty()) inputs.push_back(PXI_DEFAULT_CALIBRATION);
    pxi::check_output(a.output, inputs, a.force);
    // Weights: pxtrain's best.npz with its config.json, a float32 GPT program (pxi gpt's own
    // output), whose symbols give the weights back and whose chunk is the config, or GPT-2's
    // initialization drawn from a seed (--random-init, with --config).
    px::GptConfig config;
    px::GptWeights weights;
    std::optional<px::Image> source;
    if (!a.random_init && is_png(a.weights)) {
        source = pxi::load_or_exit(a.weights);
        auto g = px::find_gpt_regions(*source);
        if (!g) pxi::fail(pxi::kExitUsage, a.weights + ": " + g.error().message);
        auto w = px::read_gpt_weights(*source, *g);
        if (!w) pxi::fail(pxi::kExitUsage, a.weights + ": " + w.error().message);
        config = g->config, weights = std::move(*w);
        if (!a.config.empty())
            pxi::fail(pxi::kExitUsage, "--config: the weights are a GPT program, which holds its own config");
    } else {
        if (a.config.empty())
            pxi::fail(pxi::kExitUsage, "--config is required with .npz weights and with --random-init");
        auto c = px::read_gpt_config(a.config);
        if (!c) pxi::fail(pxi::kExitUsage, c.error().message);
        config = *c;
        auto w = a.random_init ? px::Result<px::GptWeights>(px::random_gpt_weights(config, *a.random_init))
                               : px::load_gpt_weights(a.weights, config);
        if (!w) pxi::fail(pxi::kExitUsage, w.error().message);
        weights = std::move(*w);
    }
    if (a.tokenizer.empty() && !source)
        pxi::fail(pxi::kExitUsage, "--tokenizer is required with .npz weights and with --random-init");
    const std::string tok_name = a.tokenizer.empty() ? a.weights : a.tokenizer;
    const px::Image tok_image = a.tokenizer.empty() ? *source : pxi::load_or_exit(a.tokenizer);
    auto bpe = px::read_tokenizer(tok_image);
    if (!bpe) pxi::fail(pxi::kExitUsage, tok_name + ": " + bpe.error().message);
    if (bpe->vocab.size() != config.vocab)
        pxi::fail(pxi::kExitUsage,
                  tok_name + ": the tokenizer has " + std::to_string(bpe->vocab.size()) + " tokens but " +
                      (source ? a.weights + "'s vocabulary is " : a.config + " says \"vocab\": ") +
                      std::to_string(config.vocab));
    px::GptBuildOptions opt;
    opt.all_logits = a.logits == "all";
    if (source) { // a rebuild keeps the source program's presence penalty unless told otherwise
        auto g = px::find_gpt_regions(*source); // found above, when the weights were read
        auto now = g ? px::read_gpt_sampling(*source, *g) : px::Result<px::GptSampling>(g.error());
        if (!now) pxi::fail(pxi::kExitUsage, a.weights + ": " + now.error().message);
        opt.presence_penalty = now->presence_penalty, opt.penalty_window = now->penalty_window;
    }
    opt.presence_penalty = a.presence_penalty.value_or(opt.presence_penalty);
    opt.penalty_window = a.penalty_window.value_or(opt.penalty_window);
    if (a.max_new_tokens == 0 || a.max_new_tokens > config.context)
        pxi::fail(pxi::kExitUsage, "--max-new-tokens must be 1.." + std::to_string(config.context) +
                                       " (the context; the image starts with a one-token prompt)");
    opt.max_new_tokens = a.max_new_tokens;
    px::Result<px::Image> img = px::make_error(px::ErrorCode::Usage, "");
    nlohmann::json calibration_json;
    if (a.dtype == "u8") {
        const std::string cal_path =
            a.calibration.empty() ? std::string(PXI_DEFAULT_CALIBRATION) : a.calibration;
        const std::string text = read_file_or_exit(cal_path);
        const std::vector<int32_t> ids = px::encode(*bpe, text);
        auto cal = px::calibrate_gpt(config, weights, *bpe, ids, a.calibration_windows);
        if (!cal) pxi::fail(pxi::kExitUsage, cal_path + ": " + cal.error().message);
        calibration_json = {{"file", cal_path}, {"tokens", cal->tokens}, {"windows", cal->windows}};
        img = px::build_gpt_u8(config, weights, *bpe, *cal, opt);
    } else {
        if (!a.calibration.empty()) pxi::fail(pxi::kExitUsage, "--calibration: only for --dtype u8");
        img = px::build_gpt(config, weights, *bpe, opt);
    }
    if (!img) pxi::fail(pxi::kExitUsage, img.error().message);
    if (px::Status st = px::save_png(*img, a.output); !st) pxi::fail(pxi::kExitUsage, st.error().message);
    const px::GptConfig& c = config;
    if (a.json) {
        nlohmann::json j{{"output", a.output},    {"width", img->width},
                         {"height", img->height}, {"dtype", a.dtype},
                         {"layers", c.layers},    {"model_width", c.width},
                         {"heads", c.heads},      {"context", c.context},
                         {"vocab", c.vocab},      {"parameters", c.parameters()},
                         {"logits", a.logits},    {"pixels", uint64_t(img->width) * img->height}};
        if (!calibration_json.is_null()) j["calibration"] = calibration_json;
        pxi::print_json(j);
    } else {
        std::cout << "wrote " << a.output << " (" << img->width << "x" << img->height << ", GPT " << c.layers
                  << " layers, width " << c.width << ", " << c.heads << " heads, context " << c.context
                  << ", vocabulary " << c.vocab << ", " << c.parameters() << " parameters, "
                  << (a.dtype == "u8" ? "uint8" : "float32") << "; logits: " << a.logits;
        if (!calibration_json.is_null())
            std::cout << "; calibrated on " << calibration_json["tokens"].get<uint64_t>() << " tokens of "
                      << calibration_json["file"].get<std::string>();
        std::cout << ")\n";
    }
    pxi::finish(pxi::kExitOk);
}

// ---- Sampling settings (generate, attention, lens) ----

struct SamplingArgs {
    uint32_t seed = 0, top_k = 0;
    float temperature = 0.0f;
    std::optional<float> presence_penalty; // unset: the program's own
    std::optional<uint32_t> penalty_window;
    // These settings over what the image holds now (`now`, for what was not given).
    px::GptSampling settings(const px::GptSampling& now) const {
        return {temperature, top_k, seed, presence_penalty.value_or(now.presence_penalty),
                penalty_window.value_or(now.penalty_window)};
    }
};

void add_sampling_options(CLI::App* cmd, SamplingArgs& s) {
    cmd->add_option("--seed", s.seed, "the PRNG state's start (SAMPLE, PROTOCOL.md 13.5)")
        ->capture_default_str();
    cmd->add_option("--temperature", s.temperature, "0: greedy (argmax)")->capture_default_str();
    cmd->add_option("--top-k", s.top_k, "sample among the k most likely tokens (0: all)")
        ->capture_default_str();
    cmd->add_option("--presence-penalty", s.presence_penalty,
                    "subtract this from the logit of every token said in the window (PENALIZE, PROTOCOL.md "
                    "13.6; 0: off); default: the program's own");
    cmd->add_option("--penalty-window", s.penalty_window,
                    "the presence penalty looks at the last N tokens (0: all); default: the program's own");
}

// Writes the prompt (at least one token) and the sampling settings into the image, or exits;
// returns the settings now in the image.
px::GptSampling set_prompt_or_exit(px::Image& image, const px::GptRegions& g,
                                   const std::vector<int32_t>& prompt, uint32_t tokens,
                                   const SamplingArgs& s) {
    if (prompt.empty()) pxi::fail(pxi::kExitUsage, "--prompt is empty: the program needs at least one token");
    auto now = px::read_gpt_sampling(image, g);
    if (!now) pxi::fail(pxi::kExitUsage, now.error().message);
    const px::GptSampling settings = s.settings(*now);
    if (px::Status st = px::set_gpt_prompt(image, g, prompt, tokens); !st)
        pxi::fail(pxi::kExitUsage, st.error().message);
    if (px::Status st = px::set_gpt_sampling(image, g, settings); !st)
        pxi::fail(pxi::kExitUsage, st.error().message);
    return settings;
}

// ---- pxi generate ----

struct GenerateArgs {
    std::string input, prompt, executor = "cpu", kernel = "simple", output; // simple: faster at 1 row
    uint32_t tokens = 32;
    SamplingArgs sampling;
    bool json = false, force = false, profile = false;
};

// --profile: per opcode, over the decode passes (one pass per token after the first) and over the
// prefill: instructions executed and per token, time and its share of the pass's time, bytes read
// and written as pixels and as values (engine/debug/profile.h counts them from each plan; the
// bound counts values), and the fraction of the machine's bound reached (ceilings measured before
// the run, as pxi run --profile does).
nlohmann::json gen_profile_json(const px::Profile& p, uint64_t passes) {
    nlohmann::json ops = nlohmann::json::array();
    const double per = passes ? 1.0 / double(passes) : 0.0;
    for (const px::OpProfile& op : p.ops)
        ops.push_back(
            {{"opcode", op.opcode},
             {"name", op.name},
             {"count", op.count},
             {"count_per_token", double(op.count) * per},
             {"ms", op.ms},
             {"ms_per_token", op.ms * per},
             {"share", p.ms > 0 ? op.ms / p.ms : 0.0},
             {"macs", op.work.macs},
             {"elements", op.work.elements},
             {"bytes_read", op.work.bytes_read},
             {"bytes_written", op.work.bytes_written},
             {"bytes_per_token", double(op.work.bytes_read + op.work.bytes_written) * per},
             {"value_bytes_read", op.work.value_bytes_read},
             {"value_bytes_written", op.work.value_bytes_written},
             {"value_bytes_per_token", double(op.work.value_bytes_read + op.work.value_bytes_written) * per},
             {"limit_ms", op.limit_ms},
             {"bound", op.bound},
             {"fraction_of_limit", op.fraction}});
    return {{"passes", passes},
            {"steps", p.steps},
            {"ms", p.ms},
            {"ms_per_token", p.ms * per},
            {"bytes_read", p.work.bytes_read},
            {"bytes_written", p.work.bytes_written},
            {"value_bytes_read", p.work.value_bytes_read},
            {"value_bytes_written", p.work.value_bytes_written},
            {"limit_ms", p.limit_ms},
            {"fraction_of_limit", p.fraction},
            {"ops", ops}};
}

void print_gen_profile(const std::string& title, const px::Profile& p, uint64_t passes) {
    const double per = passes ? 1.0 / double(passes) : 0.0;
    std::printf("%s: %llu pass%s, %.3f ms per pass\n", title.c_str(), (unsigned long long)passes,
                passes == 1 ? "" : "es", p.ms * per);
    std::printf("  %-10s %9s %10s %6s %12s %12s %12s %8s %8s\n", "opcode", "per pass", "ms/pass", "share",
                "MAC/pass", "pixel MB", "value MB", "bound", "of bound");
    auto row = [&](const std::string& name, uint64_t count, double ms, const px::PlanWork& w,
                   const std::string& bound, double fraction) {
        std::printf("  %-10s %9.1f %10.4f %5.1f%% %12.0f %12.4f %12.4f %8s %8.3f\n", name.c_str(),
                    double(count) * per, ms * per, p.ms > 0 ? 100.0 * ms / p.ms : 0.0, double(w.macs) * per,
                    double(w.bytes_read + w.bytes_written) * per / 1e6,
                    double(w.value_bytes_read + w.value_bytes_written) * per / 1e6, bound.c_str(), fraction);
    };
    for (const px::OpProfile& op : p.ops)
        row(op.name, op.count, op.ms, op.work, op.bound, op.fraction);
    row("total", p.steps, p.ms, p.work, "", p.fraction);
}

void generate_command(const GenerateArgs& a) {
    if (a.profile && a.executor == "gl")
        pxi::fail(pxi::kExitUsage, "--profile times each step on the CPU: use --executor cpu or cpu-ref");
    if (a.profile && a.tokens < 2)
        pxi::fail(pxi::kExitUsage, "--profile needs --tokens 2 or more: the decode pass runs once per token "
                                   "after the first");
    pxi::check_output(a.output, {a.input}, a.force);
    px::Image image = pxi::load_or_exit(a.input);
    auto g = px::find_gpt_regions(image);
    if (!g) pxi::fail(pxi::kExitUsage, a.input + ": " + g.error().message);
    const px::Bpe bpe = tokenizer_or_exit(image, *g, a.input);
    const std::vector<int32_t> prompt = px::encode(bpe, a.prompt);
    const px::GptSampling sampling = set_prompt_or_exit(image, *g, prompt, a.tokens, a.sampling);

    pxi::GptRunner run{a.executor, a.kernel};
    // Every instruction of a pass runs once per token: width steps per token is an upper bound.
    const uint64_t limit = (uint64_t(a.tokens) + 2) * image.width;
    px::MachinePeaks peaks;
    std::string peaks_what;
    if (a.profile) { // measured first, off the clock (about a second)
        const unsigned threads = a.executor == "cpu" ? std::max(1u, std::thread::hardware_concurrency()) : 1u;
        const pxbench::ProfilePeaks pp =
            pxbench::measure_profile_peaks(threads, px::gpt_weight_bytes(*g), "the weights' values");
        peaks.int_gmacs = pp.int_gmacs, peaks.float_gmacs = pp.float_gmacs, peaks.read_gbs = pp.read_gbs;
        peaks_what = pp.what;
        run.profiling = true;
    }
    if (std::string e = run.start(std::move(image), limit); !e.empty()) pxi::fail(pxi::kExitUsage, e);
    if (!a.json) {
        std::cout << a.prompt;
        std::cout.flush();
    }
    std::vector<int32_t> generated;
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    auto t_first = t0;
    const double cpu0 = pxi::process_cpu_ms();
    double cpu_first = cpu0;
    auto is_append = [&](uint32_t pc) {
        return std::find(g->token_append_pcs.begin(), g->token_append_pcs.end(), pc) !=
               g->token_append_pcs.end();
    };
    run.run_to_end([&](uint32_t pc) {
        if (run.status() == px::VmStatus::Trapped || !is_append(pc)) return;
        // The step appended next_token to the sequence: that token is the newest text.
        int32_t token = 0;
        if (const px::Image* cpu = run.cpu_image()) {
            token = int32_t(px::element_bits(*cpu, g->next_token, px::DType::I32, 0));
        } else {
            const px::Image& now = run.image();
            token = int32_t(px::element_bits(now, g->next_token, px::DType::I32, 0));
        }
        if (generated.empty()) t_first = clock::now(), cpu_first = pxi::process_cpu_ms();
        generated.push_back(token);
        if (!a.json) {
            auto bytes = px::decode(bpe, std::span(&token, 1));
            if (bytes) std::cout << *bytes;
            std::cout.flush();
        }
    });
    const auto t_end = clock::now();
    const double cpu_end = pxi::process_cpu_ms();
    if (std::string e = run.gl_errors(); !e.empty()) pxi::fail(pxi::kExitUsage, e);
    if (!a.json) std::cout << "\n" << std::flush;
    if (run.status() == px::VmStatus::Trapped)
        pxi::fail(pxi::kExitFailed, a.input + ": the program trapped: " + px::describe_trap(run.trap()));
    const px::Image& final_image = run.image();
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
    px::Profile prof_decode, prof_prefill;
    if (a.profile) {
        prof_decode = px::finish_profile(run.decode, &peaks);
        prof_prefill = px::finish_profile(run.prefill, &peaks);
    }
    if (a.json) {
        nlohmann::json j{{"prompt", a.prompt},
                         {"prompt_tokens", prompt},
                         {"tokens", generated},
                         {"text", out_text},
                         {"seed", a.sampling.seed},
                         {"temperature", a.sampling.temperature},
                         {"top_k", a.sampling.top_k},
                         {"presence_penalty", sampling.presence_penalty},
                         {"penalty_window", sampling.penalty_window},
                         {"executor", a.executor},
                         {"kernel", a.executor == "gl" ? nlohmann::json(a.kernel) : nlohmann::json(nullptr)},
                         {"prefill_ms", prefill_ms},
                         {"decode_ms", decode_ms},
                         {"ms_per_token", ms_per_token},
                         // CPU time of the process (all threads) over the same spans
                         {"prefill_cpu_ms", cpu_first - cpu0},
                         {"decode_cpu_ms", cpu_end - cpu_first}};
        if (!a.output.empty()) j["output"] = a.output;
        if (a.profile)
            j["profile"] = {{"peaks", peaks_what},
                            {"decode", gen_profile_json(prof_decode, decoded)},
                            {"prefill", gen_profile_json(prof_prefill, 1)}};
        print_json_lossy(j);
        std::cout.flush();
    }
    if (a.profile && !a.json) {
        std::printf("profile (%s; step times only, the host's token reads excluded)\n", peaks_what.c_str());
        print_gen_profile("decode", prof_decode, decoded);
        print_gen_profile("prefill (" + std::to_string(prompt.size()) + " tokens)", prof_prefill, 1);
        std::fflush(stdout);
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
    SamplingArgs sampling;
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
    set_prompt_or_exit(image, *g, prompt, a.tokens, a.sampling);
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
                          {"op", at->op},
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
    if (px::Status st = px::set_gpt_sampling(image, *g, {.temperature = 0.0f, .top_k = 0, .seed = 0}); !st)
        pxi::fail(pxi::kExitUsage, st.error().message);
    pxi::GptRunner run{a.executor, a.kernel};
    // The prefill's logits are complete at its PENALIZE (or, in a program without one, its SAMPLE).
    const uint32_t stop_pc = g->penalize_pcs.empty() ? g->sample_pcs.front() : g->penalize_pcs.front();
    double run_ms = 0;
    uint64_t scored = 0;
    auto window_logits = [&](std::span<const int32_t> window) -> px::Result<std::vector<float>> {
        px::Image img = image;
        if (px::Status st = px::set_gpt_prompt(img, *g, window, 1); !st) return st.error();
        if (std::string e = run.start(std::move(img), image.width); !e.empty())
            return px::make_error(px::ErrorCode::Gl, e);
        const auto t0 = std::chrono::steady_clock::now();
        while (run.status() == px::VmStatus::Ready && run.pc() != stop_pc)
            run.step();
        if (run.status() != px::VmStatus::Ready)
            return px::make_error(px::ErrorCode::Invalid, run.status() == px::VmStatus::Trapped
                                                              ? px::describe_trap(run.trap())
                                                              : "the program halted before its SAMPLE");
        const px::Image& done = run.image();
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
    cmd->add_option("--weights", a->weights,
                    "best.npz (docs/gpt-weights.md), or a float32 GPT program (.pxi) whose weights, config "
                    "and tokenizer are used");
    cmd->add_option("--random-init", a->random_init,
                    "instead of --weights: GPT-2's initialization, seeded (engine/models/gpt.h "
                    "random_gpt_weights), built in memory; needs --config and --tokenizer");
    cmd->add_option("--config", a->config, "config.json (docs/gpt-weights.md); with .npz weights");
    cmd->add_option("--tokenizer", a->tokenizer,
                    "a .pxi holding the tokenizer (pxi tokenizer train); default with .pxi weights: theirs");
    cmd->add_option("-o,--output", a->output, "the .pxi to write (atomic write)")->required();
    cmd->add_option("--dtype", a->dtype, "f32, or u8: the integer-only program (docs/gpt-program.md)")
        ->check(CLI::IsMember({"f32", "u8"}))
        ->capture_default_str();
    cmd->add_option("--calibration", a->calibration,
                    "u8: the text whose activations set the scales (default: assets/calibration.txt)");
    cmd->add_option("--calibration-windows", a->calibration_windows,
                    "u8: calibrate on at most N windows of the context (0: the whole text)")
        ->capture_default_str();
    cmd->add_option("--prefill-logits", a->logits,
                    "all: the prefill writes T x V logits (pxi eval needs them); last: only the last row "
                    "(a smaller image)")
        ->check(CLI::IsMember({"all", "last"}))
        ->capture_default_str();
    cmd->add_option("--max-new-tokens", a->max_new_tokens, "tokens the image generates as built")
        ->capture_default_str();
    cmd->add_option("--presence-penalty", a->presence_penalty,
                    "PENALIZE's penalty as built (PROTOCOL.md 13.6; 0: off); default: the --weights "
                    "program's, else 0");
    cmd->add_option(
        "--penalty-window", a->penalty_window,
        "the last N tokens the penalty looks at (0: all); default: the --weights program's, else 64");
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
    add_sampling_options(cmd, a->sampling);
    cmd->add_option("--executor", a->executor, "which executor runs it")
        ->check(CLI::IsMember(kExecutors))
        ->capture_default_str();
    add_kernel_option(cmd, a->kernel);
    cmd->add_flag("--json", a->json, "print one JSON object instead of the streamed text");
    cmd->add_flag("--profile", a->profile,
                  "time every step (cpu, cpu-ref): per opcode, the decode pass's and the prefill's time, "
                  "count, bytes and share (engine/debug/profile.h)");
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
    add_sampling_options(cmd, a->sampling);
    cmd->callback([a] { attention_command(*a); });
}

// ---- pxi lens ----

struct LensArgs {
    std::string input, reference, prompt;
    uint32_t tokens = 1, top = 5;
    std::vector<std::string> regions; // empty: every activation with a scale
    bool values = false;
    SamplingArgs sampling;
};

// The quantization lens pxdbg shows (engine/models/gpt_lens.h): writes the prompt into the uint8
// program, runs it to the end on the CPU executor, and compares each activation with the float32
// program's after the same tokens; then both programs' next-token candidates. JSON, for tests to
// check against an independent computation (tests/gpt_reference.py lens).
void lens_command(const LensArgs& a) {
    px::Image image = pxi::load_or_exit(a.input);
    auto g = px::find_gpt_regions(image);
    if (!g) pxi::fail(pxi::kExitUsage, a.input + ": " + g.error().message);
    if (!g->weights_u8)
        pxi::fail(pxi::kExitUsage, a.input + ": not a uint8 GPT program (pxi gpt --dtype u8)");
    auto ref = px::open_gpt_float_reference(pxi::load_or_exit(a.reference), *g);
    if (!ref) pxi::fail(pxi::kExitUsage, a.reference + ": " + ref.error().message);
    const px::Bpe bpe = tokenizer_or_exit(image, *g, a.input);
    const std::vector<int32_t> prompt = px::encode(bpe, a.prompt);
    const px::GptSampling sampling = set_prompt_or_exit(image, *g, prompt, a.tokens, a.sampling);
    const std::vector<px::Region> symbols = px::program_regions(image);
    const std::vector<std::string> names =
        a.regions.empty() ? px::gpt_lens_activations(*g, symbols) : a.regions;
    const uint64_t limit = (uint64_t(a.tokens) + 2) * image.width; // as generate's
    px::VmState vm = px::make_vm(std::move(image), limit);
    px::run(vm, {.execute = px::fast_executor()});
    if (vm.status == px::VmStatus::Trapped)
        pxi::fail(pxi::kExitFailed, a.input + ": the program trapped: " + px::describe_trap(vm.trap));
    auto seq = px::read_i32_matrix(vm.image, g->tokens);
    if (!seq) pxi::fail(pxi::kExitFailed, a.input + ": tokens: " + seq.error().message);
    nlohmann::json out = nlohmann::json::array();
    for (const std::string& name : names) {
        auto lens = px::gpt_quant_lens(vm.image, *g, symbols, vm.pc, *ref, name);
        if (!lens) pxi::fail(pxi::kExitUsage, a.input + ": " + lens.error().message);
        nlohmann::json j = {{"name", lens->name},         {"type", std::string(px::dtype_name(lens->type))},
                            {"scale", lens->scale},       {"zero_point", lens->zero_point},
                            {"first", lens->at.first},    {"rows", lens->at.rows},
                            {"cols", lens->at.cols},      {"sequence", lens->at.sequence},
                            {"max_abs", lens->max_abs},   {"max_row", lens->max_row},
                            {"max_col", lens->max_col},   {"mean_abs", lens->mean_abs},
                            {"rms", lens->rms},           {"reference_rms", lens->reference_rms},
                            {"relative", lens->relative}, {"within_half_step", lens->within_half_step}};
        if (a.values) {
            j["quantized"] = lens->quantized;
            j["reference"] = lens->reference;
        }
        out.push_back(std::move(j));
    }
    // Next-token candidates after the whole sequence but its last token (the one the last pass
    // sampled): the uint8 program's last logits row, and the float32 program's for the same ids.
    auto top_json = [&](const std::vector<px::GptCandidate>& top) {
        nlohmann::json t = nlohmann::json::array();
        for (const px::GptCandidate& c : top)
            t.push_back({{"id", c.id},
                         {"logit", double(c.logit)},
                         {"probability", c.probability},
                         {"text", px::escape_bytes(px::gpt_token_bytes(bpe, c.id))}});
        return t;
    };
    auto logits = px::gpt_last_logits(vm.image, *g);
    if (!logits) pxi::fail(pxi::kExitFailed, a.input + ": " + logits.error().message);
    const std::span<const int32_t> context = std::span<const int32_t>(*seq).first(seq->size() - 1);
    auto ref_top = px::gpt_reference_top_k(*ref, context, a.top);
    if (!ref_top) pxi::fail(pxi::kExitFailed, a.reference + ": " + ref_top.error().message);
    pxi::print_json({{"prompt_tokens", prompt},
                     {"tokens", *seq},
                     {"pc", vm.pc},
                     {"regions", std::move(out)},
                     {"top_k", top_json(px::gpt_top_k(*logits, a.top, sampling, context))},
                     {"reference_top_k", top_json(*ref_top)}});
    pxi::finish(pxi::kExitOk);
}

void register_lens(CLI::App& app) {
    auto a = std::make_shared<LensArgs>();
    CLI::App* cmd = app.add_subcommand(
        "lens",
        "The quantization lens (JSON): a uint8 GPT program's activations against its float32 program's");
    cmd->add_option("input", a->input, "the uint8 GPT program (.pxi)")->required();
    cmd->add_option("--reference", a->reference, "the float32 GPT program of the same weights (.pxi)")
        ->required();
    cmd->add_option("--prompt", a->prompt, "the text to continue")->required();
    cmd->add_option("--tokens", a->tokens, "how many tokens to generate (>= 1)")->capture_default_str();
    cmd->add_option(
        "--region", a->regions,
        "only this activation (repeatable; default: every one, in the order the program computes them)");
    cmd->add_option("--top", a->top, "next-token candidates to list")->capture_default_str();
    cmd->add_flag("--values", a->values, "include every element's dequantized and reference value");
    add_sampling_options(cmd, a->sampling);
    cmd->callback([a] { lens_command(*a); });
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
