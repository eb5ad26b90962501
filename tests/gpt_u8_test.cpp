// gpt_u8_test.cpp — the uint8 GPT program (engine/models/gpt_u8.h, docs/gpt-program.md "The uint8
// program") on the tiny model of tests/gpt_tiny.h, calibrated on assets/calibration.txt and
// compared with the float32 program on a different text (tests/data/tokenizer_sample.txt): the
// calibration's ranges against a host computation, the program validates clean and names its
// quantization, the reference and optimized CPU executors generate the same tokens, a T-row
// prefill gives the logits of T one-row decode passes, top-1 agreement with the float32 program's
// logits, and a rebuild is the same PNG byte for byte.
#include "gpt_u8.h"

#include "cpu_fast.h"
#include "debuginfo.h"
#include "dtype.h"
#include "gpt_tiny.h"
#include "gpt_view.h"
#include "history.h"
#include "layout.h"
#include "ops/opdef.h"
#include "png_io.h"
#include "quant.h"
#include "validate.h"
#include "vm.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

using namespace px;
using namespace px::test;

namespace {

PlanExecutor executor(bool fast) {
    return fast ? fast_executor() : PlanExecutor(execute_reference);
}

// Runs the image to the end; the generated tokens (after the prompt).
std::vector<int32_t> generate(Image img, const std::vector<int32_t>& prompt, uint32_t n, const GptSampling& s,
                              bool fast, Image* final_image = nullptr) {
    auto g = find_gpt_regions(img);
    REQUIRE(g);
    REQUIRE(set_gpt_prompt(img, *g, prompt, n));
    REQUIRE(set_gpt_sampling(img, *g, s));
    VmState vm = make_vm(std::move(img), 100000);
    run(vm, {.execute = executor(fast)});
    REQUIRE_MESSAGE(vm.status == VmStatus::Halted, describe_trap(vm.trap));
    auto seq = read_i32_matrix(vm.image, g->tokens);
    REQUIRE(seq);
    REQUIRE(seq->size() == prompt.size() + n);
    if (final_image) *final_image = vm.image;
    return std::vector<int32_t>(seq->begin() + prompt.size(), seq->end());
}

// The logits region after the prefill of `window` (stopped at the first SAMPLE), T x V.
std::vector<float> prefill_logits(Image img, std::span<const int32_t> window, bool fast = true) {
    auto g = find_gpt_regions(img);
    REQUIRE(g);
    REQUIRE(set_gpt_prompt(img, *g, window, 1));
    VmState vm = make_vm(std::move(img), 100000);
    const uint32_t stop = g->sample_pcs.front();
    run(vm, {.stop_before = [&](const VmState& s) { return s.pc == stop; }, .execute = executor(fast)});
    REQUIRE_MESSAGE(vm.status == VmStatus::Ready, describe_trap(vm.trap));
    auto lg = read_float_matrix(vm.image, g->logits, DType::F32);
    REQUIRE(lg);
    REQUIRE(lg->size() == window.size() * tiny_config().vocab);
    return lg.value();
}

uint32_t argmax_row(const std::vector<float>& v, size_t row, uint32_t V) {
    const float* r = v.data() + row * V;
    return uint32_t(std::max_element(r, r + V) - r);
}

} // namespace

