// gpt_test.cpp — the GPT program builder (engine/models/gpt.h, docs/gpt-program.md) on a tiny
// random model (2 layers, width 32, 2 heads, context 32, a BPE vocabulary trained here): the
// program validates clean, its prefill logits match a host-side double-precision forward pass of
// docs/gpt-weights.md (an independent computation of the same graph), greedy and sampled runs
// give the same tokens on the reference and the optimized CPU executors, the all-rows and
// last-row builds agree bit for bit, gpt_eval equals a token-by-token computation over the
// program's own logits, and bad inputs are refused with errors naming the thing.
#include "gpt.h"

#include "gpt_tiny.h"

#include "cpu_fast.h"
#include "debuginfo.h"
#include "dtype.h"
#include "npz.h"
#include "pixellm.h" // SplitMix64
#include "tokenizer_image.h"
#include "validate.h"
#include "vm.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

using namespace px;
using namespace px::test;

namespace {

// docs/gpt-weights.md in double precision, straight from the .npz layout: logits T x V.
std::vector<double> host_forward(const GptConfig& c, const GptWeights& w, const std::vector<int32_t>& ids) {
    const size_t T = ids.size(), d = c.width, V = c.vocab, H = c.heads, hd = d / H;
    auto matmul = [](const std::vector<double>& a, size_t M, size_t K, const std::vector<float>& b, size_t N,
                     const std::vector<float>* bias, size_t bias_off = 0, size_t b_cols = 0,
                     size_t b_off = 0) {
        if (!b_cols) b_cols = N;
        std::vector<double> y(M * N);
        for (size_t m = 0; m < M; ++m)
            for (size_t n = 0; n < N; ++n) {
                double s = bias ? double((*bias)[bias_off + n]) : 0.0;
                for (size_t k = 0; k < K; ++k)
                    s += a[m * K + k] * double(b[k * b_cols + b_off + n]);
                y[m * N + n] = s;
            }
        return y;
    };
    auto ln = [&](const std::vector<double>& x, const std::vector<float>& g, const std::vector<float>& b) {
        std::vector<double> y(x.size());
        for (size_t t = 0; t < T; ++t) {
            double mean = 0, var = 0;
            for (size_t i = 0; i < d; ++i)
                mean += x[t * d + i];
            mean /= double(d);
            for (size_t i = 0; i < d; ++i)
                var += (x[t * d + i] - mean) * (x[t * d + i] - mean);
            var /= double(d);
            for (size_t i = 0; i < d; ++i)
                y[t * d + i] = (x[t * d + i] - mean) / std::sqrt(var + c.layer_norm_eps) * g[i] + b[i];
        }
        return y;
    };
    std::vector<double> x(T * d);
    for (size_t t = 0; t < T; ++t)
        for (size_t i = 0; i < d; ++i)
            x[t * d + i] = double(w.wte[size_t(ids[t]) * d + i]) + double(w.wpe[t * d + i]);
    for (const GptLayerWeights& l : w.layers) {
        const std::vector<double> a = ln(x, l.ln_1_weight, l.ln_1_bias);
        const std::vector<double> q = matmul(a, T, d, l.c_attn_weight, d, &l.c_attn_bias, 0, 3 * d, 0);
        const std::vector<double> k = matmul(a, T, d, l.c_attn_weight, d, &l.c_attn_bias, d, 3 * d, d);
        const std::vector<double> v =
            matmul(a, T, d, l.c_attn_weight, d, &l.c_attn_bias, 2 * d, 3 * d, 2 * d);
        std::vector<double> y(T * d, 0.0);
        for (size_t h = 0; h < H; ++h)
            for (size_t t = 0; t < T; ++t) {
                std::vector<double> s(t + 1);
                double m = -1e300;
                for (size_t u = 0; u <= t; ++u) {
                    double dot = 0;
                    for (size_t j = 0; j < hd; ++j)
                        dot += q[t * d + h * hd + j] * k[u * d + h * hd + j];
                    s[u] = dot / std::sqrt(double(hd));
                    m = std::max(m, s[u]);
                }
                double sum = 0;
                for (double& e : s)
                    sum += (e = std::exp(e - m));
                for (size_t u = 0; u <= t; ++u)
                    for (size_t j = 0; j < hd; ++j)
                        y[t * d + h * hd + j] += s[u] / sum * v[u * d + h * hd + j];
            }
        const std::vector<double> p = matmul(y, T, d, l.attn_proj_weight, d, &l.attn_proj_bias);
        for (size_t i = 0; i < x.size(); ++i)
            x[i] += p[i];
        const std::vector<double> m2 = ln(x, l.ln_2_weight, l.ln_2_bias);
        std::vector<double> f = matmul(m2, T, d, l.c_fc_weight, 4 * d, &l.c_fc_bias);
        for (double& e : f)
            e = 0.5 * e * (1 + std::tanh(std::sqrt(2 / M_PI) * (e + 0.044715 * e * e * e)));
        const std::vector<double> p2 = matmul(f, T, 4 * d, l.mlp_proj_weight, d, &l.mlp_proj_bias);
        for (size_t i = 0; i < x.size(); ++i)
            x[i] += p2[i];
    }
    const std::vector<double> z = ln(x, w.ln_f_weight, w.ln_f_bias);
    std::vector<double> logits(T * V, 0.0);
    for (size_t t = 0; t < T; ++t)
        for (size_t v = 0; v < V; ++v)
            for (size_t i = 0; i < d; ++i)
                logits[t * V + v] += z[t * d + i] * double(w.wte[v * d + i]);
    return logits;
}

Image build_tiny(const GptBuildOptions& o = {}) {
    const GptConfig c = tiny_config();
    auto img = build_gpt(c, tiny_weights(c), tiny_bpe(), o);
    REQUIRE_MESSAGE(img, (img ? "" : img.error().message));
    return img.value();
}

// Runs the image to the end on one executor; returns the generated tokens (after the prompt).
std::vector<int32_t> generate(Image img, const std::vector<int32_t>& prompt, uint32_t n, const GptSampling& s,
                              bool fast, Image* final_image = nullptr) {
    auto g = find_gpt_regions(img);
    REQUIRE(g);
    REQUIRE(set_gpt_prompt(img, *g, prompt, n));
    REQUIRE(set_gpt_sampling(img, *g, s));
    VmState vm = make_vm(std::move(img), 100000);
    run(vm, {.execute = fast ? fast_executor() : PlanExecutor(execute_reference)});
    REQUIRE_MESSAGE(vm.status == VmStatus::Halted, describe_trap(vm.trap));
    auto seq = read_i32_matrix(vm.image, g->tokens);
    REQUIRE(seq);
    REQUIRE(seq->size() == prompt.size() + n);
    CHECK(std::equal(prompt.begin(), prompt.end(), seq->begin()));
    if (final_image) *final_image = vm.image;
    return std::vector<int32_t>(seq->begin() + prompt.size(), seq->end());
}

// The logits region after the prefill of `window` (stopped at the first SAMPLE).
std::vector<float> prefill_logits(Image img, std::span<const int32_t> window, bool fast = false) {
    auto g = find_gpt_regions(img);
    REQUIRE(g);
    REQUIRE(set_gpt_prompt(img, *g, window, 1));
    VmState vm = make_vm(std::move(img), 100000);
    const uint32_t stop = g->sample_pcs.front();
    run(vm, {.stop_before = [&](const VmState& s) { return s.pc == stop; },
             .execute = fast ? fast_executor() : PlanExecutor(execute_reference)});
    REQUIRE(vm.status == VmStatus::Ready);
    auto l = read_float_matrix(vm.image, g->logits, DType::F32);
    REQUIRE(l);
    return l.value();
}

} // namespace

