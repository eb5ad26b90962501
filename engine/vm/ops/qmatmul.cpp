// QMATMUL (PROTOCOL.md §5.5.2): c = clamp(zc + rq(bias + sum (a-za)*(b-zb)), lo, hi), the
// quantized matmul with one rounding multiply-shift; a is M x K, b is K x N, c is M x N bytes.
// Parameters: P1 = (za, zb, zc, shift), P2 = M (int32 LE), P3 = (bias_row lo, hi, clamp_lo,
// clamp_hi); the optional bias is a 1 x N matrix of int32 pixels.
#include "opdef.h"
#include "quant.h"

namespace px {

std::vector<Rgba> encode_params(const QMatmulParams& p) {
    return {{p.za, p.zb, p.zc, p.shift},
            i32_to_rgba(p.multiplier),
            {uint8_t(p.bias_row), uint8_t(p.bias_row >> 8), p.clamp_lo, p.clamp_hi}};
}

namespace ops {
namespace {
OpParams decode(const Instruction& ins) {
    QMatmulParams p;
    const auto& q = ins.params;
    p.za = q[0][0], p.zb = q[0][1], p.zc = q[0][2], p.shift = q[0][3];
    p.multiplier = rgba_to_i32(q[1]);
    p.bias_row = uint16_t(q[2][0] | q[2][1] << 8);
    p.clamp_lo = q[2][2], p.clamp_hi = q[2][3];
    return p;
}

std::string check(const Instruction& ins, const OpParams& params, uint32_t height) {
    const auto& p = std::get<QMatmulParams>(params);
    for (std::string e :
         {check_shift(ins, p.shift), check_multiplier(ins, 1, "M", p.multiplier),
          check_bias_row(ins, 2, p.bias_row, height), check_clamp(ins, 2, p.clamp_lo, p.clamp_hi)})
        if (!e.empty()) return e;
    return {};
}

std::optional<Trap> shape(Plan& p, const PlanContext& cx) {
    return matmul_shape(p, cx, std::get<QMatmulParams>(p.params).bias_row);
}

std::string describe(const OpParams& params) {
    const auto& p = std::get<QMatmulParams>(params);
    return "za=" + std::to_string(p.za) + " zb=" + std::to_string(p.zb) + " zc=" + std::to_string(p.zc) +
           " M=" + std::to_string(p.multiplier) + " shift=" + std::to_string(p.shift) + " (x" +
           real_text(p.multiplier, p.shift) +
           ") bias=" + (p.bias_row ? "row " + std::to_string(p.bias_row) : std::string("none")) + " clamp=[" +
           std::to_string(p.clamp_lo) + "," + std::to_string(p.clamp_hi) + "]";
}

std::vector<uint32_t> rows(const OpParams& params) {
    const uint32_t row = std::get<QMatmulParams>(params).bias_row;
    return row ? std::vector<uint32_t>{row} : std::vector<uint32_t>{};
}

void reference(Image& image, const Plan& p) {
    const auto& op = p.ins.operand;
    const auto& q = std::get<QMatmulParams>(p.params);
    auto out = qmatmul_u8(gather(image, op[0], p.shape[0]), p.shape[0], gather(image, op[1], p.shape[1]),
                          p.shape[1], q, gather_bias(image, q.bias_row));
    scatter(image, op[2], p.out_shape, out);
}
// a, b, c are uint8 codes; the bias row holds int32 pixels (§5.5).
std::vector<DType> bias_types(const OpParams& params) {
    return std::vector<DType>(rows(params).size(), DType::I32);
}
} // namespace

const OpDef def_QMATMUL = {Opcode::QMATMUL, decode,  check,       shape,     describe, rows,
                           reference,       nullptr, u8_operands, bias_types};

} // namespace ops
} // namespace px
