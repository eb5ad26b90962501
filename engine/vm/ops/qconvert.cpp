// DEQUANT and QUANT (PROTOCOL.md §11.4): uint8 <-> float32 with a per-matrix scale and zero point,
// defined in PROTOCOL.md §15 F.9. DEQUANT: c = mul(float(a - zp), scale), P1 = (0, 0, 1, 0).
// QUANT: c = clamp(rne(mul(a, inv_scale)) + zp, 0, 255), NaN -> zp, P1 = (1, 0, 0, 0); QUANT takes
// 1/scale so that no division is needed (F.3 has none). P2 = the scale (or 1/scale) as a whole f32
// pixel, a positive normal finite value; P3 = (zero_point, 0, 0, 0). DEQUANT also takes i32 input
// (PROTOCOL.md §16.4): P1 = (3, 0, 1, 0), zero point 0, c = mul(f32_rne(a), scale).
#include "float_ops.h"
#include "fmath.h"

namespace px {

std::vector<Rgba> encode_params(const QConvertParams& p) {
    return {ops::encode_dtypes(p.dtype), word_pixel(p.scale_bits), {p.zero_point, p.reserved, 0, 0}};
}

std::vector<float> dequant_f32(const std::vector<uint8_t>& q, uint8_t zero_point, float scale) {
    std::vector<float> c(q.size());
    for (size_t i = 0; i < q.size(); ++i)
        c[i] = fm::dequantize(q[i], zero_point, scale);
    return c;
}

std::vector<float> dequant_i32_f32(const std::vector<int32_t>& a, float scale) {
    std::vector<float> c(a.size());
    for (size_t i = 0; i < a.size(); ++i)
        c[i] = fm::mul(float(a[i]), scale); // int32 -> binary32 rounds to nearest even (IEEE default)
    return c;
}

std::vector<uint8_t> quant_u8(const std::vector<float>& x, float inv_scale, uint8_t zero_point) {
    std::vector<uint8_t> c(x.size());
    for (size_t i = 0; i < x.size(); ++i)
        c[i] = fm::quantize(x[i], inv_scale, zero_point);
    return c;
}

namespace ops {
namespace {
constexpr FloatDtypes kDequant{0, 0, 1, 0}, kDequantI32{3, 0, 1, 0}, kQuant{1, 0, 0, 0};
constexpr OperandKind kKinds[3] = {OperandKind::MatrixIn, OperandKind::None, OperandKind::MatrixOut};

bool is_quant(const Instruction& ins) {
    return Opcode(ins.opcode) == Opcode::QUANT;
}

// DEQUANT's second form (§16.4): a is i32.
bool is_i32_input(const FloatDtypes& d) {
    return d.a == kDequantI32.a && d.b == kDequantI32.b && d.c == kDequantI32.c && d.reserved == 0;
}

OpParams decode(const Instruction& ins) {
    QConvertParams p;
    p.dtype = decode_dtypes(ins.params[0]);
    p.scale_bits = pixel_word(ins.params[1]);
    p.zero_point = ins.params[2][0];
    p.reserved = ins.params[2][1];
    return p;
}

std::string check(const Instruction& ins, const OpParams& params, uint32_t) {
    const auto& p = std::get<QConvertParams>(params);
    const bool quant = is_quant(ins);
    const bool i32 = !quant && is_i32_input(p.dtype);
    if (!i32)
        if (std::string e = check_dtypes(ins, p.dtype, quant ? kQuant : kDequant); !e.empty())
            return quant ? e : e + " (or (i32, none, f32, 0) for int32 input)";
    if (std::string e = check_positive_f32(ins, 1, quant ? "inv_scale" : "scale", p.scale_bits); !e.empty())
        return e;
    if (i32 && p.zero_point != 0)
        return param_pixel_name(ins, 2) + ": zero_point " + std::to_string(p.zero_point) +
               " with i32 input; an int32 accumulator's zero point is 0";
    return check_reserved(ins, 2, {1, 2, 3});
}

std::string describe_dequant(const OpParams& params) {
    const auto& p = std::get<QConvertParams>(params);
    return dtypes_text(nullptr, p.dtype, kKinds) + " scale=" + f32_text(p.scale_bits) +
           " zero_point=" + std::to_string(p.zero_point);
}

std::string describe_quant(const OpParams& params) {
    const auto& p = std::get<QConvertParams>(params);
    return dtypes_text(nullptr, p.dtype, kKinds) + " inv_scale=" + f32_text(p.scale_bits) +
           " zero_point=" + std::to_string(p.zero_point);
}

std::array<DType, 3> types(const OpParams& params) {
    return dtypes_of(std::get<QConvertParams>(params).dtype);
}

void reference_dequant(Image& image, const Plan& p) {
    const auto& q = std::get<QConvertParams>(p.params);
    if (is_i32_input(q.dtype)) {
        const std::vector<int32_t> a = gather_i32(image, p.ins.operand[0], p.shape[0]);
        scatter_f32(image, p.ins.operand[2], p.out_shape, dequant_i32_f32(a, fm::from_bits(q.scale_bits)));
        return;
    }
    const std::vector<uint8_t> a = gather(image, p.ins.operand[0], p.shape[0]); // before any write (§4.2)
    scatter_f32(image, p.ins.operand[2], p.out_shape,
                dequant_f32(a, q.zero_point, fm::from_bits(q.scale_bits)));
}

void reference_quant(Image& image, const Plan& p) {
    const auto& q = std::get<QConvertParams>(p.params);
    const std::vector<float> a = gather_f32(image, p.ins.operand[0], p.shape[0]);
    // u8 elements: R only, G, B, A of the element pixels kept (F.1).
    scatter(image, p.ins.operand[2], p.out_shape, quant_u8(a, fm::from_bits(q.scale_bits), q.zero_point));
}
} // namespace

const OpDef def_DEQUANT = {
    Opcode::DEQUANT,    decode, check, same_shape, describe_dequant, no_rows, reference_dequant,
    dtype_channel_text, types};
const OpDef def_QUANT = {Opcode::QUANT,  decode,  check,           same_shape,
                         describe_quant, no_rows, reference_quant, dtype_channel_text,
                         types};

} // namespace ops
} // namespace px