TEST_CASE("gpt: the built program validates without errors or warnings and names every region") {
    const Image img = build_tiny();
    const ValidationReport r = validate(img);
    for (const Diagnostic& d : r.diagnostics)
        CHECK_MESSAGE(d.severity == Severity::Info, diagnostic_text(d));
    auto info = read_debug_info(img);
    REQUIRE(info);
    std::set<std::string> names;
    for (const Region& reg : info->regions)
        names.insert(reg.name);
    for (const char* n : {"wte", "wte_t", "wpe", "tokens", "next_token", "rng_state", "loop_counter",
                          "logits", "layer0.attn.k_cache", "layer1.attn.v_cache", "layer1.attn.wq",
                          "layer0.mlp.c_fc.weight", "ln_f.gain", "ln_f.bias", "tokenizer", "tokenizer.bytes"})
        CHECK_MESSAGE(names.count(n), n);
    auto g = find_gpt_regions(img);
    REQUIRE(g);
    CHECK(g->sample_pcs.size() == 2);
    CHECK(g->token_append_pcs.size() == 2);
    CHECK(g->config.vocab == tiny_config().vocab);
    auto bpe = read_tokenizer(img);
    REQUIRE(bpe);
    CHECK(bpe->vocab == tiny_bpe().vocab);
}

