// gpt_lens_test.cpp — the quantization lens (engine/models/gpt_lens.h) on the tiny model of
// tests/gpt_tiny.h: which positions a uint8 activation's rows hold at every kind of pc (inside
// the prefill, after its APPEND, inside a decode pass, at HALT); the lens's dequantized values
// against the pixels and the symbols' scale; its reference against values computed here without
// the lens (x0 = wte[id] + wpe[t] in float32; the float32 program's own final residual read
// after a prefill on the reference executor); its statistics recomputed; the float32 program's
// top-k; and every error naming the region.
#include "gpt_lens.h"

#include "compare.h"
#include "cpu_fast.h"
#include "debuginfo.h"
#include "dtype.h"
#include "gpt_tiny.h"
#include "vm.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

using namespace px;
using namespace px::test;

namespace {

const Region& region_named(const std::vector<Region>& regions, const std::string& name) {
    auto it = std::find_if(regions.begin(), regions.end(), [&](const Region& r) { return r.name == name; });
    REQUIRE_MESSAGE(it != regions.end(), name);
    return *it;
}

struct U8Run {
    VmState vm;
    GptRegions regions;
    std::vector<Region> symbols;
};

// The uint8 program with `prompt` and n new tokens (greedy), ready to step.
U8Run start_u8(const std::vector<int32_t>& prompt, uint32_t n) {
    Image img = build_tiny_u8();
    auto g = find_gpt_regions(img);
    REQUIRE(g);
    REQUIRE(set_gpt_prompt(img, *g, prompt, n));
    U8Run r{make_vm(img, 1000000), *g, program_regions(img)};
    return r;
}

// Steps until `until(pc about to run)` holds (or the VM stops).
void step_until(U8Run& r, const std::function<bool(uint32_t)>& until) {
    const PlanExecutor fast = fast_executor();
    while (r.vm.status == VmStatus::Ready && !until(r.vm.pc))
        step(r.vm, nullptr, fast);
}

// The pcs that write row `row` (from the disassembly's operands, independently of the lens).
std::vector<uint32_t> writer_pcs(const Image& img, uint32_t row) {
    std::vector<uint32_t> pcs;
    for (uint32_t pc = 0; pc < img.width;) {
        const Decoded d = decode(image_fetch(img), img.width, pc);
        if (d.truncated) break;
        if (d.ins.info && d.ins.info->operands[2] == OperandKind::MatrixOut && d.ins.operand[2] == row)
            pcs.push_back(pc);
        pc += d.ins.length;
    }
    return pcs;
}

const GptFloatReference& tiny_reference() {
    static const GptFloatReference ref = [] {
        const GptConfig c = tiny_config();
        auto img = build_gpt(c, tiny_weights(c), tiny_bpe());
        REQUIRE(img);
        auto u8 = find_gpt_regions(build_tiny_u8());
        REQUIRE(u8);
        auto r = open_gpt_float_reference(std::move(*img), *u8);
        REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
        return std::move(*r);
    }();
    return ref;
}

// The float32 program's prefill over `prompt` on the reference executor, stopped at its SAMPLE.
VmState reference_prefill(const std::vector<int32_t>& prompt) {
    Image f32 = tiny_reference().program;
    const GptRegions& g = tiny_reference().regions;
    REQUIRE(set_gpt_prompt(f32, g, prompt, 1));
    VmState vm = make_vm(std::move(f32), 100000);
    const uint32_t stop = g.sample_pcs.front();
    run(vm, {.stop_before = [&](const VmState& s) { return s.pc == stop; }, .execute = execute_reference});
    return vm;
}

} // namespace

