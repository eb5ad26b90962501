// QMATMUL32 (PROTOCOL.md §5.5.5): c = bias + sum (a-za)*(b-zb) as whole int32 pixels (little-endian
// RGBA), modulo 2^32: the quantized matmul with a wide output. P1 = (za, zb, 0, 0),
// P2 = (bias_row lo, bias_row hi, 0, 0); the optional bias is a 1 x N matrix of int32 pixels.
#include "opdef.h"
#include "quant.h"

namespace px {

std::vector<Rgba> encode_params(const QMatmul32Params& p) {
    return {{p.za, p.zb, 0, 0}, {uint8_t(p.bias_row), uint8_t(p.bias_row >> 8), 0, 0}};
}

namespace ops {
namespace {
OpParams decode(const Instruction& ins) {
    QMatmul32Params p;
    const auto& q = ins.params;
    p.za = q[0][0], p.zb = q[0][1];
    p.bias_row = uint16_t(q[1][0] | q[1][1] << 8);
    return p;
}

std::string check(const Instruction& ins, const OpParams& params, uint32_t height) {
    const auto& p = std::get<QMatmul32Params>(params);
    for (std::string e : {check_reserved(ins, 0, {2, 3}), check_bias_row(ins, 1, p.bias_row, height),
                          check_reserved(ins, 1, {2, 3})})
        if (!e.empty()) return e;
    return {};
}

std::optional<Trap> shape(Plan& p, const PlanContext& cx) {
    return matmul_shape(p, cx, std::get<QMatmul32Params>(p.params).bias_row);
}

std::string describe(const OpParams& params) {
    const auto& p = std::get<QMatmul32Params>(params);
    return "za=" + std::to_string(p.za) + " zb=" + std::to_string(p.zb) +
           " bias=" + (p.bias_row ? "row " + std::to_string(p.bias_row) : std::string("none")) +
           " out=int32 pixels";
}

std::vector<uint32_t> rows(const OpParams& params) {
    const uint32_t row = std::get<QMatmul32Params>(params).bias_row;
    return row ? std::vector<uint32_t>{row} : std::vector<uint32_t>{};
}

void reference(Image& image, const Plan& p) {
    const auto& op = p.ins.operand;
    const auto& q = std::get<QMatmul32Params>(p.params);
    auto out = qmatmul_acc(gather(image, op[0], p.shape[0]), p.shape[0], gather(image, op[1], p.shape[1]),
                           p.shape[1], q.za, q.zb, gather_bias(image, q.bias_row));
    scatter_i32(image, op[2], p.out_shape, out);
}
// a and b are uint8 codes; c and the bias row hold int32 pixels (§5.5.5).
std::array<DType, 3> types(const OpParams&) {
    return {DType::U8, DType::U8, DType::I32};
}
std::vector<DType> bias_types(const OpParams& params) {
    return std::vector<DType>(rows(params).size(), DType::I32);
}
} // namespace

const OpDef def_QMATMUL32 = {Opcode::QMATMUL32, decode,  check, shape,     describe, rows,
                             reference,         nullptr, types, bias_types};

} // namespace ops
} // namespace px
