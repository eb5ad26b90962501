// APPEND a, c (PROTOCOL.md §13.3): c grows by a's rows. c's header rows are its length L (0 for an
// empty cache or sequence); its capacity (P2) is the most rows it may hold. P1 = (dtype of a, 0,
// dtype of c = a's, 0) with u8, f32 or i32; P2 = (capacity lo, capacity hi, 0, 0). Rows of a go to
// rows L.. of c and the header becomes (L + rows(a)) x cols. Growing past the capacity is
// OUT_OF_RANGE at c's header, the pixel that holds the length.
#include "gen_ops.h"

#include "float_ops.h"
#include "layout.h"

namespace px {

std::vector<Rgba> encode_params(const AppendParams& p) {
    return {ops::encode_dtypes(p.dtype),
            {uint8_t(p.capacity), uint8_t(p.capacity >> 8), p.reserved[0], p.reserved[1]}};
}

namespace ops {
namespace {
OpParams decode(const Instruction& ins) {
    AppendParams p;
    p.dtype = decode_dtypes(ins.params[0]);
    p.capacity = param_u16(ins, 1);
    p.reserved[0] = ins.params[1][2], p.reserved[1] = ins.params[1][3];
    return p;
}

std::string check(const Instruction& ins, const OpParams& params, uint32_t) {
    const auto& p = std::get<AppendParams>(params);
    if (auto e = check_gen_dtypes(ins, p.dtype, {{0, 1, 3}, {0}, {0, 1, 3}}); !e.empty()) return e;
    if (p.dtype.c != p.dtype.a)
        return param_pixel_name(ins, 0) + ": c is declared " + dtype_code_text(p.dtype.c) + " but a is " +
               dtype_code_text(p.dtype.a) + "; APPEND copies rows, so they must be the same";
    if (p.capacity == 0) return param_pixel_name(ins, 1) + ": capacity 0; c must be able to hold a row";
    return check_reserved(ins, 1, {2, 3});
}

std::optional<Trap> shape(Plan& p, const PlanContext& cx) {
    const auto& q = std::get<AppendParams>(p.params);
    const uint32_t row_c = p.ins.operand[2];
    const MatrixHeader ha = p.shape[0], hc = decode_header(cx.fetch(0, row_c));
    if (hc.cols != ha.cols)
        return make_trap(TrapCode::SHAPE_MISMATCH, 0, row_c,
                         cx.at() + "a is " + shape_text(ha) + ", c at row " + std::to_string(row_c) + " is " +
                             shape_text(hc) + "; APPEND needs c's header to have a's " +
                             std::to_string(ha.cols) + " columns");
    // The capacity must fit whatever the length: a program that fits at its start fits always.
    const MatrixHeader full{hc.cols, q.capacity};
    if (!matrix_fits(row_c, full, cx.width, cx.height))
        return make_trap(TrapCode::MATRIX_OVERFLOW, 0, row_c,
                         cx.at() + "c at row " + std::to_string(row_c) + " at its capacity (" +
                             shape_text(full) + ") runs past the last row " + std::to_string(cx.height - 1));
    if (uint64_t(hc.rows) + ha.rows > q.capacity)
        return make_trap(TrapCode::OUT_OF_RANGE, 0, row_c,
                         cx.at() + "c at row " + std::to_string(row_c) + " holds " + std::to_string(hc.rows) +
                             " rows; " + std::to_string(ha.rows) + " more exceed its capacity " +
                             std::to_string(q.capacity));
    p.out_shape = {hc.cols, uint32_t(hc.rows + ha.rows)};
    return std::nullopt;
}

std::string describe(const OpParams& params) {
    const auto& p = std::get<AppendParams>(params);
    return "a:" + dtype_code_text(p.dtype.a) + " c:" + dtype_code_text(p.dtype.c) +
           " capacity=" + std::to_string(p.capacity) + " rows";
}

// The index in c of the first element appended: the old length's rows.
uint64_t appended_offset(const Plan& p) {
    return uint64_t(p.out_shape.rows - p.shape[0].rows) * p.out_shape.cols;
}

void reference(Image& image, const Plan& p) {
    const auto& q = std::get<AppendParams>(p.params);
    const auto& op = p.ins.operand;
    const uint64_t n = p.shape[0].elements();
    const uint64_t offset = appended_offset(p);
    std::vector<uint32_t> v(n);
    for (uint64_t i = 0; i < n; ++i)
        v[i] = read_typed(image, op[0], i, q.dtype.a);
    image.set_pixel(0, op[2], encode_header(p.out_shape));
    for (uint64_t i = 0; i < n; ++i)
        write_typed(image, op[2], offset + i, q.dtype.c, v[i]);
}

// The header pixel and the appended rows' pixels (u8, f32 and i32 take a pixel an element).
std::vector<Rect> out_writes(const Plan& p, uint32_t width) {
    const uint32_t row_c = p.ins.operand[2];
    std::vector<Rect> rects{{0, row_c, 1, 1}};
    const std::vector<Rect> rows = element_rects(row_c, appended_offset(p), p.shape[0].elements(), width);
    rects.insert(rects.end(), rows.begin(), rows.end());
    return rects;
}

std::array<DType, 3> types(const OpParams& params) {
    const auto& p = std::get<AppendParams>(params);
    return {dtype_from_code(p.dtype.a).value_or(DType::U8), DType::U8,
            dtype_from_code(p.dtype.c).value_or(DType::U8)};
}
} // namespace

const OpDef def_APPEND = {Opcode::APPEND,     decode, check,   shape,     describe, no_rows, reference,
                          dtype_channel_text, types,  nullptr, out_writes};

} // namespace ops
} // namespace px
