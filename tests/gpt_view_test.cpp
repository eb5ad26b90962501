// gpt_view_test.cpp — engine/models/gpt_view: the last logits row, probabilities and top-k
// (against sums and products computed here in long double), byte escaping, and the attention
// probabilities (the bytes FATTENTION's kernel uses: p times V gives its output bit for bit; the
// values against NumPy are tests/gpt_reference.py attention-check, ctest cli_gpt_attention).
#include "gpt_view.h"

#include "asm.h"
#include "dtype.h"
#include "fmath.h"
#include "gpt_tiny.h"
#include "gpt_u8.h"
#include "layout.h"
#include "ops/float_ops.h"
#include "ops/gen_ops.h"
#include "vm.h"

#include <algorithm>
#include <cstring>
#include <random>
#include <sstream>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace {

px::GptRegions regions_at(uint32_t row, uint32_t vocab) {
    px::GptRegions r;
    r.logits = row;
    r.config.vocab = vocab;
    return r;
}

} // namespace

TEST_CASE("gpt_last_logits reads the last row as the header says, and names the row on errors") {
    px::Image img = px::make_image(16, 8);
    const std::vector<float> v{1.0f, 2.0f, 3.0f, -4.0f, 0.5f, 7.25f};
    REQUIRE(px::write_float_matrix(img, 2, {3, 2}, px::DType::F32, v));
    auto last = px::gpt_last_logits(img, regions_at(2, 3));
    REQUIRE(last);
    CHECK(*last == std::vector<float>{-4.0f, 0.5f, 7.25f});
    auto wrong = px::gpt_last_logits(img, regions_at(2, 4));
    REQUIRE(!wrong);
    CHECK(wrong.error().message.find("row 2") != std::string::npos);
    REQUIRE(px::write_float_matrix(img, 5, {3, 0}, px::DType::F32, {}));
    auto empty = px::gpt_last_logits(img, regions_at(5, 3));
    REQUIRE(!empty);
    CHECK(empty.error().message.find("empty") != std::string::npos);
    CHECK(!px::gpt_last_logits(img, regions_at(99, 3)));
}

TEST_CASE("probabilities are the softmax, top-k is ordered by logit then id, NaN never a candidate") {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    const std::vector<float> l{2.0f, -1.0f, 2.0f, nan, 0.5f, -inf, 30.0f};
    long double s = 0;
    for (float x : l)
        if (!std::isnan(x)) s += std::exp((long double)x - 30.0L);
    for (int32_t i = 0; i < int32_t(l.size()); ++i) {
        const double p = px::gpt_probability(l, i);
        if (std::isnan(l[size_t(i)])) {
            CHECK(std::isnan(p));
            continue;
        }
        const double want = double(std::exp((long double)l[size_t(i)] - 30.0L) / s);
        CHECK(p == doctest::Approx(want).epsilon(1e-14));
    }
    CHECK(px::gpt_probability(l, 5) == 0.0); // -inf
    CHECK(std::isnan(px::gpt_probability(l, -1)));
    CHECK(std::isnan(px::gpt_probability(l, 7)));
    const auto top = px::gpt_top_k(l, 10);
    REQUIRE(top.size() == 6); // the NaN left out
    const int32_t order[6] = {6, 0, 2, 4, 1, 5};
    for (size_t i = 0; i < 6; ++i) {
        CHECK(top[i].id == order[i]);
        CHECK(top[i].logit == l[size_t(order[i])]);
        CHECK(top[i].probability == px::gpt_probability(l, order[i]));
    }
    CHECK(px::gpt_top_k(l, 2).size() == 2);
    CHECK(px::gpt_top_k(l, 0).empty());
    const std::vector<float> all_nan{nan, nan};
    CHECK(px::gpt_top_k(all_nan, 3).empty());
    CHECK(std::isnan(px::gpt_probability(all_nan, 0)));
}

