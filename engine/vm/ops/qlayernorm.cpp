// QLAYERNORM (PROTOCOL.md §16.1): the integer layer norm of each row of a (R x N u8 codes, zero
// point za) with the gains and biases in b (2 x N int32: row 0 gains, row 1 biases) into c (u8,
// zero point zc). P1 = (za, zc, shift, 0), P2 = E (int32, >= 0), P3 = (clamp_lo, clamp_hi, 0, 0).
// The arithmetic is qint::layernorm_row (ops/qint_ops.h); N <= 8192 keeps it in int64.
#include "qint_ops.h"

namespace px {

std::vector<Rgba> encode_params(const QLayerNormParams& p) {
    return {{p.za, p.zc, p.shift, p.reserved1},
            i32_to_rgba(p.eps),
            {p.clamp_lo, p.clamp_hi, p.reserved3[0], p.reserved3[1]}};
}

namespace ops {
namespace {
OpParams decode(const Instruction& ins) {
    QLayerNormParams p;
    const auto& q = ins.params;
    p.za = q[0][0], p.zc = q[0][1], p.shift = q[0][2], p.reserved1 = q[0][3];
    p.eps = rgba_to_i32(q[1]);
    p.clamp_lo = q[2][0], p.clamp_hi = q[2][1], p.reserved3[0] = q[2][2], p.reserved3[1] = q[2][3];
    return p;
}

std::string check(const Instruction& ins, const OpParams& params, uint32_t) {
    const auto& p = std::get<QLayerNormParams>(params);
    if (p.shift < 1 || p.shift > 62)
        return param_pixel_name(ins, 0) + ": shift " + std::to_string(p.shift) + " is outside 1..62";
    if (std::string e = check_reserved(ins, 0, {3}); !e.empty()) return e;
    if (p.eps < 0)
        return param_pixel_name(ins, 1) + ": epsilon E = " + std::to_string(p.eps) + " is negative";
    if (std::string e = check_clamp(ins, 2, p.clamp_lo, p.clamp_hi); !e.empty()) return e;
    return check_reserved(ins, 2, {2, 3});
}

std::optional<Trap> shape(Plan& p, const PlanContext& cx) {
    const MatrixHeader ha = p.shape[0], hb = p.shape[1];
    if (ha.cols > qint::kMaxLayerNormCols)
        return make_trap(TrapCode::SHAPE_MISMATCH, 0, p.ins.operand[0],
                         cx.at() + "a is " + shape_text(ha) + "; rows of more than " +
                             std::to_string(qint::kMaxLayerNormCols) +
                             " columns are not allowed (int64 bound, PROTOCOL.md 16.1)");
    if (!(hb.rows == 2 && hb.cols == ha.cols))
        return shape_mismatch(
            p, cx, std::string(cx.name) + " needs b (gains, biases) to be 2x" + std::to_string(ha.cols));
    p.out_shape = ha;
    return std::nullopt;
}

std::string describe(const OpParams& params) {
    const auto& p = std::get<QLayerNormParams>(params);
    return "za=" + std::to_string(p.za) + " zc=" + std::to_string(p.zc) +
           " shift=" + std::to_string(p.shift) + " E=" + std::to_string(p.eps) + " clamp=[" +
           std::to_string(p.clamp_lo) + "," + std::to_string(p.clamp_hi) +
           "] b: row 0 gains, row 1 biases (i32)";
}

// a and c are uint8 codes; b holds the int32 gains and biases.
std::array<DType, 3> types(const OpParams&) {
    return {DType::U8, DType::I32, DType::U8};
}

void reference(Image& image, const Plan& p) {
    const auto& q = std::get<QLayerNormParams>(p.params);
    const MatrixHeader ha = p.shape[0];
    // Every read before any write (§4.2): c may be a or b.
    const std::vector<uint8_t> a = gather(image, p.ins.operand[0], ha);
    const std::vector<int32_t> gb = gather_i32(image, p.ins.operand[1], p.shape[1]);
    scatter(image, p.ins.operand[2], p.out_shape, qint::qlayernorm_u8(a, ha.rows, ha.cols, gb, q));
}
} // namespace

const OpDef def_QLAYERNORM = {Opcode::QLAYERNORM, decode,  check, shape, describe, no_rows,
                              reference,          nullptr, types};

} // namespace ops
} // namespace px