TEST_CASE("gpt lens: the positions an activation holds follow the pass that wrote it") {
    const std::vector<int32_t> prompt = encode(tiny_bpe(), "The quick brown");
    const uint32_t T = uint32_t(prompt.size());
    REQUIRE(T >= 2);
    U8Run r = start_u8(prompt, 3);
    const Region& q1 = region_named(r.symbols, "layer1.attn.q");
    const std::vector<uint32_t> w = writer_pcs(r.vm.image, q1.row);
    REQUIRE(w.size() == 2); // prefill and decode
    const uint32_t append0 =
        *std::min_element(r.regions.token_append_pcs.begin(), r.regions.token_append_pcs.end());
    auto at = [&] {
        auto p = gpt_activation_positions(r.vm.image, r.regions, q1, r.vm.pc);
        REQUIRE_MESSAGE(p, (p ? "" : p.error().message));
        return *p;
    };
    // Not written yet.
    auto none = gpt_activation_positions(r.vm.image, r.regions, q1, r.vm.pc);
    REQUIRE_FALSE(none);
    INFO(none.error().message);
    CHECK(none.error().message == "layer1.attn.q (row " + std::to_string(q1.row) +
                                      ") is not written yet in this run: step past pc " +
                                      std::to_string(w[0]));
    // Just after the prefill wrote it: positions 0 .. T-1 of the prompt.
    step_until(r, [&](uint32_t pc) { return pc > w[0]; });
    CHECK(at().first == 0);
    CHECK(at().rows == T);
    CHECK(at().sequence == T);
    CHECK(at().cols == tiny_config().width);
    // After the prefill's APPEND the sequence has T + 1 tokens; the region still holds 0 .. T-1.
    step_until(r, [&](uint32_t pc) { return pc > append0; });
    REQUIRE(read_i32_matrix(r.vm.image, r.regions.tokens)->size() == T + 1);
    CHECK(at().first == 0);
    CHECK(at().sequence == T);
    // Inside the first decode pass, before and after its write.
    step_until(r, [&](uint32_t pc) { return pc == w[1]; });
    CHECK(at().sequence == T);
    step_until(r, [&](uint32_t pc) { return pc > w[1]; });
    CHECK(at().rows == 1);
    CHECK(at().first == T);
    CHECK(at().sequence == T + 1);
    // At HALT (three tokens generated): the last decode pass computed position T + 1.
    step_until(r, [](uint32_t) { return false; });
    REQUIRE(r.vm.status == VmStatus::Halted);
    CHECK(read_i32_matrix(r.vm.image, r.regions.tokens)->size() == T + 3);
    CHECK(at().first == T + 1);
    CHECK(at().sequence == T + 2);
}

TEST_CASE("gpt lens: x0 against wte[id] + wpe[t] in float32, dequantized codes, statistics recomputed") {
    const std::vector<int32_t> prompt = encode(tiny_bpe(), "The quick brown");
    const uint32_t T = uint32_t(prompt.size());
    const GptConfig c = tiny_config();
    const GptWeights w = tiny_weights(c);
    for (uint32_t n : {1u, 3u}) { // at HALT after the prefill only, and after two decode passes
        CAPTURE(n);
        U8Run r = start_u8(prompt, n);
        step_until(r, [](uint32_t) { return false; });
        REQUIRE(r.vm.status == VmStatus::Halted);
        auto lens = gpt_quant_lens(r.vm.image, r.regions, r.symbols, r.vm.pc, tiny_reference(), "x0");
        REQUIRE_MESSAGE(lens, (lens ? "" : lens.error().message));
        const std::vector<int32_t> seq = read_i32_matrix(r.vm.image, r.regions.tokens).value();
        const uint32_t rows = n == 1 ? T : 1, first = n == 1 ? 0 : T + n - 2;
        CHECK(lens->at.rows == rows);
        CHECK(lens->at.first == first);
        const Region& x0 = region_named(r.symbols, "x0");
        REQUIRE(x0.scale);
        CHECK(lens->scale == *x0.scale);
        CHECK(lens->zero_point == x0.zero_point.value_or(0));
        auto codes = matrix_values(r.vm.image, x0.row, DType::U8);
        REQUIRE(codes);
        REQUIRE(lens->quantized.size() == size_t(rows) * c.width);
        double sum_sq = 0, ref_sq = 0, max_abs = 0;
        for (uint32_t t = 0; t < rows; ++t)
            for (uint32_t i = 0; i < c.width; ++i) {
                const size_t k = size_t(t) * c.width + i, pos = first + t;
                const float ref = w.wte[size_t(seq[pos]) * c.width + i] + w.wpe[pos * c.width + i];
                CHECK(lens->reference[k] == double(ref));
                CHECK(lens->quantized[k] == *x0.scale * ((*codes)[k] - x0.zero_point.value_or(0)));
                const double d = lens->quantized[k] - ref;
                CHECK(lens->difference[k] == d);
                sum_sq += d * d, ref_sq += double(ref) * ref, max_abs = std::max(max_abs, std::fabs(d));
            }
        CHECK(lens->max_abs == max_abs);
        CHECK(lens->rms == doctest::Approx(std::sqrt(sum_sq / double(rows * c.width))));
        CHECK(lens->relative == doctest::Approx(std::sqrt(sum_sq / ref_sq)));
        // QADD of two rounded codes: at most about one and a half steps of x0 off.
        CHECK(lens->max_abs < 2.0 * lens->scale);
        CHECK(lens->within_half_step > 0.3);
    }
}