TEST_CASE(
    "gpt u8: calibration records every tensor of the uint8 graph; the embedding sum's range is the host's") {
    const GptConfig c = tiny_config();
    const GptWeights w = tiny_weights(c);
    const GptCalibration& cal = tiny_calibration();
    CHECK(cal.windows == kCalibrationWindows);
    CHECK(cal.tokens == kCalibrationWindows * c.context);
    std::vector<std::string> want = {"x0", "ln_f.out"};
    for (int i = 0; i < 2; ++i)
        for (const char* s : {"ln_1.out", "attn.q", "attn.k", "attn.v", "attn.out", "attn.proj", "x_attn",
                              "ln_2.out", "mlp.fc", "mlp.gelu", "mlp.proj", "x_out"})
            want.push_back("layer" + std::to_string(i) + "." + s);
    CHECK(cal.ranges.size() == want.size());
    for (const std::string& n : want) {
        REQUIRE_MESSAGE(cal.ranges.count(n), n);
        CHECK_MESSAGE(cal.ranges.at(n).first < cal.ranges.at(n).second, n);
    }
    // x0 = wte[id] + wpe[t], one float32 addition (FADD), over the calibration windows.
    const std::vector<int32_t> ids = encode(tiny_bpe(), calibration_text());
    float lo = INFINITY, hi = -INFINITY;
    for (size_t k = 0; k < kCalibrationWindows * c.context; ++k)
        for (uint32_t i = 0; i < c.width; ++i) {
            const float x = w.wte[size_t(ids[k]) * c.width + i] + w.wpe[(k % c.context) * c.width + i];
            lo = std::min(lo, x), hi = std::max(hi, x);
        }
    CHECK(cal.ranges.at("x0").first == double(lo));
    CHECK(cal.ranges.at("x0").second == double(hi));
    // GELU's output never goes below its minimum, about -0.17.
    CHECK(cal.ranges.at("layer0.mlp.gelu").first > -0.171);
    CHECK(cal.ranges.at("layer0.mlp.fc").first < cal.ranges.at("layer0.mlp.gelu").first);
}

TEST_CASE("gpt u8: the program validates clean, has the float32 program's state regions and its scales") {
    const Image img = build_tiny_u8();
    for (const Diagnostic& d : validate(img).diagnostics)
        CHECK_MESSAGE(d.severity == Severity::Info, diagnostic_text(d));
    auto g = find_gpt_regions(img);
    REQUIRE(g);
    CHECK(g->sample_pcs.size() == 2);
    CHECK(g->token_append_pcs.size() == 2);
    CHECK(g->all_logits);
    CHECK(g->weights_u8); // pxos.gpt says "dtype": "u8" (pxi bench sizes its bound by it)
    auto info = read_debug_info(img);
    REQUIRE(info);
    std::map<std::string, Region> by_name;
    for (const Region& r : info->regions)
        by_name[r.name] = r;
    // wte's scale and zero point are choose_quant_params of its own range.
    const GptWeights w = tiny_weights(tiny_config());
    const auto [lo, hi] = std::minmax_element(w.wte.begin(), w.wte.end());
    const QuantParams q = choose_quant_params(*lo, *hi);
    REQUIRE(by_name.count("wte"));
    CHECK(by_name["wte"].scale == q.scale);
    CHECK(by_name["wte"].zero_point == q.zero_point);
    CHECK(by_name["wte"].type() == DType::U8);
    // The caches carry k's and v's scales; the logits are float32, their int32 source has
    // scale s(ln_f.out) * s(wte).
    CHECK(by_name["layer1.attn.k_cache"].scale == by_name["layer1.attn.k"].scale);
    CHECK(by_name["layer1.attn.k_cache"].type() == DType::U8);
    CHECK(by_name["logits"].type() == DType::F32);
    CHECK(by_name["logits_i32"].type() == DType::I32);
    CHECK(*by_name["logits_i32"].scale == *by_name["ln_f.out"].scale * q.scale);
    for (const char* n : {"tokens", "next_token", "rng_state", "loop_counter", "layer0.ln_1.gain_bias",
                          "layer0.mlp.gelu_table", "layer1.attn.bv", "tokenizer"})
        CHECK_MESSAGE(by_name.count(n), n);
    // A weight's codes dequantize to within half a step of the float weight.
    auto codes = read_matrix(img, by_name["wte"].row);
    REQUIRE(codes);
    for (size_t i = 0; i < 200; ++i)
        CHECK(std::abs(dequantize((*codes)[i], q) - double(w.wte[i])) <= q.scale / 2 + 1e-9);
}