TEST_CASE("gpt: prefill logits match a double-precision forward pass of docs/gpt-weights.md") {
    const GptConfig c = tiny_config();
    const GptWeights w = tiny_weights(c);
    const Image img = build_tiny();
    const std::vector<int32_t> ids = encode(tiny_bpe(), "The quick brown fox jumps over it.");
    REQUIRE(ids.size() > 8);
    REQUIRE(ids.size() <= c.context);
    const std::vector<float> got = prefill_logits(img, ids);
    const std::vector<double> want = host_forward(c, w, ids);
    REQUIRE(got.size() == want.size());
    double worst = 0, scale = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        worst = std::max(worst, std::abs(double(got[i]) - want[i]));
        scale = std::max(scale, std::abs(want[i]));
    }
    CHECK(scale > 1.0); // the logits are far from uniform
    CHECK_MESSAGE(worst < 1e-3 * scale, "largest difference " << worst << " of " << scale);
}

TEST_CASE("gpt: greedy and sampled generation agree on the reference and optimized CPU executors") {
    const Image img = build_tiny();
    const std::vector<int32_t> prompt = encode(tiny_bpe(), "The quick");
    for (GptSampling s : {GptSampling{0.0f, 0, 0}, GptSampling{0.9f, 20, 5}, GptSampling{1.5f, 0, 77}}) {
        Image ref_final, fast_final;
        const auto ref = generate(img, prompt, 12, s, false, &ref_final);
        const auto fast = generate(img, prompt, 12, s, true, &fast_final);
        CHECK(ref == fast);
        CHECK(ref_final.rgba == fast_final.rgba);
        for (int32_t t : ref)
            CHECK((t >= 0 && uint32_t(t) < tiny_config().vocab));
    }
    // Greedy: each token is the argmax of the logits of the sequence before it (a prefill of it).
    const auto greedy = generate(img, prompt, 6, {0.0f, 0, 0}, true);
    std::vector<int32_t> seq = prompt;
    const uint32_t V = tiny_config().vocab;
    for (int32_t t : greedy) {
        const std::vector<float> l = prefill_logits(img, seq, true);
        const float* last = l.data() + (seq.size() - 1) * V;
        CHECK(int32_t(std::max_element(last, last + V) - last) == t);
        seq.push_back(t);
    }
    // Different seeds draw different text (at temperature 1.5 over 300 tokens).
    CHECK(generate(img, prompt, 12, {1.5f, 0, 1}, true) != generate(img, prompt, 12, {1.5f, 0, 2}, true));
}

TEST_CASE("gpt: the last-row build gives the all-rows build's last row bit for bit") {
    GptBuildOptions last;
    last.all_logits = false;
    const Image all_img = build_tiny(), last_img = build_tiny(last);
    CHECK(last_img.rgba.size() < all_img.rgba.size());
    const std::vector<int32_t> ids = encode(tiny_bpe(), "pixels all the way down");
    const std::vector<float> a = prefill_logits(all_img, ids), b = prefill_logits(last_img, ids);
    const uint32_t V = tiny_config().vocab;
    REQUIRE(b.size() == V);
    for (uint32_t v = 0; v < V; ++v)
        CHECK(std::bit_cast<uint32_t>(a[(ids.size() - 1) * V + v]) == std::bit_cast<uint32_t>(b[v]));
    CHECK(generate(all_img, ids, 5, {0.7f, 10, 3}, true) == generate(last_img, ids, 5, {0.7f, 10, 3}, true));
}

