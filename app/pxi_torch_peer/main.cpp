// pxi-torch-peer — pxi bench's libtorch generation peer: the GPT program's own weights (read back
// from the .pxi with read_gpt_weights) run as a plain libtorch float32 decoder with a key/value
// cache, greedy, timed the way `pxi bench` times our executors (prefill to the first token, then
// ms per decoded token), printed as one JSON object.
//
// A separate executable, built only when libtorch-dev is found (third_party/CMakeLists.txt), so pxi
// itself never loads libtorch (hundreds of MB of shared libraries on every pxi start) and the
// peer's OpenMP/BLAS thread pools never share a process with our executor's threads.
//
//   pxi-torch-peer PROGRAM.pxi --ids 1,2,3 --tokens N --threads T --runs R
//
// The graph is docs/gpt-program.md's: token + position embeddings, per layer LayerNorm, q/k/v
// projections, causal multi-head attention over the cache, output projection, residual, LayerNorm,
// GELU (tanh) MLP, residual; final LayerNorm and the tied head; argmax of the last row.
#include "gpt.h"
#include "png_io.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

torch::Tensor tensor_of(const std::vector<float>& v, std::vector<int64_t> shape) {
    return torch::from_blob(const_cast<float*>(v.data()), shape, torch::kFloat32).clone();
}

struct Layer {
    torch::Tensor ln1_w, ln1_b, w_attn, b_attn, w_proj, b_proj, ln2_w, ln2_b, w_fc, b_fc, w_mproj, b_mproj;
    torch::Tensor k_cache, v_cache; // [H, C, hd], the first `len` rows filled
};

struct Model {
    px::GptConfig c;
    torch::Tensor wte, wpe, lnf_w, lnf_b;
    std::vector<Layer> layers;
    int64_t len = 0; // positions in the cache
};

Model make_model(const px::GptConfig& c, const px::GptWeights& w) {
    Model m;
    m.c = c;
    const int64_t d = c.width, V = c.vocab, C = c.context, H = c.heads, hd = d / H;
    m.wte = tensor_of(w.wte, {V, d});
    m.wpe = tensor_of(w.wpe, {C, d});
    m.lnf_w = tensor_of(w.ln_f_weight, {d});
    m.lnf_b = tensor_of(w.ln_f_bias, {d});
    for (const px::GptLayerWeights& l : w.layers) {
        Layer L;
        L.ln1_w = tensor_of(l.ln_1_weight, {d}), L.ln1_b = tensor_of(l.ln_1_bias, {d});
        L.w_attn = tensor_of(l.c_attn_weight, {d, 3 * d}), L.b_attn = tensor_of(l.c_attn_bias, {3 * d});
        L.w_proj = tensor_of(l.attn_proj_weight, {d, d}), L.b_proj = tensor_of(l.attn_proj_bias, {d});
        L.ln2_w = tensor_of(l.ln_2_weight, {d}), L.ln2_b = tensor_of(l.ln_2_bias, {d});
        L.w_fc = tensor_of(l.c_fc_weight, {d, 4 * d}), L.b_fc = tensor_of(l.c_fc_bias, {4 * d});
        L.w_mproj = tensor_of(l.mlp_proj_weight, {4 * d, d}), L.b_mproj = tensor_of(l.mlp_proj_bias, {d});
        L.k_cache = torch::zeros({H, C, hd});
        L.v_cache = torch::zeros({H, C, hd});
        m.layers.push_back(std::move(L));
    }
    return m;
}

// T new positions (ids) after m.len cached ones; returns the last row's argmax.
int64_t forward(Model& m, const std::vector<int64_t>& ids) {
    const int64_t T = int64_t(ids.size()), d = m.c.width, H = m.c.heads, hd = d / H, L0 = m.len;
    const double eps = m.c.layer_norm_eps;
    const float scale = float(1.0 / std::sqrt(double(hd)));
    auto idx = torch::tensor(ids, torch::kInt64);
    torch::Tensor x = m.wte.index_select(0, idx) + m.wpe.narrow(0, L0, T); // [T, d]
    // Causal mask for the new rows against all L0 + T keys: row t sees keys < L0 + t + 1.
    torch::Tensor mask;
    if (T > 1) mask = torch::ones({T, L0 + T}, torch::kBool).triu(L0 + 1); // true: hidden
    for (Layer& l : m.layers) {
        auto h = torch::layer_norm(x, {d}, l.ln1_w, l.ln1_b, eps);
        auto qkv = torch::addmm(l.b_attn, h, l.w_attn);                // [T, 3d]
        auto q = qkv.narrow(1, 0, d).view({T, H, hd}).transpose(0, 1); // [H, T, hd]
        auto k = qkv.narrow(1, d, d).view({T, H, hd}).transpose(0, 1);
        auto v = qkv.narrow(1, 2 * d, d).view({T, H, hd}).transpose(0, 1);
        l.k_cache.narrow(1, L0, T).copy_(k);
        l.v_cache.narrow(1, L0, T).copy_(v);
        auto keys = l.k_cache.narrow(1, 0, L0 + T), values = l.v_cache.narrow(1, 0, L0 + T);
        auto scores = torch::matmul(q, keys.transpose(1, 2)) * scale; // [H, T, L0+T]
        if (T > 1) scores = scores.masked_fill(mask, -std::numeric_limits<float>::infinity());
        auto y = torch::matmul(torch::softmax(scores, -1), values).transpose(0, 1).reshape({T, d});
        x = x + torch::addmm(l.b_proj, y, l.w_proj);
        auto h2 = torch::layer_norm(x, {d}, l.ln2_w, l.ln2_b, eps);
        x = x + torch::addmm(l.b_mproj, torch::gelu(torch::addmm(l.b_fc, h2, l.w_fc), "tanh"), l.w_mproj);
    }
    m.len += T;
    auto last = torch::layer_norm(x.narrow(0, T - 1, 1), {d}, m.lnf_w, m.lnf_b, eps); // [1, d]
    auto logits = torch::matmul(last, m.wte.t());                                     // tied head, [1, V]
    return logits.argmax(1).item<int64_t>();
}

