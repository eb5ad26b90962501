// SAMPLE a, b, c (PROTOCOL.md §13.5): c = 1x1 i32, a token drawn from a's last row of f32 logits
// at temperature T (P2) among the top k (P3); b is the 1x1 PRNG state (uint32), advanced once per
// SAMPLE. P1 = (f32, i32, i32, 0), P2 = T as f32 bits, P3 = (k lo, k hi, 0, 0), k = 0: the whole
// row. T = 0 is the argmax. The arithmetic is sample_bits (gen_ops.h), every float op fmath's.
#include "gen_ops.h"

#include "float_ops.h"
#include "fmath.h"
#include "layout.h"

#include <cstdio>

namespace px {

std::vector<Rgba> encode_params(const SampleParams& p) {
    return ops::encode_word_count(p.dtype, p.temperature, p.top_k, p.reserved);
}

namespace ops {

namespace {
OpParams decode(const Instruction& ins) {
    const WordCountParams w = decode_word_count(ins);
    SampleParams p;
    p.dtype = w.dtype, p.temperature = w.word, p.top_k = w.count;
    p.reserved[0] = w.reserved[0], p.reserved[1] = w.reserved[1];
    return p;
}

std::string check(const Instruction& ins, const OpParams& params, uint32_t) {
    const auto& p = std::get<SampleParams>(params);
    return check_word_count(ins, p.dtype, {{1}, {3}, {3}}, "temperature", p.temperature);
}

std::optional<Trap> shape(Plan& p, const PlanContext& cx) {
    const uint32_t row_b = p.ins.operand[1];
    if (!(p.shape[1] == MatrixHeader{1, 1}))
        return make_trap(TrapCode::SHAPE_MISMATCH, 0, row_b,
                         cx.at() + "the PRNG state b at row " + std::to_string(row_b) + " is " +
                             shape_text(p.shape[1]) + "; it must be 1x1");
    p.out_shape = {1, 1};
    p.writes.push_back(Rect{1, row_b, 1, 1});
    return std::nullopt;
}

std::string describe(const OpParams& params) {
    const auto& p = std::get<SampleParams>(params);
    char buf[160];
    std::snprintf(buf, sizeof buf, "a:f32 logits (last row) b:i32 PRNG state c:i32 token T=%.9g top_k=%s",
                  double(fm::from_bits(fm::canon_bits(p.temperature))),
                  p.top_k == 0 ? "all" : std::to_string(p.top_k).c_str());
    return buf;
}

void reference(Image& image, const Plan& p) {
    const auto& q = std::get<SampleParams>(p.params);
    const auto& op = p.ins.operand;
    const std::vector<uint32_t> x = last_row_bits(image, op[0], p.shape[0]);
    const uint32_t state = element_word(image, op[1], 0) + kPrngStep;
    const uint32_t token =
        sample_bits(x.data(), uint32_t(x.size()), fm::canon_bits(q.temperature), q.top_k, mix32(state));
    set_element_word(image, op[1], 0, state); // b first, then c: c wins where they share a pixel
    image.set_pixel(0, op[2], encode_header(p.out_shape));
    set_element_word(image, op[2], 0, token);
}

std::array<DType, 3> types(const OpParams&) {
    return {DType::F32, DType::I32, DType::I32};
}
} // namespace

const OpDef def_SAMPLE = {Opcode::SAMPLE,     decode, check, shape, describe, no_rows, reference,
                          dtype_channel_text, types};

} // namespace ops
} // namespace px
