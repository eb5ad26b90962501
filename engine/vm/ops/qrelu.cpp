// QRELU (PROTOCOL.md §5.5.4): a = max(a, zero_point) in place, the quantized ReLU. P1 =
// (zero_point, 0, 0, 0). It writes a's element pixels, not its header.
#include "opdef.h"
#include "quant.h"

namespace px {

std::vector<Rgba> encode_params(const QReluParams& p) {
    return {{p.zero_point, 0, 0, 0}};
}

namespace ops {
namespace {
OpParams decode(const Instruction& ins) {
    return QReluParams{ins.params[0][0]};
}

std::string check(const Instruction& ins, const OpParams&, uint32_t) {
    return check_reserved(ins, 0, {1, 2, 3});
}

std::optional<Trap> shape(Plan& p, const PlanContext& cx) {
    // Written in place: the element pixels of a (its header is not written).
    auto rects = matrix_rects(p.ins.operand[0], p.shape[0], cx.width);
    p.writes.insert(p.writes.end(), rects.begin() + 1, rects.end());
    return std::nullopt;
}

std::string describe(const OpParams& params) {
    return "zero_point=" + std::to_string(std::get<QReluParams>(params).zero_point);
}

void reference(Image& image, const Plan& p) {
    const uint32_t row = p.ins.operand[0];
    auto out = qrelu_u8(gather(image, row, p.shape[0]), std::get<QReluParams>(p.params).zero_point);
    const uint32_t w = image.width;
    for (uint64_t i = 0; i < out.size(); ++i)
        image.at(element_x(i, w), uint32_t(element_y(i, row, w)))[0] = out[i];
}
} // namespace

const OpDef def_QRELU = {Opcode::QRELU, decode,    check,   shape,      describe,
                         no_rows,       reference, nullptr, u8_operands};

} // namespace ops
} // namespace px