TEST_CASE("gpt: gpt_eval equals a token-by-token computation over the program's own logits") {
    // 3 full windows of 32 and a shorter last one: pxtrain's windows (tools/train/train.cpp).
    const Image img = build_tiny();
    GptBuildOptions last_opt;
    last_opt.all_logits = false;
    const Image last_img = build_tiny(last_opt);
    const std::string text = sample_text().substr(0, 160);
    std::vector<int32_t> ids = encode(tiny_bpe(), text);
    const uint32_t C = tiny_config().context, V = tiny_config().vocab;
    REQUIRE(ids.size() > 3 * C + 2);
    REQUIRE(ids.size() < 4 * C);
    uint64_t calls = 0;
    auto r = gpt_eval(ids, text.size(), C, V, [&](std::span<const int32_t> w) -> Result<std::vector<float>> {
        ++calls;
        return prefill_logits(img, w, true);
    });
    REQUIRE(r);
    CHECK(r->windows == 4);
    CHECK(calls == 4);
    // Independently: token j (j >= 1) is predicted from the tokens of its window before it, the
    // window starting at floor((j - 1) / C) * C; the last-row build gives exactly that row.
    double nats = std::log(double(V));
    for (size_t j = 1; j < ids.size(); ++j) {
        const size_t start = (j - 1) / C * C;
        const std::vector<float> l =
            prefill_logits(last_img, std::span<const int32_t>(ids).subspan(start, j - start), true);
        double m = -1e300, s = 0;
        for (float x : l)
            m = std::max(m, double(x));
        for (float x : l)
            s += std::exp(double(x) - m);
        nats -= double(l[size_t(ids[j])]) - m - std::log(s);
    }
    CHECK(r->tokens == ids.size());
    CHECK(r->bytes == text.size());
    CHECK(r->nats == doctest::Approx(nats).epsilon(1e-12));
    CHECK(r->bits_per_byte == doctest::Approx(nats / std::log(2.0) / double(text.size())).epsilon(1e-12));
    CHECK(r->perplexity == doctest::Approx(std::exp(nats / double(ids.size()))).epsilon(1e-12));
    // A single token is only its ln(V).
    auto one = gpt_eval(std::span(ids).first(1), 1, C, V,
                        [&](std::span<const int32_t>) -> Result<std::vector<float>> {
                            FAIL("no window for one token");
                            return std::vector<float>{};
                        });
    REQUIRE(one);
    CHECK(one->nats == doctest::Approx(std::log(double(V))));
}

TEST_CASE("gpt: config.json is checked field by field") {
    const std::string good = R"({"model": "gpt", "layers": 2, "width": 32, "heads": 2, "head_width": 16,
        "context": 32, "vocab": 300, "mlp_width": 128, "activation": "gelu_tanh", "layer_norm_eps": 1e-05,
        "tied_head": true, "dtype": "float32"})";
    auto c = parse_gpt_config(good, "c.json");
    REQUIRE_MESSAGE(c, (c ? "" : c.error().message));
    CHECK(c->layers == 2);
    CHECK(c->vocab == 300);
    CHECK(c->parameters() == 300 * 32 + 32 * 32 + 2 * (12 * 32 * 32 + 13 * 32) + 2 * 32);
    auto bad = [&](std::string from, std::string to, const std::string& expect) {
        std::string text = good;
        const size_t at = text.find(from);
        REQUIRE(at != std::string::npos);
        text.replace(at, from.size(), to);
        auto r = parse_gpt_config(text, "c.json");
        REQUIRE_FALSE(r);
        CHECK_MESSAGE(r.error().message.find(expect) != std::string::npos, r.error().message);
        CHECK(r.error().message.find("c.json") == 0);
    };
    bad("\"model\": \"gpt\"", "\"model\": \"llama\"", "\"model\"");
    bad("\"gelu_tanh\"", "\"relu\"", "\"activation\"");
    bad("\"tied_head\": true", "\"tied_head\": false", "tied_head");
    bad("\"heads\": 2", "\"heads\": 3", "does not divide");
    bad("\"head_width\": 16", "\"head_width\": 8", "head_width");
    bad("\"layers\": 2", "\"layers\": 0", "\"layers\"");
    bad("\"vocab\": 300", "\"vocab\": 70000", "\"vocab\"");
    bad("\"layer_norm_eps\": 1e-05", "\"layer_norm_eps\": -1", "layer_norm_eps");
    CHECK_FALSE(parse_gpt_config("[1, 2]", "c.json"));
}

