// FADD and FMUL (PROTOCOL.md §11.3): c = add(a, b) / mul(a, b) element-wise on float32 pixels
// (PROTOCOL.md §15 F.3: one correctly rounded operation, then canonicalization); b has a's
// shape or is a 1 x cols(a) row added to (multiplied into) every row. P1 = (1, 1, 1, 0).
#include "float_ops.h"
#include "fmath.h"

namespace px {

std::vector<Rgba> encode_params(const FBinaryParams& p) {
    return {ops::encode_dtypes(p.dtype)};
}

std::vector<float> fbinary_f32(Opcode op, const std::vector<float>& a, MatrixHeader ha,
                               const std::vector<float>& b, MatrixHeader hb) {
    std::vector<float> c(a.size());
    const bool row = !(ha == hb);
    for (size_t i = 0; i < a.size(); ++i) {
        const float y = b[row ? i % hb.cols : i];
        c[i] = op == Opcode::FMUL ? fm::mul(a[i], y) : fm::add(a[i], y);
    }
    return c;
}

namespace ops {
namespace {
constexpr FloatDtypes kAccepted{1, 1, 1, 0};

OpParams decode(const Instruction& ins) {
    return FBinaryParams{decode_dtypes(ins.params[0])};
}

std::string check(const Instruction& ins, const OpParams& params, uint32_t) {
    return check_dtypes(ins, std::get<FBinaryParams>(params).dtype, kAccepted);
}

std::optional<Trap> shape(Plan& p, const PlanContext& cx) {
    const MatrixHeader ha = p.shape[0], hb = p.shape[1];
    if (!(ha == hb || (hb.rows == 1 && hb.cols == ha.cols)))
        return shape_mismatch(
            p, cx, std::string(cx.name) + " needs equal shapes or b of shape 1x" + std::to_string(ha.cols));
    p.out_shape = ha;
    return std::nullopt;
}

std::string describe(const OpParams& params) {
    static constexpr OperandKind kKinds[3] = {OperandKind::MatrixIn, OperandKind::MatrixIn,
                                              OperandKind::MatrixOut};
    return dtypes_text(nullptr, std::get<FBinaryParams>(params).dtype, kKinds);
}

void reference(Image& image, const Plan& p) {
    const auto& op = p.ins.operand;
    const std::vector<float> a = gather_f32(image, op[0], p.shape[0]);
    const std::vector<float> b = gather_f32(image, op[1], p.shape[1]);
    scatter_f32(image, op[2], p.out_shape, fbinary_f32(Opcode(p.ins.opcode), a, p.shape[0], b, p.shape[1]));
}
std::array<DType, 3> types(const OpParams& params) {
    return dtypes_of(std::get<FBinaryParams>(params).dtype);
}
} // namespace

const OpDef def_FADD = {Opcode::FADD,       decode, check, shape, describe, no_rows, reference,
                        dtype_channel_text, types};
const OpDef def_FMUL = {Opcode::FMUL,       decode, check, shape, describe, no_rows, reference,
                        dtype_channel_text, types};

} // namespace ops
} // namespace px