TEST_CASE("escape_bytes shows every byte printably") {
    CHECK(px::escape_bytes("a b~") == "a b~");
    CHECK(px::escape_bytes(std::string("\n\t\r\\\x00\x7f\xe5", 7)) == "\\n\\t\\r\\\\\\x00\\x7F\\xE5");
    px::Bpe bpe;
    bpe.vocab = {"x", "yz"};
    CHECK(px::gpt_token_bytes(bpe, 1) == "yz");
    CHECK(px::gpt_token_bytes(bpe, 2).empty());
    CHECK(px::gpt_token_bytes(bpe, -1).empty());
}

TEST_CASE("gpt_attention_probs are the probabilities FATTENTION's kernel multiplies V by") {
    std::mt19937 rng(7);
    std::normal_distribution<float> n(0.0f, 1.5f);
    const px::AttentionShape sh{3, 5, 8, 2}; // 3 queries over a 5-row cache, 2 heads of 4
    std::vector<float> q(size_t(sh.T) * sh.D), k(size_t(sh.L) * sh.D), v(size_t(sh.L) * sh.D);
    for (auto* m : {&q, &k, &v})
        for (float& x : *m)
            x = n(rng);
    const float scale = 0.5f;
    const std::vector<float> out = px::fattention_f32(q, k, v, sh, scale);
    const uint32_t hd = sh.D / sh.heads;
    for (uint32_t t = 0; t < sh.T; ++t)
        for (uint32_t h = 0; h < sh.heads; ++h) {
            const uint32_t visible = sh.L - sh.T + t + 1;
            const auto p = px::gpt_attention_probs(std::span(q).subspan(size_t(t) * sh.D, sh.D), k, sh.D,
                                                   sh.heads, h, visible, scale);
            REQUIRE(p.size() == visible);
            long double sum = 0;
            for (float x : p)
                sum += x;
            CHECK(double(sum) == doctest::Approx(1.0).epsilon(1e-6));
            for (uint32_t d = 0; d < hd; ++d) {
                const float o = px::fm::dot(p.data(), 1, &v[h * hd + d], sh.D, visible);
                const float want = out[size_t(t) * sh.D + h * hd + d];
                CHECK(std::memcmp(&o, &want, 4) == 0);
            }
        }
}

TEST_CASE("gpt_layer_attention names a layer the model does not have") {
    px::GptRegions r;
    r.k_cache = {3, 9};
    const px::Image img = px::make_image(16, 16);
    auto a = px::gpt_layer_attention({}, img, r, 2);
    REQUIRE(!a);
    CHECK(a.error().message.find("layer 2") != std::string::npos);
    auto empty = px::gpt_layer_attention({}, img, r, 1); // an empty cache: nothing to show
    REQUIRE(empty);
    CHECK(empty->length == 0);
    CHECK(empty->known() == 0);
}

// Issue 18 (fuzz_gpt, tests/fuzz/regressions/gpt/oom_attention_k_cache_header): the key cache's
// header is the image's, so a hostile one sized heads x rows^2 floats (34 GB for 65535 rows).
TEST_CASE("gpt_layer_attention refuses a key cache header past the context or of another width") {
    const px::GptConfig c = px::test::tiny_config();
    auto img = px::build_gpt(c, px::test::tiny_weights(c), px::test::tiny_bpe());
    REQUIRE(img);
    auto r = px::find_gpt_regions(*img);
    REQUIRE(r);
    const uint32_t row = r->k_cache[1];
    for (const px::MatrixHeader h :
         {px::MatrixHeader{c.width, c.context + 1}, px::MatrixHeader{c.width + 1, 2}}) {
        px::Image bad = *img;
        bad.set_pixel(0, row, px::encode_header(h));
        auto a = px::gpt_layer_attention({}, bad, *r, 1);
        REQUIRE(!a);
        CHECK(a.error().message.find("layer1.attn.k_cache: the header at row " + std::to_string(row)) == 0);
    }
    px::Image full = *img; // a full cache is fine
    full.set_pixel(0, row, px::encode_header({c.width, c.context}));
    auto a = px::gpt_layer_attention({}, full, *r, 1);
    REQUIRE(a);
    CHECK(a->length == c.context);
}