TEST_CASE("gpt u8: greedy and sampled generation agree on the reference and optimized CPU executors") {
    const Image img = build_tiny_u8();
    const std::vector<int32_t> prompt = encode(tiny_bpe(), "The quick");
    for (GptSampling s : {GptSampling{0.0f, 0, 0}, GptSampling{0.9f, 20, 5}}) {
        Image ref_final, fast_final;
        const auto ref = generate(img, prompt, 10, s, false, &ref_final);
        const auto fast = generate(img, prompt, 10, s, true, &fast_final);
        CHECK(ref == fast);
        CHECK(ref_final.rgba == fast_final.rgba);
    }
    // A T-row prefill and one-row decode passes compute the same logits: each greedy token is the
    // argmax of the last row of a prefill over the sequence before it.
    const auto greedy = generate(img, prompt, 5, {0.0f, 0, 0}, true);
    std::vector<int32_t> seq = prompt;
    for (int32_t t : greedy) {
        const auto lg = prefill_logits(img, seq);
        CHECK(argmax_row(lg, seq.size() - 1, tiny_config().vocab) == uint32_t(t));
        seq.push_back(t);
    }
}

TEST_CASE("gpt u8: prefill logits agree with the float32 program's on top-1 (held-out text)") {
    const GptConfig c = tiny_config();
    auto f32 = build_gpt(c, tiny_weights(c), tiny_bpe());
    REQUIRE(f32);
    CHECK_FALSE(find_gpt_regions(*f32)->weights_u8);
    const Image u8 = build_tiny_u8();
    const std::vector<int32_t> ids = encode(tiny_bpe(), sample_text());
    size_t agree = 0, positions = 0;
    double sq_err = 0, sq_ref = 0;
    for (size_t start = 0; start + c.context <= ids.size() && start < 4 * c.context; start += c.context) {
        const std::span<const int32_t> window(ids.data() + start, c.context);
        const auto ref = prefill_logits(*f32, window);
        const auto got = prefill_logits(u8, window);
        for (size_t t = 0; t < window.size(); ++t, ++positions)
            agree += argmax_row(ref, t, c.vocab) == argmax_row(got, t, c.vocab);
        for (size_t i = 0; i < ref.size(); ++i)
            sq_err += (double(got[i]) - ref[i]) * (double(got[i]) - ref[i]),
                sq_ref += double(ref[i]) * ref[i];
    }
    REQUIRE(positions == 4 * c.context);
    const double share = double(agree) / double(positions), rel_l2 = std::sqrt(sq_err / sq_ref);
    MESSAGE("top-1 agreement " << agree << "/" << positions << " = " << share << ", relative L2 " << rel_l2);
    CHECK(share >= 0.80); // measured: docs/gpt-program.md "The uint8 program"
    CHECK(rel_l2 <= 0.25);
}

TEST_CASE("gpt u8: calibration and build are deterministic: the same PNG byte for byte") {
    const GptConfig c = tiny_config();
    const GptCalibration again = calibrate_tiny();
    CHECK(again.ranges == tiny_calibration().ranges);
    auto a = build_gpt_u8(c, tiny_weights(c), tiny_bpe(), again, {});
    const Image b = build_tiny_u8();
    REQUIRE(a);
    auto pa = encode_png(*a), pb = encode_png(b);
    REQUIRE(pa);
    REQUIRE(pb);
    CHECK(*pa == *pb);
}

TEST_CASE("gpt u8: a calibration without a tensor, or a last-row-only build, as documented") {
    const GptConfig c = tiny_config();
    GptCalibration cal = tiny_calibration();
    cal.ranges.erase("layer1.mlp.fc");
    auto img = build_gpt_u8(c, tiny_weights(c), tiny_bpe(), cal, {});
    REQUIRE(!img);
    CHECK(img.error().message.find("layer1.mlp.fc") != std::string::npos);
    // --prefill-logits last: the same tokens as the all-rows build.
    GptBuildOptions last;
    last.all_logits = false;
    const Image small = build_tiny_u8(last);
    const std::vector<int32_t> prompt = encode(tiny_bpe(), "The quick");
    CHECK(generate(small, prompt, 6, {0.0f, 0, 0}, true) ==
          generate(build_tiny_u8(), prompt, 6, {0.0f, 0, 0}, true));
    auto empty = calibrate_gpt(c, tiny_weights(c), tiny_bpe(), {});
    CHECK(!empty);
}