TEST_CASE("gpt: weights are checked array by array, naming the array and the expected shape") {
    const GptConfig c = tiny_config();
    const auto arrays = gpt_weights_to_npz(tiny_weights(c), c);
    CHECK(arrays.size() == 2 + 12 * c.layers + 2);
    auto w = gpt_weights_from_npz(arrays, c, "w.npz");
    REQUIRE(w);
    CHECK(w->layers[1].c_fc_bias == tiny_weights(c).layers[1].c_fc_bias);
    // Round trip through .npz bytes.
    auto parsed = parse_npz(encode_npz(arrays, false), "w.npz");
    REQUIRE(parsed);
    CHECK(gpt_weights_from_npz(*parsed, c, "w.npz"));

    auto missing = arrays;
    missing.erase("h.1.attn.c_proj.bias");
    auto r = gpt_weights_from_npz(missing, c, "w.npz");
    REQUIRE_FALSE(r);
    CHECK(r.error().message ==
          "w.npz: array 'h.1.attn.c_proj.bias' is missing (want [32], docs/gpt-weights.md)");

    auto wrong = arrays;
    wrong["h.0.attn.c_attn.weight"] = make_npy_f32({32, 32}, std::vector<float>(32 * 32));
    r = gpt_weights_from_npz(wrong, c, "w.npz");
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "w.npz: array 'h.0.attn.c_attn.weight' has shape [32, 32], want [32, 96]");

    auto ints = arrays;
    ints["wpe"] = make_npy_u8({32, 32}, std::vector<uint8_t>(32 * 32));
    r = gpt_weights_from_npz(ints, c, "w.npz");
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("'wpe' is |u1") != std::string::npos);

    GptConfig one = c;
    one.layers = 1; // the file has a layer the config does not
    r = gpt_weights_from_npz(arrays, one, "w.npz");
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("'h.1.ln_1.weight'") != std::string::npos);
}

TEST_CASE("gpt: a tokenizer whose vocabulary differs from the weights' is refused") {
    GptConfig c = tiny_config();
    c.vocab = 280;
    auto img = build_gpt(c, tiny_weights(c), tiny_bpe());
    REQUIRE_FALSE(img);
    CHECK(img.error().message ==
          "the tokenizer has 300 tokens but the weights' vocabulary (config \"vocab\", wte rows) is 280");
}