TEST_CASE("gpt_model_tree groups the regions by layer and block") {
    std::vector<px::Region> regions;
    for (const char* n :
         {"wte", "wte_t", "wpe", "layer0.ln_1.gain", "layer0.attn.wq", "layer0.attn.k_cache",
          "layer0.ln_2.bias", "layer0.mlp.c_fc.weight", "layer1.attn.v_cache", "layer7.attn.wq", "ln_f.gain",
          "logits", "tokens", "rng_state", "x2", "q", "tokenizer.merges", "mystery"}) {
        px::Region r;
        r.name = n;
        regions.push_back(r);
    }
    const px::GptTreeNode t = px::gpt_model_tree(regions, 2);
    auto names = [&](const px::GptTreeNode& n) {
        std::vector<std::string> v;
        for (const auto& c : n.children)
            v.push_back(c.region ? regions[*c.region].name : c.label);
        return v;
    };
    using V = std::vector<std::string>;
    CHECK(names(t) == V{"embedding", "layers", "output", "state", "activations", "tokenizer", "other"});
    CHECK(names(t.children[0]) == V{"wte", "wte_t", "wpe"});
    CHECK(names(t.children[1]) == V{"layer 0", "layer 1"});
    CHECK(names(t.children[1].children[0]) == V{"attention", "mlp"});
    CHECK(names(t.children[1].children[0].children[0]) ==
          V{"layer0.ln_1.gain", "layer0.attn.wq", "layer0.attn.k_cache"});
    CHECK(names(t.children[1].children[0].children[1]) == V{"layer0.ln_2.bias", "layer0.mlp.c_fc.weight"});
    CHECK(names(t.children[1].children[1].children[0]) == V{"layer1.attn.v_cache"});
    CHECK(names(t.children[2]) == V{"ln_f.gain", "logits"});
    CHECK(names(t.children[3]) == V{"tokens", "rng_state"});
    CHECK(names(t.children[4]) == V{"x2", "q"});
    CHECK(names(t.children[5]) == V{"tokenizer.merges"});
    CHECK(names(t.children[6]) == V{"layer7.attn.wq", "mystery"}); // a layer the model does not have
}

TEST_CASE("gpt_region_stats are the statistics of the region's values in its type") {
    px::Image img = px::make_image(16, 8);
    const std::vector<float> v{1.5f, -2.0f, 0.25f, 4.0f, -0.125f, 3.0f};
    REQUIRE(px::write_float_matrix(img, 2, {2, 3}, px::DType::F32, v));
    px::Region r;
    r.name = "w";
    r.row = 2;
    r.dtype = px::DType::F32;
    auto s = px::gpt_region_stats(img, r);
    REQUIRE(s);
    long double sum = 0, sq = 0;
    for (float x : v)
        sum += x;
    const long double mean = sum / v.size();
    for (float x : v)
        sq += (x - mean) * (x - mean);
    CHECK(s->count == 6);
    CHECK(s->min == -2.0);
    CHECK(s->max == 4.0);
    CHECK(s->mean == doctest::Approx(double(mean)).epsilon(1e-15));
    CHECK(s->std == doctest::Approx(double(std::sqrt(sq / v.size()))).epsilon(1e-15));
}

// ---- gpt_attention_pcs, on the tiny float32 and uint8 programs (tests/gpt_tiny.h) ----

