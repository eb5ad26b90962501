// GATHER a, b, c (PROTOCOL.md §13.2): c = rows of the table a (u8, f32 or i32), picked by the i32
// indices in b (mode 0: token embeddings), or by b's length L = rows(b) (mode 1: rows 0..L-1;
// mode 2: row L-1; position embeddings of a whole sequence or of its newest token). P1 = (dtype
// of a, dtype of b, dtype of c = a's, 0), P2 = (mode, 0, 0, 0). An index outside 0..rows(a)-1 is
// OUT_OF_RANGE at the pixel that holds it (the index's pixel, or b's header for a length).
#include "gen_ops.h"

#include "float_ops.h"
#include "layout.h"

namespace px {

std::vector<Rgba> encode_params(const GatherParams& p) {
    return {ops::encode_dtypes(p.dtype), {p.mode, p.reserved[0], p.reserved[1], p.reserved[2]}};
}

namespace ops {
namespace {
OpParams decode(const Instruction& ins) {
    GatherParams p;
    p.dtype = decode_dtypes(ins.params[0]);
    p.mode = ins.params[1][0];
    for (int c = 0; c < 3; ++c)
        p.reserved[c] = ins.params[1][1 + c];
    return p;
}

std::string check(const Instruction& ins, const OpParams& params, uint32_t) {
    const auto& p = std::get<GatherParams>(params);
    if (p.mode > 2)
        return param_pixel_name(ins, 1) + ": mode " + std::to_string(p.mode) +
               " is not 0 (index), 1 (prefix) or 2 (last)";
    const std::vector<uint8_t> b_types =
        p.mode == 0 ? std::vector<uint8_t>{3} : std::vector<uint8_t>{0, 1, 2, 3};
    if (auto e = check_gen_dtypes(ins, p.dtype, {{0, 1, 3}, b_types, {0, 1, 3}}); !e.empty()) return e;
    if (p.dtype.c != p.dtype.a)
        return param_pixel_name(ins, 0) + ": c is declared " + dtype_code_text(p.dtype.c) + " but a is " +
               dtype_code_text(p.dtype.a) + "; GATHER copies rows, so they must be the same";
    return check_reserved(ins, 1, {1, 2, 3});
}

std::optional<Trap> shape(Plan& p, const PlanContext& cx) {
    const auto& q = std::get<GatherParams>(p.params);
    const MatrixHeader ha = p.shape[0], hb = p.shape[1];
    const uint32_t row_b = p.ins.operand[1];
    if (GatherMode(q.mode) == GatherMode::Index) {
        if (hb.elements() > 65535)
            return make_trap(TrapCode::SHAPE_MISMATCH, 0, row_b,
                             cx.at() + "b holds " + std::to_string(hb.elements()) +
                                 " indices; c can have at most 65535 rows");
        for (uint64_t i = 0; i < hb.elements(); ++i) {
            const auto [x, y] = element_pixel(row_b, i, cx.width);
            const int32_t idx = int32_t(pixel_word(cx.fetch(x, y)));
            if (idx < 0 || uint32_t(idx) >= ha.rows)
                return make_trap(TrapCode::OUT_OF_RANGE, x, y,
                                 cx.at() + "index " + std::to_string(idx) + " (element " + std::to_string(i) +
                                     " of b at row " + std::to_string(row_b) + ") is outside rows 0.." +
                                     std::to_string(ha.rows - 1) + " of the table a");
        }
        p.out_shape = {ha.cols, uint32_t(hb.elements())};
    } else {
        if (hb.rows > ha.rows)
            return make_trap(TrapCode::OUT_OF_RANGE, 0, row_b,
                             cx.at() + "b's length " + std::to_string(hb.rows) + " (rows of b at row " +
                                 std::to_string(row_b) + ") exceeds the " + std::to_string(ha.rows) +
                                 " rows of the table a");
        p.out_shape = {ha.cols, GatherMode(q.mode) == GatherMode::Prefix ? hb.rows : 1u};
    }
    return std::nullopt;
}

std::string describe(const OpParams& params) {
    const auto& p = std::get<GatherParams>(params);
    static constexpr const char* kMode[3] = {"index (rows named by b's i32 elements)",
                                             "prefix (rows 0..rows(b)-1)", "last (row rows(b)-1)"};
    return "a:" + dtype_code_text(p.dtype.a) + " b:" + dtype_code_text(p.dtype.b) +
           " c:" + dtype_code_text(p.dtype.c) + " mode=" + (p.mode <= 2 ? kMode[p.mode] : "?");
}

void reference(Image& image, const Plan& p) {
    const auto& q = std::get<GatherParams>(p.params);
    const auto& op = p.ins.operand;
    const uint32_t D = p.shape[0].cols, n = p.out_shape.rows;
    // Every read before any write (§4.2): the picked rows first.
    std::vector<uint32_t> rows(n);
    for (uint32_t r = 0; r < n; ++r)
        rows[r] = GatherMode(q.mode) == GatherMode::Index  ? element_word(image, op[1], r)
                  : GatherMode(q.mode) == GatherMode::Last ? p.shape[1].rows - 1
                                                           : r;
    std::vector<uint32_t> v(uint64_t(n) * D);
    for (uint32_t r = 0; r < n; ++r)
        for (uint32_t j = 0; j < D; ++j)
            v[uint64_t(r) * D + j] = read_typed(image, op[0], uint64_t(rows[r]) * D + j, q.dtype.a);
    image.set_pixel(0, op[2], encode_header(p.out_shape));
    for (uint64_t i = 0; i < v.size(); ++i)
        write_typed(image, op[2], i, q.dtype.c, v[i]);
}

std::array<DType, 3> types(const OpParams& params) {
    const auto& p = std::get<GatherParams>(params);
    return {dtype_from_code(p.dtype.a).value_or(DType::U8), dtype_from_code(p.dtype.b).value_or(DType::U8),
            dtype_from_code(p.dtype.c).value_or(DType::U8)};
}
} // namespace

const OpDef def_GATHER = {Opcode::GATHER,     decode, check, shape, describe, no_rows, reference,
                          dtype_channel_text, types};

} // namespace ops
} // namespace px
