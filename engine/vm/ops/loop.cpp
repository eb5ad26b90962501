// LOOP a (PROTOCOL.md §13.1): the one control-flow opcode. a is a 1x1 i32 counter; P1 = (i32, 0,
// 0, 0), P2 = (target lo, target hi, 0, 0). When the counter n > 0 the instruction writes n - 1
// and pc jumps to the target; otherwise it writes nothing and pc moves on. The shape rule reads the
// counter (through the plan's fetch, so the GL executor reads the same pixel) and sets Plan::jump.
#include "gen_ops.h"

#include "float_ops.h"
#include "layout.h"

namespace px {

std::vector<Rgba> encode_params(const LoopParams& p) {
    return {ops::encode_dtypes(p.dtype),
            {uint8_t(p.target), uint8_t(p.target >> 8), p.reserved[0], p.reserved[1]}};
}

namespace ops {
namespace {
OpParams decode(const Instruction& ins) {
    LoopParams p;
    p.dtype = decode_dtypes(ins.params[0]);
    p.target = param_u16(ins, 1);
    p.reserved[0] = ins.params[1][2], p.reserved[1] = ins.params[1][3];
    return p;
}

std::string check(const Instruction& ins, const OpParams& params, uint32_t) {
    const auto& p = std::get<LoopParams>(params);
    if (auto e = check_gen_dtypes(ins, p.dtype, {{3}, {0}, {0}}); !e.empty()) return e;
    return check_reserved(ins, 1, {2, 3});
}

std::optional<Trap> shape(Plan& p, const PlanContext& cx) {
    const auto& q = std::get<LoopParams>(p.params);
    const uint32_t row = p.ins.operand[0];
    if (q.target >= cx.width) // check 7, needing the width
        return make_trap(TrapCode::BAD_PARAM, cx.op_x, 0,
                         cx.at() + param_pixel_name(p.ins, 1) + ": target x " + std::to_string(q.target) +
                             " is outside row 0 (width " + std::to_string(cx.width) + ")");
    if (!(p.shape[0] == MatrixHeader{1, 1}))
        return make_trap(TrapCode::SHAPE_MISMATCH, 0, row,
                         cx.at() + "the counter a at row " + std::to_string(row) + " is " +
                             shape_text(p.shape[0]) + "; it must be 1x1");
    const int32_t n = int32_t(pixel_word(cx.fetch(1, row)));
    if (n > 0) {
        p.jump = q.target;
        p.writes.push_back(Rect{1, row, 1, 1});
    }
    return std::nullopt;
}

std::string describe(const OpParams& params) {
    const auto& p = std::get<LoopParams>(params);
    return "a:i32 counter; taken (counter > 0): counter - 1, jump to pixel (" + std::to_string(p.target) +
           ",0)";
}

void reference(Image& image, const Plan& p) {
    if (!p.jump) return; // not taken: nothing written
    const uint32_t row = p.ins.operand[0];
    set_element_word(image, row, 0, element_word(image, row, 0) - 1u);
}

std::array<DType, 3> types(const OpParams&) {
    return {DType::I32, DType::U8, DType::U8};
}
} // namespace

const OpDef def_LOOP = {Opcode::LOOP,       decode, check, shape, describe, no_rows, reference,
                        dtype_channel_text, types};

} // namespace ops
} // namespace px