namespace {

// The independent truth: run the program (prefill and every decode pass) and list, in the order
// they first ran, the pcs of the steps the VM reports as an attention opcode. The program runs
// layer 0 .. L-1 in the prefill, then again in the decode pass, so the l-th and (L+l)-th are
// layer l's.
std::vector<uint32_t> attention_pcs_by_running(const px::Image& program) {
    px::VmState vm = px::make_vm(program);
    std::vector<uint32_t> pcs;
    while (vm.status == px::VmStatus::Ready) {
        const px::StepResult r = px::step(vm);
        const bool attention =
            r.opcode == uint8_t(px::Opcode::FATTENTION) || r.opcode == uint8_t(px::Opcode::QATTENTION);
        if (attention && std::find(pcs.begin(), pcs.end(), r.executed_pc) == pcs.end())
            pcs.push_back(r.executed_pc);
    }
    REQUIRE(vm.status == px::VmStatus::Halted);
    return pcs;
}

// Lines of the disassembly (pxi disasm's text) that start with `mnemonic` and name the key cache
// at `row` as operand b: by its symbol name, or as m<row> (names with dots are not pxasm names).
size_t disasm_lines(const px::Image& program, const std::string& mnemonic, const std::string& name,
                    uint32_t row) {
    std::istringstream text(px::disassemble(program));
    size_t n = 0;
    for (std::string line; std::getline(text, line);)
        if (line.rfind(mnemonic + " ", 0) == 0 &&
            (line.find(", " + name + ",") != std::string::npos ||
             line.find(", m" + std::to_string(row) + ",") != std::string::npos))
            ++n;
    return n;
}

void check_attention_pcs(const px::Image& program, const char* mnemonic) {
    auto g = px::find_gpt_regions(program);
    REQUIRE_MESSAGE(g, (g ? "" : g.error().message));
    const uint32_t L = g->config.layers;
    const std::vector<uint32_t> ran = attention_pcs_by_running(program);
    REQUIRE(ran.size() == 2 * L); // prefill and decode, every layer once each
    const std::vector<px::Region> regions = px::program_regions(program);
    for (uint32_t l = 0; l < L; ++l) {
        auto pcs = px::gpt_attention_pcs(program, *g, l);
        REQUIRE_MESSAGE(pcs, (pcs ? "" : pcs.error().message));
        CHECK(*pcs == std::vector<uint32_t>{ran[l], ran[L + l]});
        // The disassembler names the layer's key cache in exactly two attention lines.
        std::string cache;
        for (const px::Region& r : regions)
            if (r.row == g->k_cache[l]) cache = r.name;
        REQUIRE(!cache.empty());
        CHECK(disasm_lines(program, mnemonic, cache, g->k_cache[l]) == 2);
    }
    auto none = px::gpt_attention_pcs(program, *g, L);
    REQUIRE(!none);
    CHECK(none.error().message.find("layer " + std::to_string(L)) != std::string::npos);
}

} // namespace

TEST_CASE("gpt_attention_pcs: every FATTENTION of a layer in the float32 program, as a run meets them") {
    const px::GptConfig c = px::test::tiny_config();
    px::GptBuildOptions o;
    o.prompt = {5, 17, 42};
    o.max_new_tokens = 3;
    auto img = px::build_gpt(c, px::test::tiny_weights(c), px::test::tiny_bpe(), o);
    REQUIRE(img);
    check_attention_pcs(*img, "FATTENTION");
}

TEST_CASE("gpt_attention_pcs: every QATTENTION of a layer in the uint8 program, as a run meets them") {
    const px::GptConfig c = px::test::tiny_config();
    const px::GptWeights w = px::test::tiny_weights(c);
    const std::vector<int32_t> ids = px::encode(px::test::tiny_bpe(), px::test::sample_text());
    auto cal = px::calibrate_gpt(c, w, px::test::tiny_bpe(), ids, 1);
    REQUIRE_MESSAGE(cal, (cal ? "" : cal.error().message));
    px::GptBuildOptions o;
    o.prompt = {5, 17, 42};
    o.max_new_tokens = 3;
    auto img = px::build_gpt_u8(c, w, px::test::tiny_bpe(), *cal, o);
    REQUIRE_MESSAGE(img, (img ? "" : img.error().message));
    check_attention_pcs(*img, "QATTENTION");
}

