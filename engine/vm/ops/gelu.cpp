// GELU (PROTOCOL.md §11.7): c = gelu(a) element-wise on float32 pixels, the tanh-form GELU of
// PROTOCOL.md §15 F.6 (the same function as FMATMUL's activation 2). P1 = (1, 0, 1, 0).
#include "float_ops.h"
#include "fmath.h"

namespace px::ops {
namespace {
constexpr FloatDtypes kAccepted{1, 0, 1, 0};
std::string check(const Instruction& ins, const OpParams& params, uint32_t) {
    return check_dtypes(ins, std::get<FUnaryParams>(params).dtype, kAccepted);
}

void reference(Image& image, const Plan& p) {
    std::vector<float> v = gather_f32(image, p.ins.operand[0], p.shape[0]);
    for (float& x : v)
        x = fm::gelu(x);
    scatter_f32(image, p.ins.operand[2], p.out_shape, v);
}
} // namespace

const OpDef def_GELU = {Opcode::GELU, decode_unary,       check,      same_shape, describe_unary, no_rows,
                        reference,    dtype_channel_text, unary_types};

} // namespace px::ops
