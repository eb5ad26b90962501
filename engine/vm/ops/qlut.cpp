// QLUT a, b, c (PROTOCOL.md §16.2): c[i] = b[a[i]], a table lookup of uint8 codes. b is a 1 x 256
// u8 table (GELU or any element-wise function of a code, filled by the tool with
// quantize(f(dequantize(code)))); c gets a's shape. No parameter pixels.
#include "opdef.h"

namespace px::ops {
namespace {
std::optional<Trap> shape(Plan& p, const PlanContext& cx) {
    const MatrixHeader hb = p.shape[1];
    if (!(hb.rows == 1 && hb.cols == 256))
        return shape_mismatch(p, cx, std::string(cx.name) + " needs b (the table) to be 1x256");
    p.out_shape = p.shape[0];
    return std::nullopt;
}

void reference(Image& image, const Plan& p) {
    // Every read before any write (§4.2): c may be a or b.
    const std::vector<uint8_t> a = gather(image, p.ins.operand[0], p.shape[0]);
    const std::vector<uint8_t> table = gather(image, p.ins.operand[1], p.shape[1]);
    std::vector<uint8_t> c(a.size());
    for (size_t i = 0; i < a.size(); ++i)
        c[i] = table[a[i]];
    scatter(image, p.ins.operand[2], p.out_shape, c);
}
} // namespace

const OpDef def_QLUT = {Opcode::QLUT, no_params, no_check, shape,      no_description,
                        no_rows,      reference, nullptr,  u8_operands};

} // namespace px::ops
