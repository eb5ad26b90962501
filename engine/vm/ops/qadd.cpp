// QADD (PROTOCOL.md §5.5.3): c = clamp(zc + rq((a-za)*Ma + (b-zb)*Mb), lo, hi) element-wise; b has
// a's shape or is a 1 x cols(a) row. P1 = (za, zb, zc, shift), P2 = Ma, P3 = Mb (int32 LE),
// P4 = (clamp_lo, clamp_hi, 0, 0).
#include "opdef.h"
#include "quant.h"

namespace px {

std::vector<Rgba> encode_params(const QAddParams& p) {
    return {
        {p.za, p.zb, p.zc, p.shift}, i32_to_rgba(p.ma), i32_to_rgba(p.mb), {p.clamp_lo, p.clamp_hi, 0, 0}};
}

namespace ops {
namespace {
OpParams decode(const Instruction& ins) {
    QAddParams p;
    const auto& q = ins.params;
    p.za = q[0][0], p.zb = q[0][1], p.zc = q[0][2], p.shift = q[0][3];
    p.ma = rgba_to_i32(q[1]);
    p.mb = rgba_to_i32(q[2]);
    p.clamp_lo = q[3][0], p.clamp_hi = q[3][1];
    return p;
}

std::string check(const Instruction& ins, const OpParams& params, uint32_t) {
    const auto& p = std::get<QAddParams>(params);
    for (std::string e : {check_shift(ins, p.shift), check_multiplier(ins, 1, "Ma", p.ma),
                          check_multiplier(ins, 2, "Mb", p.mb), check_clamp(ins, 3, p.clamp_lo, p.clamp_hi),
                          check_reserved(ins, 3, {2, 3})})
        if (!e.empty()) return e;
    return {};
}

std::optional<Trap> shape(Plan& p, const PlanContext& cx) {
    const MatrixHeader ha = p.shape[0], hb = p.shape[1];
    if (!(ha == hb || (hb.rows == 1 && hb.cols == ha.cols)))
        return shape_mismatch(p, cx, "QADD needs equal shapes or b of shape 1x" + std::to_string(ha.cols));
    p.out_shape = ha;
    return std::nullopt;
}

std::string describe(const OpParams& params) {
    const auto& p = std::get<QAddParams>(params);
    return "za=" + std::to_string(p.za) + " zb=" + std::to_string(p.zb) + " zc=" + std::to_string(p.zc) +
           " Ma=" + std::to_string(p.ma) + " Mb=" + std::to_string(p.mb) +
           " shift=" + std::to_string(p.shift) + " (x" + real_text(p.ma, p.shift) + ", x" +
           real_text(p.mb, p.shift) + ") clamp=[" + std::to_string(p.clamp_lo) + "," +
           std::to_string(p.clamp_hi) + "]";
}

void reference(Image& image, const Plan& p) {
    const auto& op = p.ins.operand;
    auto out = qadd_u8(gather(image, op[0], p.shape[0]), p.shape[0], gather(image, op[1], p.shape[1]),
                       p.shape[1], std::get<QAddParams>(p.params));
    scatter(image, op[2], p.out_shape, out);
}
} // namespace

const OpDef def_QADD = {Opcode::QADD, decode,    check,   shape,      describe,
                        no_rows,      reference, nullptr, u8_operands};

} // namespace ops
} // namespace px
