// FSOFTMAX (PROTOCOL.md §12.1): c = softmax of each row of a, the row first multiplied by an f32
// scale (1 = plain softmax; 1/temperature for sampling). PROTOCOL.md §15 F.11: z = mul(x,
// scale), then the row softmax of F.6 (max, exp(z - max), the F.5 sum, one recip, one mul per
// element). P1 = (1, 0, 1, 0): a and c are f32, b is none; P2 = the scale as an f32 pixel.
#include "float_ops.h"
#include "fmath.h"

namespace px {

std::vector<Rgba> encode_params(const FSoftmaxParams& p) {
    return {ops::encode_dtypes(p.dtype), word_pixel(p.scale)};
}

std::vector<float> fsoftmax_f32(const std::vector<float>& x, MatrixHeader h, float scale) {
    std::vector<float> y(x.size());
    const float s = fm::canon(scale);
    for (uint32_t r = 0; r < h.rows; ++r) {
        float* row = &y[size_t(r) * h.cols];
        for (uint32_t i = 0; i < h.cols; ++i)
            row[i] = fm::mul(x[size_t(r) * h.cols + i], s);
        fm::softmax_row(row, row, h.cols);
    }
    return y;
}

namespace ops {
namespace {
constexpr FloatDtypes kAccepted{1, 0, 1, 0};

OpParams decode(const Instruction& ins) {
    return FSoftmaxParams{decode_dtypes(ins.params[0]), pixel_word(ins.params[1])};
}

std::string check(const Instruction& ins, const OpParams& params, uint32_t) {
    return check_dtypes(ins, std::get<FSoftmaxParams>(params).dtype, kAccepted); // every scale is valid
}

std::string describe(const OpParams& params) {
    const auto& p = std::get<FSoftmaxParams>(params);
    static constexpr OperandKind kKinds[3] = {OperandKind::MatrixIn, OperandKind::None,
                                              OperandKind::MatrixOut};
    return dtypes_text(nullptr, p.dtype, kKinds) + " scale=" + f32_param_text(p.scale);
}

// P1 as dtype names, b (kind none) as "none": FSOFTMAX x, 0, y, [f32, none, f32, 0], [...].
std::string channel_text(const Instruction& ins, uint32_t k, int c) {
    if (k == 0 && c == 1 && ins.params[0][1] == 0) return "none";
    return dtype_channel_text(ins, k, c);
}

std::array<DType, 3> types(const OpParams&) {
    return {DType::F32, DType::U8, DType::F32};
}

void reference(Image& image, const Plan& p) {
    const auto& op = p.ins.operand;
    const std::vector<float> a = gather_f32(image, op[0], p.shape[0]); // read before c is written
    scatter_f32(image, op[2], p.out_shape,
                fsoftmax_f32(a, p.shape[0], fm::from_bits(std::get<FSoftmaxParams>(p.params).scale)));
}
} // namespace

const OpDef def_FSOFTMAX = {Opcode::FSOFTMAX, decode,    check,        same_shape, describe,
                            no_rows,          reference, channel_text, types};

} // namespace ops
} // namespace px
