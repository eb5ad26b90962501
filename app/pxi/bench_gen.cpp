#include "bench_gen.h"

#include "bench.h"
#include "bpe.h"
#include "commands.h"
#include "gpt.h"
#include "gpt_runner.h"
#include "png_io.h"
#include "tokenizer_image.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace pxbench {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// The Brown corpus's first sentence (the model's training text): about 30 tokens, so the prefill
// figure is a real batch, not the first token's latency.
constexpr const char* kPrompt =
    "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election "
    "produced no evidence that any irregularities took place.";

double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::array<double, 3> load_average() {
    std::array<double, 3> l{-1, -1, -1};
    std::ifstream in("/proc/loadavg");
    in >> l[0] >> l[1] >> l[2];
    return l;
}

struct OneRun {
    std::vector<int32_t> tokens; // the generated ones
    double prefill_ms = 0, decode_ms = 0;
    double decode_cpu_ms = 0; // the process's CPU time over the decode (every thread)
    std::string error;
};

// One greedy generation of `tokens` tokens from `image` (prompt already written). The clock
// stops after the step that appends each token; the tokens are read from the final image (no
// readback per token: the GL executor would pay for a whole image each time).
OneRun run_once(pxi::GptRunner& run, const px::Image& image, const px::GptRegions& g, size_t prompt_len,
                uint32_t tokens) {
    OneRun r;
    const uint64_t limit = (uint64_t(tokens) + 2) * image.width;
    if (std::string e = run.start(image, limit); !e.empty()) {
        r.error = e;
        return r;
    }
    auto is_append = [&](uint32_t pc) {
        return std::find(g.token_append_pcs.begin(), g.token_append_pcs.end(), pc) !=
               g.token_append_pcs.end();
    };
    const auto t0 = Clock::now();
    auto t_first = t0;
    const double cpu0 = pxi::process_cpu_ms();
    double cpu_first = cpu0;
    bool first = true;
    run.run_to_end([&](uint32_t pc) {
        if (first && run.status() != px::VmStatus::Trapped && is_append(pc)) {
            t_first = Clock::now();
            cpu_first = pxi::process_cpu_ms();
            first = false;
        }
    });
    const auto t_end = Clock::now();
    r.decode_cpu_ms = pxi::process_cpu_ms() - cpu_first;
    if (std::string e = run.gl_errors(); !e.empty()) r.error = e;
    if (run.status() == px::VmStatus::Trapped) r.error = "trapped: " + px::describe_trap(run.trap());
    if (!r.error.empty()) return r;
    r.prefill_ms = ms_between(t0, t_first);
    r.decode_ms = ms_between(t_first, t_end);
    auto seq = px::read_i32_matrix(run.image(), g.tokens);
    if (!seq || seq->size() != prompt_len + tokens) {
        r.error = "the sequence does not hold the prompt and " + std::to_string(tokens) + " tokens";
        return r;
    }
    r.tokens.assign(seq->begin() + long(prompt_len), seq->end());
    return r;
}

struct ExecutorResult {
    std::string name;
    unsigned threads = 1;
    int runs = 0;
    double prefill_ms = 0, ms_per_token = 0, cpu_ms_per_token = 0;
    std::vector<int32_t> tokens;
    // The optimized CPU executor's loop iterations under each work-per-thread threshold, over all its
    // runs (the warm-up's too: the executor keeps what it learned), and its changes of mind
    // (px::SplitTuner); has_split only for that executor.
    bool has_split = false;
    px::FastStats split;
    std::string error;
};

struct PeerResult {
    bool built = false;
    std::string note, library, blas;
    unsigned threads = 0;
    double prefill_ms = 0, ms_per_token = 0, cpu_ms_per_token = 0;
    std::vector<int32_t> tokens;
};

// pxi-torch-peer beside this pxi (app/CMakeLists.txt builds it there when libtorch was found).
std::string peer_path() {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return "";
    const auto p = exe.parent_path() / "pxi-torch-peer";
    return std::filesystem::exists(p, ec) ? p.string() : "";
}

