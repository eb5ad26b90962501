// ARGMAX a, c (PROTOCOL.md §13.4): c = 1x1 i32, the index of the largest f32 in a's last row (the
// logits of the newest position), the lowest index on ties; NaN ranks below every number
// (logit_key, gen_ops.h). P1 = (f32, 0, i32, 0).
#include "gen_ops.h"

#include "float_ops.h"
#include "layout.h"

namespace px {

std::vector<Rgba> encode_params(const ArgmaxParams& p) {
    return {ops::encode_dtypes(p.dtype)};
}

namespace ops {

// gen_ops.h: the canonical bits of a's last row, for ARGMAX, SAMPLE and PENALIZE.
std::vector<uint32_t> last_row_bits(const Image& image, uint32_t row, MatrixHeader h) {
    std::vector<uint32_t> x(h.cols);
    const uint64_t first = uint64_t(h.rows - 1) * h.cols;
    for (uint32_t j = 0; j < h.cols; ++j)
        x[j] = read_typed(image, row, first + j, 1);
    return x;
}

namespace {
OpParams decode(const Instruction& ins) {
    return ArgmaxParams{decode_dtypes(ins.params[0])};
}

std::string check(const Instruction& ins, const OpParams& params, uint32_t) {
    return check_gen_dtypes(ins, std::get<ArgmaxParams>(params).dtype, {{1}, {0}, {3}});
}

std::optional<Trap> shape(Plan& p, const PlanContext&) {
    p.out_shape = {1, 1};
    return std::nullopt;
}

std::string describe(const OpParams&) {
    return "a:f32 logits (last row) c:i32 token";
}

void reference(Image& image, const Plan& p) {
    const auto& op = p.ins.operand;
    const std::vector<uint32_t> x = last_row_bits(image, op[0], p.shape[0]);
    const uint32_t token = argmax_bits(x.data(), uint32_t(x.size()));
    image.set_pixel(0, op[2], encode_header(p.out_shape));
    set_element_word(image, op[2], 0, token);
}

std::array<DType, 3> types(const OpParams&) {
    return {DType::F32, DType::U8, DType::I32};
}
} // namespace

const OpDef def_ARGMAX = {Opcode::ARGMAX,     decode, check, shape, describe, no_rows, reference,
                          dtype_channel_text, types};

} // namespace ops
} // namespace px