// This process's CPU time (user + system, every thread) in ms.
double process_cpu_ms() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return 1e3 * double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           1e-3 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

[[noreturn]] void die(const std::string& what) {
    std::cout << nlohmann::json{{"error", what}}.dump() << "\n";
    std::exit(1);
}

// The BLAS Debian's libtorch was linked against as the system resolves it now (update-alternatives).
std::string blas_in_use() {
    std::ifstream maps("/proc/self/maps");
    for (std::string line; std::getline(maps, line);)
        for (const char* name : {"libopenblas", "libblis", "libmkl", "libblas.so"})
            if (auto at = line.find(name); at != std::string::npos) return line.substr(line.rfind(' ') + 1);
    return "unknown";
}

} // namespace

int main(int argc, char** argv) {
    std::string path, ids_text;
    uint32_t tokens = 8, threads = 1, runs = 3;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) die(a + " needs a value");
            return argv[++i];
        };
        if (a == "--ids")
            ids_text = value();
        else if (a == "--tokens")
            tokens = uint32_t(std::stoul(value()));
        else if (a == "--threads")
            threads = uint32_t(std::stoul(value()));
        else if (a == "--runs")
            runs = uint32_t(std::stoul(value()));
        else if (path.empty())
            path = a;
        else
            die("unexpected argument " + a);
    }
    if (path.empty() || ids_text.empty() || tokens < 1 || runs < 1)
        die("usage: pxi-torch-peer PROGRAM.pxi --ids 1,2,3 --tokens N --threads T --runs R");
    std::vector<int64_t> prompt;
    std::stringstream ss(ids_text);
    for (std::string part; std::getline(ss, part, ',');)
        prompt.push_back(std::stoll(part));

    auto loaded = px::load_png(path);
    if (!loaded) die(loaded.error().message);
    auto regions = px::find_gpt_regions(loaded->image);
    if (!regions) die(path + ": " + regions.error().message);
    auto weights = px::read_gpt_weights(loaded->image, *regions);
    if (!weights) die(path + ": " + weights.error().message);
    const px::GptConfig c = regions->config;
    if (prompt.size() + tokens > size_t(c.context) + 1) die("the prompt and the tokens pass the context");

    at::set_num_threads(int(threads));
    torch::NoGradGuard no_grad;
    Model model = make_model(c, *weights);
    std::vector<double> prefill_ms, decode_ms, decode_cpu_ms;
    std::vector<int64_t> out;
    for (uint32_t r = 0; r <= runs; ++r) { // run 0 warms up (allocator, thread pools)
        model.len = 0;
        std::vector<int64_t> got;
        const auto t0 = Clock::now();
        got.push_back(forward(model, prompt));
        const auto t1 = Clock::now();
        const double cpu1 = process_cpu_ms();
        for (uint32_t n = 1; n < tokens; ++n)
            got.push_back(forward(model, {got.back()}));
        const auto t2 = Clock::now();
        const double cpu2 = process_cpu_ms();
        if (r == 0) continue;
        out = got;
        prefill_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        if (tokens > 1) decode_cpu_ms.push_back((cpu2 - cpu1) / double(tokens - 1));
        if (tokens > 1)
            decode_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count() /
                                double(tokens - 1));
    }
    nlohmann::json j{
        {"library", "libtorch " + std::string(TORCH_VERSION)},
        {"blas", blas_in_use()},
        {"threads", at::get_num_threads()},
        {"runs", runs},
        {"tokens", out},
        {"prefill_ms", median(prefill_ms)},
        {"ms_per_token", tokens > 1 ? nlohmann::json(median(decode_ms)) : nlohmann::json(nullptr)},
        {"cpu_ms_per_token", tokens > 1 ? nlohmann::json(median(decode_cpu_ms)) : nlohmann::json(nullptr)}};
    std::cout << j.dump() << "\n";
    return 0;
}