TEST_CASE("gpt: set_gpt_prompt refuses what does not fit and leaves the image as it was") {
    Image img = build_tiny();
    auto g = find_gpt_regions(img);
    REQUIRE(g);
    const Image before = img;
    const std::vector<int32_t> long_prompt(33, 5), fits(30, 5);
    auto r = set_gpt_prompt(img, *g, long_prompt, 1);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "the prompt has 33 tokens, more than the context of 32");
    r = set_gpt_prompt(img, *g, fits, 4);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("at most 3 new tokens") != std::string::npos);
    r = set_gpt_prompt(img, *g, std::vector<int32_t>{5, 300}, 1);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "prompt token 1 is 300, outside the vocabulary 0..299");
    CHECK_FALSE(set_gpt_prompt(img, *g, std::vector<int32_t>{}, 1));
    CHECK_FALSE(set_gpt_prompt(img, *g, fits, 0));
    CHECK_FALSE(set_gpt_sampling(img, *g, {-1.0f, 0, 0}));
    CHECK_FALSE(set_gpt_sampling(img, *g, {0.5f, 70000, 0}));
    CHECK(img.rgba == before.rgba);
    // read_gpt_sampling reads back what set_gpt_sampling wrote (temperature canonical: -0 reads 0).
    for (const GptSampling s :
         {GptSampling{0.8f, 40, 1234}, GptSampling{0.0f, 0, 0}, GptSampling{-0.0f, 1, 7}}) {
        Image copy = img;
        REQUIRE(set_gpt_sampling(copy, *g, s));
        auto back = read_gpt_sampling(copy, *g);
        REQUIRE(back);
        CHECK(back->temperature == s.temperature);
        CHECK_FALSE(std::signbit(back->temperature));
        CHECK(back->top_k == s.top_k);
        CHECK(back->seed == s.seed);
    }
    // At the limit: 30 + 3 = C + 1 runs to the end without a trap (the last token needs no position).
    CHECK(generate(img, fits, 3, {0.0f, 0, 0}, true).size() == 3);
    // A full-context prompt and one new token also runs.
    CHECK(generate(img, std::vector<int32_t>(32, 7), 1, {}, true).size() == 1);
}

TEST_CASE("gpt: find_gpt_regions names what is missing") {
    Image img = build_tiny();
    Image no_chunk = img;
    no_chunk.text.erase(std::remove_if(no_chunk.text.begin(), no_chunk.text.end(),
                                       [](const TextChunk& t) { return t.key == kGptKey; }),
                        no_chunk.text.end());
    auto r = find_gpt_regions(no_chunk);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("pxos.gpt") != std::string::npos);
    Image hostile = img; // a chunk whose sizes would make set_gpt_prompt write past the image
    set_text(hostile, std::string(kGptKey),
             R"({"version": 1, "layers": 2, "width": 32, "heads": 2, "context": 4294967295, "vocab": 300,
                 "layer_norm_eps": 1e-5, "logits": "all"})");
    r = find_gpt_regions(hostile);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("sizes out of range") != std::string::npos);
    auto info = read_debug_info(img);
    REQUIRE(info);
    std::erase_if(info->regions, [](const Region& reg) { return reg.name == "layer1.attn.k_cache"; });
    write_debug_info(img, *info);
    r = find_gpt_regions(img);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "region 'layer1.attn.k_cache' is missing from the debug symbols");
}

TEST_CASE("validate: a valid tokenizer's rows are data by design, a damaged one's are not") {
    // Before, every tokenizer image (pxi tokenizer train, and every GPT image) drew an
    // unreferenced-data warning for the rows no instruction reads but the host does (§14).
    auto tok = make_tokenizer_image(tiny_bpe(), 256);
    REQUIRE(tok);
    for (const Diagnostic& d : validate(*tok).diagnostics)
        CHECK_MESSAGE(d.code != "unreferenced-data", diagnostic_text(d));
    // A damaged tokenizer (a merge's result byte changed) is no tokenizer: its rows are reported.
    Image bad = *tok;
    auto layout_row = find_tokenizer(bad);
    REQUIRE(layout_row);
    const uint32_t merges = element_bits(bad, *layout_row, DType::I32, 6);
    bad.set_pixel(element_x(2, bad.width), uint32_t(element_y(2, merges, bad.width)), {0x7f, 0, 0, 0});
    REQUIRE_FALSE(read_tokenizer(bad));
    bool reported = false;
    for (const Diagnostic& d : validate(bad).diagnostics)
        reported = reported || d.code == "unreferenced-data";
    CHECK(reported);
}