std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s)
        q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

PeerResult run_peer(const std::string& program, const std::vector<int32_t>& prompt, uint32_t tokens,
                    unsigned threads, int runs) {
    PeerResult p;
    const std::string exe = peer_path();
    if (exe.empty()) {
        p.note = "not built (no pxi-torch-peer beside pxi: libtorch-dev was not found at configure time, or "
                 "the target was not built; ./dev.sh bench installs and builds it)";
        return p;
    }
    std::string ids;
    for (int32_t id : prompt)
        ids += (ids.empty() ? "" : ",") + std::to_string(id);
    // Its OpenMP threads wait passively unless the caller says otherwise (./dev.sh bench does the
    // same): spinning threads that lose their core to another process stall every product.
    const std::string cmd = "OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} " + shell_quote(exe) + " " +
                            shell_quote(program) + " --ids " + ids + " --tokens " + std::to_string(tokens) +
                            " --threads " + std::to_string(threads) + " --runs " + std::to_string(runs) +
                            " 2>&1";
    FILE* f = popen(cmd.c_str(), "r");
    if (!f) {
        p.note = "cannot start " + exe;
        return p;
    }
    std::string out;
    std::array<char, 4096> buf;
    for (size_t n; (n = fread(buf.data(), 1, buf.size(), f)) > 0;)
        out.append(buf.data(), n);
    const int rc = pclose(f);
    const size_t at = out.rfind("\n{");
    const json j = json::parse(at == std::string::npos ? out : out.substr(at + 1), nullptr, false);
    if (j.is_discarded() || !j.is_object() || j.contains("error") || rc != 0) {
        p.note = exe + " failed (exit " + std::to_string(rc) + "): " +
                 (j.is_object() && j.contains("error") ? j["error"].get<std::string>() : out.substr(0, 300));
        return p;
    }
    p.built = true;
    p.library = j.value("library", "");
    p.blas = j.value("blas", "");
    p.threads = j.value("threads", 0u);
    p.prefill_ms = j.value("prefill_ms", 0.0);
    p.ms_per_token = j["ms_per_token"].is_number() ? j["ms_per_token"].get<double>() : 0.0;
    p.cpu_ms_per_token = j["cpu_ms_per_token"].is_number() ? j["cpu_ms_per_token"].get<double>() : 0.0;
    for (const auto& t : j["tokens"])
        p.tokens.push_back(t.get<int32_t>());
    const char* core = std::getenv("OPENBLAS_CORETYPE");
    const char* wait = std::getenv("OMP_WAIT_POLICY");
    p.note = std::string("float32, key/value cache, greedy; OPENBLAS_CORETYPE ") + (core ? core : "unset") +
             ", OMP_WAIT_POLICY " + (wait ? wait : "PASSIVE");
    return p;
}

std::string fmt(const char* f, double v) {
    char b[64];
    std::snprintf(b, sizeof b, f, v);
    return b;
}

// What the optimized CPU executor's SplitTuner did, for the JSON (null for other executors).
json split_json(const ExecutorResult& er) {
    if (!er.has_split) return nullptr;
    const px::FastSettings defaults;
    return {{"min_macs_per_thread", defaults.min_macs_per_thread},
            {"min_macs_per_thread_eager", defaults.min_macs_per_thread_eager},
            {"iterations_few", er.split.split_iterations_few},
            {"iterations_eager", er.split.split_iterations_eager},
            {"switches", er.split.split_switches}};
}

// The same in one line: "loop iterations timed 120: 104 under 8192 multiply-adds a thread, 16 under
// 24576 (1 switch of the one kept)".
std::string split_text(const px::FastStats& s) {
    const px::FastSettings defaults;
    const uint64_t timed = s.split_iterations_few + s.split_iterations_eager;
    return "loop iterations timed " + std::to_string(timed) + ": " +
           std::to_string(s.split_iterations_eager) + " under " +
           std::to_string(defaults.min_macs_per_thread_eager) + " multiply-adds a thread, " +
           std::to_string(s.split_iterations_few) + " under " + std::to_string(defaults.min_macs_per_thread) +
           " (" + std::to_string(s.split_switches) + (s.split_switches == 1 ? " switch" : " switches") +
           " of the one kept)";
}

