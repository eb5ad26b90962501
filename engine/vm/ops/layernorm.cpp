// LAYERNORM (PROTOCOL.md §11.6, PROTOCOL.md §15 F.10): for each row x of a (M x N),
// c's row = the layer norm of F.6 with gain b (1 x N), the optional bias row of P2 (1 x N, 0: none)
// and epsilon P3: mean and variance as F.5 sums in the fixed order, 1/N by recip and 1/sqrt by
// rsqrt of F.6 (no hardware division or square root). P1 = (1, 1, 1, 0);
// P2 = (bias_row lo, bias_row hi, 0, 0); P3 = epsilon as a whole f32 pixel, canonical, finite and
// not negative (0 allowed).
#include "float_ops.h"
#include "fmath.h"

namespace px {

std::vector<Rgba> encode_params(const LayerNormParams& p) {
    return {ops::encode_dtypes(p.dtype),
            {uint8_t(p.bias_row), uint8_t(p.bias_row >> 8), p.reserved, 0},
            word_pixel(p.eps_bits)};
}

std::vector<float> layernorm_f32(const std::vector<float>& x, uint32_t rows, uint32_t n,
                                 const std::vector<float>& gain, const std::vector<float>& bias, float eps) {
    std::vector<float> y(x.size());
    const std::vector<float> zero(bias.empty() ? n : 0, 0.0f);
    const float* b = bias.empty() ? zero.data() : bias.data();
    for (uint32_t m = 0; m < rows; ++m)
        fm::layernorm_row(&x[size_t(m) * n], gain.data(), b, eps, &y[size_t(m) * n], n);
    return y;
}

namespace ops {
namespace {
constexpr FloatDtypes kAccepted{1, 1, 1, 0};
constexpr OperandKind kKinds[3] = {OperandKind::MatrixIn, OperandKind::MatrixIn, OperandKind::MatrixOut};

OpParams decode(const Instruction& ins) {
    LayerNormParams p;
    const auto& q = ins.params;
    p.dtype = decode_dtypes(q[0]);
    p.bias_row = uint16_t(q[1][0] | q[1][1] << 8);
    p.reserved = q[1][2];
    p.eps_bits = pixel_word(q[2]);
    return p;
}

std::string check(const Instruction& ins, const OpParams& params, uint32_t height) {
    const auto& p = std::get<LayerNormParams>(params);
    if (std::string e = check_dtypes(ins, p.dtype, kAccepted); !e.empty()) return e;
    if (std::string e = check_bias_row(ins, 1, p.bias_row, height); !e.empty()) return e;
    if (std::string e = check_reserved(ins, 1, {2, 3}); !e.empty()) return e;
    // epsilon: +0 or a positive normal finite value. A NaN, inf or negative epsilon has no use, and
    // a non-canonical one (-0, a subnormal) would silently read as something else.
    if (p.eps_bits != 0 && !(p.eps_bits > fm::kMinNormal && p.eps_bits < fm::kPosInf))
        return param_pixel_name(ins, 2) + ": epsilon " + f32_text(p.eps_bits) +
               " is not 0 or a positive normal finite float32 (bits 0 or 0x00800001..0x7F7FFFFF)";
    return {};
}

std::optional<Trap> shape(Plan& p, const PlanContext& cx) {
    const MatrixHeader ha = p.shape[0], hg = p.shape[1];
    if (!(hg.rows == 1 && hg.cols == ha.cols))
        return shape_mismatch(p, cx,
                              std::string(cx.name) + " needs the gain b to be 1x" + std::to_string(ha.cols));
    p.out_shape = ha;
    return check_bias(p, cx, std::get<LayerNormParams>(p.params).bias_row); // 1 x cols(b) = 1 x N
}

std::string describe(const OpParams& params) {
    const auto& p = std::get<LayerNormParams>(params);
    return dtypes_text(nullptr, p.dtype, kKinds) +
           " bias=" + (p.bias_row ? "row " + std::to_string(p.bias_row) + " (f32)" : std::string("none")) +
           " eps=" + f32_text(p.eps_bits);
}

std::vector<uint32_t> rows(const OpParams& params) {
    const uint32_t row = std::get<LayerNormParams>(params).bias_row;
    return row ? std::vector<uint32_t>{row} : std::vector<uint32_t>{};
}
// The row it names (the bias) holds f32 elements.
std::vector<DType> row_types(const OpParams& params) {
    return std::vector<DType>(rows(params).size(), DType::F32);
}

std::array<DType, 3> types(const OpParams& params) {
    return dtypes_of(std::get<LayerNormParams>(params).dtype);
}

void reference(Image& image, const Plan& p) {
    const auto& q = std::get<LayerNormParams>(p.params);
    const MatrixHeader ha = p.shape[0];
    // Every read before any write (§4.2): c may be a, the gain or the bias.
    const std::vector<float> x = gather_f32(image, p.ins.operand[0], ha);
    const std::vector<float> gain = gather_f32(image, p.ins.operand[1], p.shape[1]);
    const std::vector<float> bias =
        q.bias_row ? gather_f32(image, q.bias_row, {ha.cols, 1}) : std::vector<float>{};
    scatter_f32(image, p.ins.operand[2], p.out_shape,
                layernorm_f32(x, ha.rows, ha.cols, gain, bias, fm::from_bits(q.eps_bits)));
}
} // namespace

const OpDef def_LAYERNORM = {Opcode::LAYERNORM,  decode, check,    shape, describe, rows, reference,
                             dtype_channel_text, types,  row_types};

} // namespace ops
} // namespace px