TEST_CASE("gpt: random_gpt_weights is GPT-2's initialization, seeded, and builds a program that runs") {
    GptConfig c = tiny_config();
    c.layers = 3, c.width = 48, c.heads = 4; // sd of the residual projections: 0.02 / sqrt(6)
    const GptWeights w = random_gpt_weights(c, 5);
    // Shapes: the .npz round trip checks every array's.
    auto back = gpt_weights_from_npz(gpt_weights_to_npz(w, c), c, "random");
    REQUIRE(back);
    // Mean and standard deviation of each group against GPT-2's init (independent of the draws:
    // sample statistics of n normals are within a few sd / sqrt(n) of the parameters).
    auto check_normal = [](const std::vector<float>& v, double sd, const char* what) {
        double s = 0, s2 = 0;
        for (float x : v)
            s += x, s2 += double(x) * x;
        const double n = double(v.size()), mean = s / n, var = s2 / n - mean * mean;
        CHECK_MESSAGE(std::abs(mean) < 5 * sd / std::sqrt(n), what << " mean " << mean);
        CHECK_MESSAGE(std::abs(std::sqrt(var) / sd - 1) < 5 / std::sqrt(2 * n),
                      what << " sd " << std::sqrt(var));
    };
    check_normal(w.wte, 0.02, "wte");
    check_normal(w.wpe, 0.02, "wpe");
    for (const GptLayerWeights& l : w.layers) {
        check_normal(l.c_attn_weight, 0.02, "c_attn");
        check_normal(l.c_fc_weight, 0.02, "c_fc");
        check_normal(l.attn_proj_weight, 0.02 / std::sqrt(6.0), "attn.c_proj");
        check_normal(l.mlp_proj_weight, 0.02 / std::sqrt(6.0), "mlp.c_proj");
        for (const auto* ones : {&l.ln_1_weight, &l.ln_2_weight})
            CHECK(std::all_of(ones->begin(), ones->end(), [](float x) { return x == 1.0f; }));
        for (const auto* zeros :
             {&l.ln_1_bias, &l.ln_2_bias, &l.c_attn_bias, &l.attn_proj_bias, &l.c_fc_bias, &l.mlp_proj_bias})
            CHECK(std::all_of(zeros->begin(), zeros->end(), [](float x) { return x == 0.0f; }));
    }
    // The draw order of gpt.h: wte's first value is the stream's first normal.
    SplitMix64 rng{5};
    CHECK(w.wte[0] == float(0.02 * rng.normal()));
    // Seeded: the same seed gives the same weights, another seed others.
    const GptWeights same = random_gpt_weights(c, 5), other = random_gpt_weights(c, 6);
    CHECK(same.wte == w.wte);
    CHECK(same.layers[2].mlp_proj_weight == w.layers[2].mlp_proj_weight);
    CHECK(other.wte != w.wte);
    // The program builds and generates.
    GptBuildOptions o;
    o.max_new_tokens = 3;
    auto img = build_gpt(c, w, tiny_bpe(), o);
    REQUIRE(img);
    auto g = find_gpt_regions(*img);
    REQUIRE(g);
    VmState vm = make_vm(*img, 4 * img->width);
    run(vm, {.execute = fast_executor()});
    CHECK(vm.status == VmStatus::Halted);
    auto seq = read_i32_matrix(vm.image, g->tokens);
    REQUIRE(seq);
    CHECK(seq->size() == 4);
}

// Issue 18 (found reading read_gpt_weights while fuzzing it): each layer's c_attn was allocated
// (3 x width^2 floats) before any region was read and after one had failed, so a hostile
// pxos.gpt's width (up to 16383: 3.2 GB a layer) sized the allocation, not the image.
TEST_CASE("read_gpt_weights refuses a config with more parameters than the image has pixels") {
    const px::GptConfig c = px::test::tiny_config();
    auto img = px::build_gpt(c, px::test::tiny_weights(c), px::test::tiny_bpe());
    REQUIRE(img);
    auto r = px::find_gpt_regions(*img);
    REQUIRE(r);
    px::GptRegions big = *r;
    big.config.width = 4096;
    auto w = px::read_gpt_weights(*img, big);
    REQUIRE(!w);
    CHECK(w.error().message.find("parameters cannot fit in a " + std::to_string(img->width) + " x " +
                                 std::to_string(img->height) + " image") != std::string::npos);
    CHECK(px::read_gpt_weights(*img, *r)); // the tiny model's own config reads back
}
