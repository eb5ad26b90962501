// FCONVERT (PROTOCOL.md §11.5): float16 <-> float32, the direction declared by P1: (2, 0, 1, 0) reads
// a as f16 (two per pixel) and writes c as f32, from_f16 of F.4, exact; (1, 0, 2, 0) reads a as f32
// (canonicalized) and writes c as f16, to_f16 of F.4 (round to nearest even, binary16 subnormals,
// overflow to inf). c gets a's shape; an f16 matrix occupies ceil(n/2) element pixels, which
// plan_instruction counts for the fit checks through operand_types.
#include "float_ops.h"
#include "fmath.h"

namespace px {

std::vector<Rgba> encode_params(const FUnaryParams& p) {
    return {ops::encode_dtypes(p.dtype)};
}

namespace ops {
namespace {
constexpr FloatDtypes kToF32{2, 0, 1, 0}, kToF16{1, 0, 2, 0};
std::string check(const Instruction& ins, const OpParams& params, uint32_t) {
    const FloatDtypes& d = std::get<FUnaryParams>(params).dtype;
    // Two accepted combinations: name the one closer to what was written.
    return check_dtypes(ins, d, d.a == 1 ? kToF16 : kToF32);
}

void reference(Image& image, const Plan& p) {
    const bool to_f16 = std::get<FUnaryParams>(p.params).dtype.c == uint8_t(DType::F16);
    const uint32_t a = p.ins.operand[0], c = p.ins.operand[2];
    if (to_f16)
        scatter_f16(image, c, p.out_shape, gather_f32(image, a, p.shape[0]));
    else
        scatter_f32(image, c, p.out_shape, gather_f16(image, a, p.shape[0]));
}
} // namespace

const OpDef def_FCONVERT = {Opcode::FCONVERT, decode_unary,       check,
                            same_shape,       describe_unary,     no_rows,
                            reference,        dtype_channel_text, unary_types};

} // namespace ops
} // namespace px
