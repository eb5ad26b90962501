// ADD (PROTOCOL.md §5.2): c = min(a + b, 255) element-wise; b has a's shape or is a 1 x cols(a)
// row added to every row of a.
#include "opdef.h"

#include <algorithm>

namespace px {

std::vector<uint8_t> add_u8(const std::vector<uint8_t>& a, MatrixHeader ha, const std::vector<uint8_t>& b,
                            MatrixHeader hb) {
    std::vector<uint8_t> out(a.size());
    const bool broadcast = !(ha == hb);
    for (size_t i = 0; i < a.size(); ++i) {
        const uint32_t s = uint32_t(a[i]) + b[broadcast ? i % hb.cols : i];
        out[i] = uint8_t(std::min<uint32_t>(s, 255));
    }
    return out;
}

namespace ops {
namespace {
std::optional<Trap> shape(Plan& p, const PlanContext& cx) {
    const MatrixHeader ha = p.shape[0], hb = p.shape[1];
    if (!(ha == hb || (hb.rows == 1 && hb.cols == ha.cols)))
        return shape_mismatch(p, cx, "ADD needs equal shapes or b of shape 1x" + std::to_string(ha.cols));
    p.out_shape = ha;
    return std::nullopt;
}

void reference(Image& image, const Plan& p) {
    const auto& op = p.ins.operand;
    auto out =
        add_u8(gather(image, op[0], p.shape[0]), p.shape[0], gather(image, op[1], p.shape[1]), p.shape[1]);
    scatter(image, op[2], p.out_shape, out);
}
} // namespace

const OpDef def_ADD = {Opcode::ADD, no_params, no_check, shape,      no_description,
                       no_rows,     reference, nullptr,  u8_operands};

} // namespace ops
} // namespace px