// Times each of ers[i] on images[i] (the executor `executor`, or er.name where it is empty: cpu,
// cpu-ref or gl; cpu on er.threads): `runs` generations after one that warms up, one run of each
// in turn, so that a change in the host's load falls on every variant alike; medians into each er,
// its last run's tokens, or its error.
void measure_interleaved(const std::vector<ExecutorResult*>& ers, const std::vector<const px::Image*>& images,
                         const std::string& executor, const px::GptRegions& g, size_t prompt_len,
                         uint32_t tokens, int runs) {
    std::vector<std::unique_ptr<pxi::GptRunner>> runners;
    for (ExecutorResult* er : ers) {
        const std::string name = executor.empty() ? er->name : executor;
        runners.push_back(std::make_unique<pxi::GptRunner>(name, "simple")); // simple: faster at 1 row on GL
        if (name == "cpu") {
            px::FastSettings fs;
            fs.threads = er->threads;
            fs.stats = &er->split;
            runners.back()->execute = px::fast_executor(fs);
            er->has_split = true;
        }
    }
    std::vector<std::vector<double>> prefill(ers.size()), decode(ers.size()), decode_cpu(ers.size());
    for (int r = 0; r <= runs; ++r)
        for (size_t v = 0; v < ers.size(); ++v) {
            ExecutorResult& er = *ers[v];
            if (!er.error.empty()) continue;
            OneRun one = run_once(*runners[v], *images[v], g, prompt_len, tokens);
            if (!one.error.empty()) {
                er.error = one.error;
                continue;
            }
            if (r == 0) continue;
            prefill[v].push_back(one.prefill_ms);
            decode[v].push_back(one.decode_ms / double(tokens - 1));
            decode_cpu[v].push_back(one.decode_cpu_ms / double(tokens - 1));
            er.tokens = one.tokens;
            ++er.runs;
        }
    for (size_t v = 0; v < ers.size(); ++v) {
        ers[v]->prefill_ms = median(prefill[v]);
        ers[v]->ms_per_token = median(decode[v]);
        ers[v]->cpu_ms_per_token = median(decode_cpu[v]);
    }
}
void measure_executor(ExecutorResult& er, const std::string& executor, const px::Image& image,
                      const px::GptRegions& g, size_t prompt_len, uint32_t tokens, int runs) {
    measure_interleaved({&er}, {&image}, executor, g, prompt_len, tokens, runs);
}

} // namespace