TEST_CASE(
    "gpt u8: the attention maps (gpt_layer_attention on QATTENTION) are the probabilities the kernel used") {
    // Run with a history; the map's probabilities, times V and requantized with the instruction's
    // own parameters, must give back the attn.out codes the program wrote (§16.3's last step).
    Image img = build_tiny_u8();
    auto g = find_gpt_regions(img);
    REQUIRE(g);
    const std::vector<int32_t> prompt = encode(tiny_bpe(), "The quick brown");
    REQUIRE(set_gpt_prompt(img, *g, prompt, 3));
    const std::vector<Region> symbols = program_regions(img);
    VmState vm = make_vm(std::move(img), 100000);
    History history;
    const PlanExecutor fast = fast_executor();
    while (vm.status == VmStatus::Ready) {
        history.emplace_back();
        step(vm, &history.back(), fast);
    }
    REQUIRE(vm.status == VmStatus::Halted);
    const uint32_t D = tiny_config().width, H = tiny_config().heads, hd = D / H;
    for (uint32_t layer = 0; layer < 2; ++layer) {
        CAPTURE(layer);
        auto at = gpt_layer_attention(history, vm.image, *g, layer);
        REQUIRE_MESSAGE(at, (at ? "" : at.error().message));
        CHECK(at->op == "QATTENTION");
        const uint32_t L = at->length;
        CHECK(L == prompt.size() + 2);
        CHECK(at->known() == L);
        // The last decode pass's query row is position L - 1: its attn.out row is in the image now.
        const std::string p = "layer" + std::to_string(layer) + ".";
        auto row_of = [&](const std::string& name) {
            for (const Region& r : symbols)
                if (r.name == name) return r.row;
            FAIL("no region " << name);
            return 0u;
        };
        auto out = read_matrix(vm.image, row_of(p + "attn.out"));
        auto v = read_matrix(vm.image, row_of(p + "attn.v_cache"));
        REQUIRE(out);
        REQUIRE(v);
        REQUIRE(out->size() == D);
        // QATTENTION's parameters, from the instruction that reads this layer's key cache.
        std::optional<QAttentionParams> prm;
        for (uint32_t pc = 0; pc < vm.image.width && !prm;) {
            const Decoded d = decode(image_fetch(vm.image), vm.image.width, pc);
            if (d.truncated) break;
            if (d.ins.opcode == uint8_t(Opcode::QATTENTION) && d.ins.operand[1] == g->k_cache[layer])
                prm = std::get<QAttentionParams>(op_def(d.ins.opcode)->decode(d.ins));
            pc += d.ins.length;
        }
        REQUIRE(prm);
        for (uint32_t h = 0; h < H; ++h) {
            double sum = 0;
            for (uint32_t j = 0; j < L; ++j) {
                const double pj = at->at(h, L - 1, j) * 4194304.0; // 2^22
                REQUIRE(pj == std::floor(pj));
                sum += pj;
            }
            CHECK(sum <= 4194304.0);
            for (uint32_t d = 0; d < hd; ++d) {
                int64_t o = 0;
                for (uint32_t j = 0; j < L; ++j)
                    o += int64_t(at->at(h, L - 1, j) * 4194304.0) *
                         (int32_t((*v)[size_t(j) * D + h * hd + d]) - prm->zv);
                const uint8_t want = clamp_add(rounding_mul_shift(int32_t(o), prm->mo, prm->shift_o), prm->zc,
                                               prm->clamp_lo, prm->clamp_hi);
                REQUIRE((*out)[h * hd + d] == want);
            }
        }
    }
}