TEST_CASE(
    "gpt lens: the last layer's residual against the float32 program's own, on the reference executor") {
    const std::vector<int32_t> prompt = encode(tiny_bpe(), "The quick brown fox");
    U8Run r = start_u8(prompt, 1);
    step_until(r, [](uint32_t) { return false; });
    auto lens = gpt_quant_lens(r.vm.image, r.regions, r.symbols, r.vm.pc, tiny_reference(), "layer1.x_out");
    REQUIRE_MESSAGE(lens, (lens ? "" : lens.error().message));
    // The float32 program's prefill on the reference executor leaves its final residual in `x`.
    const VmState vm = reference_prefill(prompt);
    const std::vector<Region> regions = program_regions(vm.image);
    const Region& x = region_named(regions, "x");
    auto want = read_float_matrix(vm.image, x.row, DType::F32);
    REQUIRE(want);
    REQUIRE(want->size() == lens->reference.size());
    for (size_t i = 0; i < want->size(); ++i)
        REQUIRE(lens->reference[i] == double((*want)[i]));
    // Quantization through two layers costs accuracy but keeps the residual's shape.
    CHECK(lens->relative < 0.25);
    CHECK(lens->relative > 0);
}

TEST_CASE("gpt lens: the float32 program's top-k equals the top of its own logits") {
    const std::vector<int32_t> prompt = encode(tiny_bpe(), "The quick brown fox");
    auto top = gpt_reference_top_k(tiny_reference(), prompt, 5);
    REQUIRE(top);
    REQUIRE(top->size() == 5);
    const GptRegions& g = tiny_reference().regions;
    const VmState vm = reference_prefill(prompt);
    auto logits = gpt_last_logits(vm.image, g);
    REQUIRE(logits);
    const auto want = gpt_top_k(*logits, 5);
    for (size_t i = 0; i < 5; ++i) {
        CHECK((*top)[i].id == want[i].id);
        CHECK((*top)[i].logit == want[i].logit);
        CHECK((*top)[i].probability == want[i].probability);
    }
}

TEST_CASE("gpt lens: errors name the region or what differs") {
    const std::vector<int32_t> prompt = encode(tiny_bpe(), "The quick");
    U8Run r = start_u8(prompt, 1);
    step_until(r, [](uint32_t) { return false; });
    auto msg = [&](const std::string& name) {
        auto l = gpt_quant_lens(r.vm.image, r.regions, r.symbols, r.vm.pc, tiny_reference(), name);
        REQUIRE_FALSE(l);
        return l.error().message;
    };
    CHECK(msg("no.such") == "no region named no.such");
    const Region& wte = region_named(r.symbols, "wte");
    CHECK(msg("wte") == "wte (row " + std::to_string(wte.row) + "): no instruction writes it");
    CHECK(msg("tokens").find("no scale in the symbols") != std::string::npos);
    // The float32 program's lens refuses; a uint8 program is no float32 reference.
    auto f32_regions = tiny_reference().regions;
    auto l = gpt_quant_lens(tiny_reference().program, f32_regions, program_regions(tiny_reference().program),
                            0, tiny_reference(), "x");
    REQUIRE_FALSE(l);
    CHECK(l.error().message == "the quantization lens needs the uint8 program");
    auto not_f32 = open_gpt_float_reference(build_tiny_u8(), r.regions);
    REQUIRE_FALSE(not_f32);
    CHECK(not_f32.error().message.find("uint8 program") != std::string::npos);
    // A different config.
    GptConfig c = tiny_config();
    c.layers = 1;
    GptWeights w = tiny_weights(tiny_config());
    w.layers.resize(1);
    auto other = build_gpt(c, w, tiny_bpe());
    REQUIRE(other);
    auto mismatch = open_gpt_float_reference(std::move(*other), r.regions);
    REQUIRE_FALSE(mismatch);
    CHECK(mismatch.error().message.find("(1 layers") != std::string::npos);
}