GenReport measure_generation(const GenOptions& o) {
    GenReport rep;
    const auto load_before = load_average();
    const unsigned threads = o.threads ? o.threads : std::max(1u, std::thread::hardware_concurrency());
    auto say = [&](const std::string& s) {
        if (o.progress) std::cerr << "pxi: bench: " << s << "\n";
    };
    json& j = rep.json;
    j["program"] = o.program;
    auto loaded = px::load_png(o.program);
    if (!loaded) {
        rep.errors.push_back("generation: " + loaded.error().message);
        j["error"] = loaded.error().message;
        return rep;
    }
    px::Image image = std::move(loaded->image);
    auto g = px::find_gpt_regions(image);
    auto bpe = g ? px::read_tokenizer(image) : px::Result<px::Bpe>(g.error());
    if (!g || !bpe) {
        const std::string e = o.program + ": " + (g ? bpe.error().message : g.error().message);
        rep.errors.push_back("generation: " + e);
        j["error"] = e;
        return rep;
    }
    const px::GptConfig c = g->config;
    const std::vector<int32_t> prompt = px::encode(*bpe, kPrompt);
    const uint32_t tokens = o.quick ? 4 : 32;
    const int runs = o.quick ? 1 : 3;
    if (px::Status st = px::set_gpt_prompt(image, *g, prompt, tokens); !st) {
        rep.errors.push_back("generation: " + st.error().message);
        j["error"] = st.error().message;
        return rep;
    }
    // Greedy and no presence penalty, as the libtorch peer decodes: the same work per token.
    (void)px::set_gpt_sampling(image, *g,
                               {.temperature = 0.0f, .top_k = 0, .seed = 0, .presence_penalty = 0.0f});

    // The decode pass's bound: every weight read once per token (px::gpt_weight_bytes).
    const uint64_t weight_bytes = px::gpt_weight_bytes(*g);
    say("generation: measuring the read bandwidth of a " + fmt("%.1f", double(weight_bytes) / 1e6) +
        " MB working set");
    const ProfilePeaks peaks = measure_profile_peaks(threads, weight_bytes, "the weights' values");
    const double bound_ms = peaks.read_gbs > 0 ? double(weight_bytes) / (peaks.read_gbs * 1e6) : 0;

    std::vector<std::string> names = pxi::gpt_executors();
    if (!o.gl) names.erase(std::remove(names.begin(), names.end(), "gl"), names.end());
    std::vector<ExecutorResult> results;
    for (const std::string& name : names) {
        ExecutorResult er;
        er.name = name;
        er.threads = name == "cpu" ? threads : 1;
        say("generation: " + name + ", " + std::to_string(prompt.size()) + "-token prompt, " +
            std::to_string(tokens) + " tokens");
        measure_executor(er, name, image, *g, prompt.size(), tokens, runs);
        if (!er.error.empty()) rep.errors.push_back("generation: " + name + ": " + er.error);
        results.push_back(er);
    }
    // The peer computes the head for the prompt's last position only, while a program built for
    // pxi eval writes every position's logits (the head is about a third of a prefill's
    // multiply-adds). The same weights built as `pxi gpt --prefill-logits last` builds them give
    // the prefill of the same work as the peer's. (Not for the uint8 program: its rebuild needs
    // its calibration, and the peer does not run it.)
    const bool cpu_ran = std::find(names.begin(), names.end(), "cpu") != names.end();
    if (g->all_logits && !g->weights_u8 && cpu_ran) {
        ExecutorResult er;
        er.name = "cpu-last-row";
        er.threads = threads;
        say("generation: cpu on the same weights with the last row's logits only");
        auto w = px::read_gpt_weights(image, *g);
        px::GptBuildOptions bo;
        bo.all_logits = false;
        auto built = w ? px::build_gpt(c, *w, *bpe, bo) : px::Result<px::Image>(w.error());
        auto g2 = built ? px::find_gpt_regions(*built) : px::Result<px::GptRegions>(built.error());
        px::Status st = g2 ? px::set_gpt_prompt(*built, *g2, prompt, tokens) : px::Status(g2.error());
        if (st)
            st = px::set_gpt_sampling(*built, *g2,
                                      {.temperature = 0.0f, .top_k = 0, .seed = 0, .presence_penalty = 0.0f});
        if (!st)
            er.error = "rebuilding with the last row's logits: " + st.error().message;
        else
            measure_executor(er, "cpu", *built, *g2, prompt.size(), tokens, runs);
        if (!er.error.empty()) rep.errors.push_back("generation: " + er.name + ": " + er.error);
        results.push_back(er);
    }
    // Parity: every executor wrote the cpu-ref's tokens.
    const ExecutorResult* ref = nullptr;
    for (const ExecutorResult& er : results)
        if (er.name == "cpu-ref" && er.error.empty()) ref = &er;
    for (const ExecutorResult& er : results)
        if (ref && er.error.empty() && er.tokens != ref->tokens) {
            rep.parity_ok = false;
            rep.errors.push_back("generation: PARITY FAILURE: " + er.name +
                                 " wrote other tokens than cpu-ref");
        }

    // What sampling costs (SAMPLE, PROTOCOL.md 13.5, instead of the argmax): the optimized CPU
    // executor's decode at temperature 0.8 with top-k 40 and over the whole vocabulary, each run in
    // turn with a greedy run (the host's load moves more than sampling costs); each variant's
    // tokens against one cpu-ref run of the same settings.
    struct SampledResult {
        uint32_t top_k = 0;
        ExecutorResult cpu;
        bool same_as_ref = false;
    };
    std::vector<SampledResult> sampled;
    ExecutorResult greedy_beside;
    const px::GptSampling sampled_settings{
        .temperature = 0.8f, .top_k = 0, .seed = 1, .presence_penalty = 0.0f};
    if (cpu_ran && ref) {
        say("generation: cpu sampling at temperature 0.8, top-k 40 and the whole vocabulary, beside greedy");
        greedy_beside.name = "cpu";
        greedy_beside.threads = threads;
        std::vector<px::Image> images;
        for (uint32_t top_k : {40u, 0u}) {
            SampledResult sr;
            sr.top_k = top_k, sr.cpu.name = "cpu", sr.cpu.threads = threads;
            images.push_back(image);
            px::GptSampling settings = sampled_settings;
            settings.top_k = top_k;
            if (px::Status st = px::set_gpt_sampling(images.back(), *g, settings); !st)
                sr.cpu.error = st.error().message;
            sampled.push_back(std::move(sr));
        }
        std::vector<ExecutorResult*> ers{&greedy_beside};
        std::vector<const px::Image*> on{&image};
        for (size_t i = 0; i < sampled.size(); ++i)
            ers.push_back(&sampled[i].cpu), on.push_back(&images[i]);
        measure_interleaved(ers, on, "", *g, prompt.size(), tokens, runs);
        for (size_t i = 0; i < sampled.size(); ++i) {
            SampledResult& sr = sampled[i];
            if (sr.cpu.error.empty()) {
                pxi::GptRunner ref_run{"cpu-ref", "simple"};
                OneRun one = run_once(ref_run, images[i], *g, prompt.size(), tokens);
                sr.cpu.error = one.error;
                sr.same_as_ref = sr.cpu.error.empty() && one.tokens == sr.cpu.tokens;
                if (sr.cpu.error.empty() && !sr.same_as_ref) {
                    rep.parity_ok = false;
                    rep.errors.push_back(
                        "generation: PARITY FAILURE: cpu sampled other tokens than cpu-ref at top-k " +
                        std::to_string(sr.top_k));
                }
            }
            if (!sr.cpu.error.empty())
                rep.errors.push_back("generation: cpu sampling at top-k " + std::to_string(sr.top_k) + ": " +
                                     sr.cpu.error);
        }
    }

    say("generation: libtorch peer");
    PeerResult peer;
    if (g->weights_u8)
        peer.note = "not run: the uint8 program holds quantized weights; the peer runs a float32 program's "
                    "weights (bench the float32 build, e.g. assets/gpt_brown_f32.pxi)";
    else
        peer = run_peer(o.program, prompt, tokens, threads, runs);
    size_t agree_prefix = 0, agree = 0;
    if (peer.built && ref) {
        while (agree_prefix < peer.tokens.size() && agree_prefix < ref->tokens.size() &&
               peer.tokens[agree_prefix] == ref->tokens[agree_prefix])
            ++agree_prefix;
        for (size_t i = 0; i < std::min(peer.tokens.size(), ref->tokens.size()); ++i)
            agree += peer.tokens[i] == ref->tokens[i];
    }
    const auto load_after = load_average();

    auto per_s = [](double n, double ms) { return ms > 0 ? json(1000.0 * n / ms) : json(nullptr); };
    j["config"] = {{"layers", c.layers},   {"width", c.width}, {"heads", c.heads},
                   {"context", c.context}, {"vocab", c.vocab}, {"parameters", c.parameters()}};
    j["prompt_tokens"] = prompt.size();
    j["tokens"] = tokens;
    j["runs"] = runs;
    j["load_average_before"] = load_before;
    j["load_average_after"] = load_after;
    j["weight_bytes_per_token"] = weight_bytes;
    j["read_gbs"] = peaks.read_gbs;
    j["read_what"] = peaks.what;
    j["bound_ms_per_token"] = bound_ms;
    json ex = json::array();
    const ExecutorResult* cpu = nullptr;
    for (const ExecutorResult& er : results) {
        if (er.name == "cpu" && er.error.empty()) cpu = &er;
        ex.push_back({{"name", er.name},
                      {"threads", er.threads},
                      {"runs", er.runs},
                      {"error", er.error.empty() ? json(nullptr) : json(er.error)},
                      {"prefill_ms", er.prefill_ms},
                      {"prefill_tokens_per_s", per_s(double(prompt.size()), er.prefill_ms)},
                      {"ms_per_token", er.ms_per_token},
                      {"tokens_per_s", per_s(1, er.ms_per_token)},
                      {"cpu_ms_per_token", er.cpu_ms_per_token},
                      {"fraction_of_bound", er.ms_per_token > 0 ? bound_ms / er.ms_per_token : 0.0},
                      {"generated", er.tokens},
                      {"split", split_json(er)}});
    }
    j["executors"] = ex;
    j["peer"] = {{"name", "libtorch"},
                 {"built", peer.built},
                 {"note", peer.note},
                 {"library", peer.library},
                 {"blas", peer.blas},
                 {"threads", peer.threads},
                 {"prefill_ms", peer.prefill_ms},
                 {"prefill_tokens_per_s", per_s(double(prompt.size()), peer.prefill_ms)},
                 {"ms_per_token", peer.ms_per_token},
                 {"tokens_per_s", per_s(1, peer.ms_per_token)},
                 {"cpu_ms_per_token", peer.cpu_ms_per_token},
                 {"fraction_of_bound", peer.ms_per_token > 0 ? bound_ms / peer.ms_per_token : 0.0},
                 {"generated", peer.tokens},
                 {"agree_prefix", agree_prefix},
                 {"agree_positions", agree}};
    auto ratio = [](double num, double den) { return num > 0 && den > 0 ? json(num / den) : json(nullptr); };
    json ratios = json::object();
    if (cpu) {
        for (const ExecutorResult& er : results)
            if (er.name != "cpu" && er.name != "cpu-last-row" && er.error.empty())
                ratios["cpu_decode_speedup_vs_" + er.name] = ratio(er.ms_per_token, cpu->ms_per_token);
        if (peer.built) {
            ratios["cpu_decode_vs_libtorch"] = ratio(peer.ms_per_token, cpu->ms_per_token);
            ratios["cpu_prefill_vs_libtorch"] = ratio(peer.prefill_ms, cpu->prefill_ms);
            for (const ExecutorResult& er : results)
                if (er.name == "cpu-last-row" && er.error.empty())
                    ratios["cpu_last_row_prefill_vs_libtorch"] = ratio(peer.prefill_ms, er.prefill_ms);
        }
    }
    j["ratios"] = ratios;
    json sampling_variants = json::array();
    for (const SampledResult& sr : sampled)
        sampling_variants.push_back({{"top_k", sr.top_k},
                                     {"error", sr.cpu.error.empty() ? json(nullptr) : json(sr.cpu.error)},
                                     {"ms_per_token", sr.cpu.ms_per_token},
                                     {"tokens_per_s", per_s(1, sr.cpu.ms_per_token)},
                                     {"vs_greedy", ratio(sr.cpu.ms_per_token, greedy_beside.ms_per_token)},
                                     {"generated", sr.cpu.tokens},
                                     {"same_as_cpu_ref", sr.same_as_ref}});
    j["sampling"] = {{"executor", "cpu"},
                     {"greedy_ms_per_token", greedy_beside.ms_per_token},
                     {"temperature", sampled_settings.temperature},
                     {"seed", sampled_settings.seed},
                     {"variants", sampling_variants}};

    // The table.
    std::ostringstream t;
    t << "\nGeneration: " << o.program << " (" << c.layers << " layers, width " << c.width << ", " << c.heads
      << " heads, vocabulary " << c.vocab << ", " << c.parameters() << " parameters), greedy, "
      << prompt.size() << "-token prompt, " << tokens << " tokens, median of " << runs
      << " runs; load average " << fmt("%.2f", load_before[0]) << " before, " << fmt("%.2f", load_after[0])
      << " after\n";
    t << "  decode bound: " << fmt("%.2f", double(weight_bytes) / 1e6) << " MB of weights per token at "
      << fmt("%.1f", peaks.read_gbs) << " GB/s (" << peaks.what << ") = " << fmt("%.3f", bound_ms)
      << " ms/token\n";
    t << "  variant       threads  prefill ms  prefill tok/s  ms/token  tokens/s  of bound  CPU ms/token  "
         "tokens\n";
    auto row = [&](const std::string& name, unsigned th, double pre, double mpt, double cpu,
                   const std::string& tok) {
        t << "  " << name << std::string(name.size() < 14 ? 14 - name.size() : 1, ' ') << fmt("%7.0f", th)
          << fmt("%12.2f", pre) << fmt("%15.1f", pre > 0 ? 1000.0 * double(prompt.size()) / pre : 0)
          << fmt("%10.3f", mpt) << fmt("%10.1f", mpt > 0 ? 1000.0 / mpt : 0)
          << fmt("%10.3f", mpt > 0 ? bound_ms / mpt : 0)
          << (cpu > 0 ? fmt("%14.3f", cpu) : std::string(14, ' ')) << "  " << tok << "\n";
    };
    for (const ExecutorResult& er : results) {
        if (!er.error.empty()) {
            t << "  " << er.name << ": " << er.error << "\n";
            continue;
        }
        row(er.name, er.threads, er.prefill_ms, er.ms_per_token, er.cpu_ms_per_token,
            ref && er.tokens == ref->tokens ? "= cpu-ref" : "DIFFER");
    }
    if (peer.built)
        row("libtorch", peer.threads, peer.prefill_ms, peer.ms_per_token, peer.cpu_ms_per_token,
            std::to_string(agree_prefix) + "/" + std::to_string(tokens) + " first agree");
    else
        t << "  libtorch: " << peer.note << "\n";
    if (peer.built) t << "  libtorch: " << peer.library << " on " << peer.blas << "; " << peer.note << "\n";
    for (const ExecutorResult& er : results)
        if (er.has_split && er.error.empty()) t << "  " << er.name << ": " << split_text(er.split) << "\n";
    if (!sampled.empty()) {
        t << "  cpu sampling (temperature 0.8, seed 1), run by run with greedy at "
          << fmt("%.3f", greedy_beside.ms_per_token) << " ms/token:";
        for (size_t i = 0; i < sampled.size(); ++i) {
            const SampledResult& sr = sampled[i];
            t << (i ? ";" : "") << " "
              << (sr.top_k ? "top-k " + std::to_string(sr.top_k) : "whole vocabulary");
            if (!sr.cpu.error.empty()) {
                t << " " << sr.cpu.error;
                continue;
            }
            t << " " << fmt("%.3f", sr.cpu.ms_per_token) << " ms/token";
            if (greedy_beside.ms_per_token > 0)
                t << ", " << fmt("%.2fx", sr.cpu.ms_per_token / greedy_beside.ms_per_token) << " greedy";
            t << (sr.same_as_ref ? ", = cpu-ref" : ", DIFFER from cpu-ref");
        }
        t << "\n";
    }
    for (auto& [k, v] : ratios.items())
        if (v.is_number()) t << "  " << k << ": " << fmt("%.2fx", v.get<double>()) << "\n";
    rep.table = t.str();
    return rep;
}

} // namespace pxbench
