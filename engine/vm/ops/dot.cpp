// DOT (PROTOCOL.md §5.1): pixel (0, c) = sum of a[i] * b[i] as a little-endian uint32, wrapping
// modulo 2^32. a and b need the same number of elements (any shapes).
#include "opdef.h"

namespace px {

uint32_t dot_u8(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
    uint32_t sum = 0; // wraps modulo 2^32 by definition (PROTOCOL.md §5.1)
    for (size_t i = 0; i < a.size(); ++i)
        sum += uint32_t(a[i]) * b[i];
    return sum;
}

namespace ops {
namespace {
std::optional<Trap> shape(Plan& p, const PlanContext& cx) {
    if (p.shape[0].elements() != p.shape[1].elements())
        return shape_mismatch(p, cx, "DOT needs the same number of elements");
    p.writes.push_back({0, p.ins.operand[2], 1, 1});
    return std::nullopt;
}

void reference(Image& image, const Plan& p) {
    const auto& op = p.ins.operand;
    const uint32_t sum = dot_u8(gather(image, op[0], p.shape[0]), gather(image, op[1], p.shape[1]));
    image.set_pixel(0, op[2], {uint8_t(sum), uint8_t(sum >> 8), uint8_t(sum >> 16), uint8_t(sum >> 24)});
}
} // namespace

const OpDef def_DOT = {Opcode::DOT, no_params, no_check, shape,      no_description,
                       no_rows,     reference, nullptr,  u8_operands};

} // namespace ops
} // namespace px