TEST_CASE("SAMPLE's probabilities are the odds of its own draw: frequencies over a grid of PRNG draws") {
    // 50 logits, temperature 0.7, top-k 20: every z = j * 2^16 (u = j / 65536 exactly) drawn by
    // the kernel's sample_bits; each id's frequency must be its probability within one grid step
    // (plus float32 rounding of the running sums).
    std::mt19937 g{5};
    std::normal_distribution<float> nd(0.0f, 2.0f);
    std::vector<float> l(50);
    for (float& x : l)
        x = nd(g);
    const px::GptSampling s{0.7f, 20, 0};
    const std::vector<double> p = px::gpt_sample_probabilities(l, s, {});
    std::vector<uint32_t> bits(l.size());
    for (size_t i = 0; i < l.size(); ++i)
        bits[i] = px::fm::canon_bits(px::fm::bits(l[i]));
    std::vector<double> freq(l.size(), 0.0);
    const uint32_t draws = 65536;
    for (uint32_t j = 0; j < draws; ++j)
        freq[px::sample_bits(bits.data(), uint32_t(l.size()), px::fm::bits(0.7f), 20, j << 16)] +=
            1.0 / draws;
    double total = 0;
    int nonzero = 0;
    for (size_t i = 0; i < l.size(); ++i) {
        CHECK(std::abs(freq[i] - p[i]) <= 1.0 / draws + 1e-6);
        total += p[i];
        nonzero += p[i] > 0;
    }
    CHECK(nonzero == 20);
    CHECK(total == doctest::Approx(1.0).epsilon(1e-6));
    // Temperature 1 over the whole row: the softmax, within float32's exp.
    const std::vector<double> q = px::gpt_sample_probabilities(l, {1.0f, 0, 0}, {});
    for (int32_t i = 0; i < int32_t(l.size()); ++i)
        CHECK(q[size_t(i)] == doctest::Approx(px::gpt_probability(l, i)).epsilon(1e-5));
    // Greedy: the argmax (the lower id on a tie) with probability 1.
    const std::vector<float> tie{1.0f, 3.0f, 3.0f, -2.0f};
    const std::vector<double> r = px::gpt_sample_probabilities(tie, {0.0f, 0, 0}, {});
    CHECK(r == std::vector<double>{0.0, 1.0, 0.0, 0.0});
    const auto top = px::gpt_top_k(tie, 2, px::GptSampling{0.0f, 0, 0}, {});
    CHECK(top[0].id == 1);
    CHECK(top[0].sample_probability == 1.0);
    CHECK(top[1].sample_probability == 0.0);
    CHECK(std::isnan(px::gpt_top_k(tie, 1)[0].sample_probability)); // no settings given
}

TEST_CASE("SAMPLE's probabilities after PENALIZE: the presence penalty over the window, once per id") {
    // Logits 0..5; the sequence 0 5 4 5 1, whose last 3 tokens (the window) are 4 5 1: ids 1, 4 and
    // 5 lose 2.5 once each (5 appears twice, 0 only before the window), by hand 0 -1.5 2 3 1.5 2.5.
    const std::vector<float> l{0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f};
    const std::vector<int32_t> seq{0, 5, 4, 5, 1};
    px::GptSampling s{1.0f, 0, 0, 2.5f, 3};
    const std::vector<double> row{0.0, -1.5, 2.0, 3.0, 1.5, 2.5};
    double z = 0;
    for (double x : row)
        z += std::exp(x);
    const std::vector<double> p = px::gpt_sample_probabilities(l, s, seq);
    for (size_t i = 0; i < l.size(); ++i)
        CHECK(p[i] == doctest::Approx(std::exp(row[i]) / z).epsilon(1e-5));
    // Greedy takes 3 now, not 5; with the penalty off, 5; window 0 is the whole sequence.
    s.temperature = 0;
    CHECK(px::gpt_sample_probabilities(l, s, seq)[3] == 1.0);
    s.presence_penalty = 0;
    CHECK(px::gpt_sample_probabilities(l, s, seq)[5] == 1.0);
    s.presence_penalty = 10, s.penalty_window = 0; // every id but 2 and 3 said: 3 wins
    CHECK(px::gpt_sample_probabilities(l, s, seq)[3] == 1.0);
    // An id outside the vocabulary (the program would trap) is skipped, never read.
    const std::vector<int32_t> hostile{-1, 99, 5};
    s.penalty_window = 64;
    CHECK(px::gpt_sample_probabilities(l, s, hostile)[4] == 1.0);
}
