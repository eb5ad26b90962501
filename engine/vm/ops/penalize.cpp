// PENALIZE a, b, c (PROTOCOL.md §13.6): c = 1xV f32, a's last row of f32 logits with the penalty p
// (P2) subtracted once from the logit of every token id found among the last n (P3) i32 elements
// of b, the sequence so far: a presence penalty, so greedy decoding and sampling move away from
// what was just said. P1 = (f32, i32, f32, 0). A token id outside 0..V-1 is OUT_OF_RANGE at the
// pixel that holds it. The arithmetic is penalize_bits (gen_ops.h), every float op fmath's.
#include "gen_ops.h"

#include "float_ops.h"
#include "fmath.h"
#include "layout.h"

#include <cstdio>

namespace px {

std::vector<Rgba> encode_params(const PenalizeParams& p) {
    return ops::encode_word_count(p.dtype, p.penalty, p.window, p.reserved);
}

namespace ops {

namespace {
OpParams decode(const Instruction& ins) {
    const WordCountParams w = decode_word_count(ins);
    PenalizeParams p;
    p.dtype = w.dtype, p.penalty = w.word, p.window = w.count;
    p.reserved[0] = w.reserved[0], p.reserved[1] = w.reserved[1];
    return p;
}

std::string check(const Instruction& ins, const OpParams& params, uint32_t) {
    const auto& p = std::get<PenalizeParams>(params);
    return check_word_count(ins, p.dtype, {{1}, {3}, {1}}, "penalty", p.penalty);
}

// Every token id of the window is checked here, so the kernels index a's last row freely.
std::optional<Trap> shape(Plan& p, const PlanContext& cx) {
    const auto& q = std::get<PenalizeParams>(p.params);
    const uint32_t V = p.shape[0].cols, row_b = p.ins.operand[1];
    const uint64_t elements = p.shape[1].elements();
    for (uint64_t i = q.window_first(elements); i < elements; ++i) {
        const auto [x, y] = element_pixel(row_b, i, cx.width);
        const int32_t t = int32_t(pixel_word(cx.fetch(x, y)));
        if (t < 0 || uint32_t(t) >= V)
            return make_trap(TrapCode::OUT_OF_RANGE, x, y,
                             cx.at() + "token id " + std::to_string(t) + " (element " + std::to_string(i) +
                                 " of b at row " + std::to_string(row_b) + ") is outside the " +
                                 std::to_string(V) + " columns 0.." + std::to_string(V - 1) +
                                 " of the logits a");
    }
    p.out_shape = {V, 1};
    return std::nullopt;
}

std::string describe(const OpParams& params) {
    const auto& p = std::get<PenalizeParams>(params);
    char buf[160];
    std::snprintf(buf, sizeof buf, "a:f32 logits (last row) b:i32 tokens c:f32 logits p=%.9g window=%s",
                  double(fm::from_bits(fm::canon_bits(p.penalty))),
                  p.window == 0 ? "all" : std::to_string(p.window).c_str());
    return buf;
}

void reference(Image& image, const Plan& p) {
    const auto& q = std::get<PenalizeParams>(p.params);
    const auto& op = p.ins.operand;
    std::vector<uint32_t> x = last_row_bits(image, op[0], p.shape[0]);
    const uint64_t elements = p.shape[1].elements(), first = q.window_first(elements);
    std::vector<uint32_t> tokens;
    for (uint64_t i = first; i < elements; ++i)
        tokens.push_back(element_word(image, op[1], i));
    penalize_bits(x.data(), uint32_t(x.size()), tokens.data(), tokens.size(), fm::canon_bits(q.penalty));
    image.set_pixel(0, op[2], encode_header(p.out_shape));
    for (uint64_t j = 0; j < x.size(); ++j)
        set_element_word(image, op[2], j, x[j]);
}

std::array<DType, 3> types(const OpParams&) {
    return {DType::F32, DType::I32, DType::F32};
}
} // namespace

const OpDef def_PENALIZE = {Opcode::PENALIZE,   decode, check, shape, describe, no_rows, reference,
                            dtype_channel_text, types};

} // namespace ops
} // namespace px
