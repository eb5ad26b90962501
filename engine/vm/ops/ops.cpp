// The opcode registry (ops/opdef.h) and what the definitions share: message pieces, the range
// checks of parameter pixels (PROTOCOL.md §5.5) and the reference kernels' gather and scatter.
#include "opdef.h"

#include "layout.h"

#include <cmath>
#include <cstdio>

namespace px {

// Instruction::params holds every opcode's parameter pixels.
#define PX_PARAMS_FIT(num, name, ka, kb, kc, params, meaning)                                                \
    static_assert(params <= kMaxParamPixels, #name " has more parameter pixels than kMaxParamPixels");
PX_OPCODE_TABLE(PX_PARAMS_FIT)
#undef PX_PARAMS_FIT

const OpDef* op_def(uint8_t opcode) {
    switch (opcode) {
#define PX_OPDEF_CASE(num, name, ka, kb, kc, params, meaning)                                                \
    case num: return &ops::def_##name;
        PX_OPCODE_TABLE(PX_OPDEF_CASE)
#undef PX_OPDEF_CASE
    default: return nullptr;
    }
}

std::string check_params(const Instruction& ins, uint32_t height) {
    const OpDef* def = op_def(ins.opcode);
    if (!def) return {};
    return def->check(ins, def->decode(ins), height);
}

std::string describe_params(const Instruction& ins) {
    const OpDef* def = op_def(ins.opcode);
    if (!def) return {};
    return def->describe(def->decode(ins));
}

std::vector<uint32_t> param_rows(const Instruction& ins) {
    const OpDef* def = op_def(ins.opcode);
    if (!def) return {};
    return def->param_rows(def->decode(ins));
}

std::array<DType, 3> operand_types(const Instruction& ins) {
    const OpDef* def = op_def(ins.opcode);
    if (!def || !def->operand_types) return {DType::U8, DType::U8, DType::U8};
    return def->operand_types(def->decode(ins));
}

std::vector<DType> param_row_types(const Instruction& ins) {
    const OpDef* def = op_def(ins.opcode);
    if (!def) return {};
    const OpParams params = def->decode(ins);
    std::vector<DType> types = def->param_row_types ? def->param_row_types(params) : std::vector<DType>{};
    types.resize(def->param_rows(params).size(), DType::U8);
    return types;
}

std::optional<uint8_t> param_channel_value(std::string_view word) {
    static constexpr std::pair<std::string_view, uint8_t> kNames[] = {
        {"u8", 0}, {"f32", 1}, {"f16", 2}, {"i32", 3}, {"none", 0}, {"relu", 1}, {"gelu", 2}};
    for (const auto& [name, value] : kNames)
        if (word == name) return value;
    return std::nullopt;
}

namespace ops {

OpParams no_params(const Instruction&) {
    return {};
}
std::array<DType, 3> u8_operands(const OpParams&) {
    return {DType::U8, DType::U8, DType::U8};
}
std::string no_check(const Instruction&, const OpParams&, uint32_t) {
    return {};
}
std::string no_description(const OpParams&) {
    return {};
}
std::vector<uint32_t> no_rows(const OpParams&) {
    return {};
}

std::string shape_text(MatrixHeader h) {
    return std::to_string(h.rows) + "x" + std::to_string(h.cols);
}

Trap make_trap(TrapCode code, uint32_t x, uint32_t y, std::string message) {
    return Trap{code, x, y, std::move(message)};
}

Trap shape_mismatch(const Plan& p, const PlanContext& cx, const std::string& rule) {
    return make_trap(TrapCode::SHAPE_MISMATCH, 0, p.ins.operand[1],
                     cx.at() + "a is " + shape_text(p.shape[0]) + ", b is " + shape_text(p.shape[1]) + "; " +
                         rule);
}

std::optional<Trap> check_bias(const Plan& p, const PlanContext& cx, uint32_t bias_row) {
    if (bias_row == 0) return std::nullopt;
    const MatrixHeader hbias = decode_header(cx.fetch(0, bias_row));
    const MatrixHeader want{p.shape[1].cols, 1};
    if (!(hbias == want))
        return make_trap(TrapCode::SHAPE_MISMATCH, 0, bias_row,
                         cx.at() + "bias at row " + std::to_string(bias_row) + " is " + shape_text(hbias) +
                             "; it must be " + shape_text(want));
    if (!matrix_fits(bias_row, hbias, cx.width, cx.height))
        return make_trap(TrapCode::MATRIX_OVERFLOW, 0, bias_row,
                         std::string(cx.name) + " bias: matrix at row " + std::to_string(bias_row) + " (" +
                             shape_text(hbias) + ") runs past the last row " + std::to_string(cx.height - 1));
    return std::nullopt;
}

std::optional<Trap> same_shape(Plan& plan, const PlanContext&) {
    plan.out_shape = plan.shape[0];
    return std::nullopt;
}

std::optional<Trap> matmul_shape(Plan& p, const PlanContext& cx, uint32_t bias_row) {
    if (p.shape[0].cols != p.shape[1].rows)
        return shape_mismatch(p, cx, std::string(cx.name) + " needs a's columns to equal b's rows");
    p.out_shape = {p.shape[1].cols, p.shape[0].rows};
    return check_bias(p, cx, bias_row);
}

std::string param_pixel_name(const Instruction& ins, uint32_t k) {
    const uint32_t opx = ins.pc + (ins.wide ? 1 : 0);
    return "parameter pixel P" + std::to_string(k + 1) + " at (" + std::to_string(opx + 1 + k) + ",0)";
}

std::string check_shift(const Instruction& ins, uint32_t shift) {
    if (shift < 1 || shift > 62)
        return param_pixel_name(ins, 0) + ": shift " + std::to_string(shift) + " is outside 1..62";
    return {};
}

std::string check_multiplier(const Instruction& ins, uint32_t k, const char* what, int32_t m) {
    if (m < 0)
        return param_pixel_name(ins, k) + ": multiplier " + what + " = " + std::to_string(m) + " is negative";
    return {};
}

std::string check_clamp(const Instruction& ins, uint32_t k, uint8_t lo, uint8_t hi) {
    if (lo > hi)
        return param_pixel_name(ins, k) + ": clamp_lo " + std::to_string(lo) + " > clamp_hi " +
               std::to_string(hi);
    return {};
}

std::string check_bias_row(const Instruction& ins, uint32_t k, uint32_t row, uint32_t height) {
    if (row != 0 && row >= height)
        return param_pixel_name(ins, k) + ": bias row " + std::to_string(row) + " is outside " +
               (height > 1 ? "data rows 1.." + std::to_string(height - 1) : std::string("the image"));
    return {};
}

// Reserved channels must be 0 so that a later protocol can give them a meaning without changing
// what an existing program computes.
std::string check_reserved(const Instruction& ins, uint32_t k, std::initializer_list<int> channels) {
    static constexpr char kCh[4] = {'R', 'G', 'B', 'A'};
    for (int c : channels)
        if (ins.params[k][c] != 0)
            return param_pixel_name(ins, k) + ": reserved channel " + kCh[c] + " is " +
                   std::to_string(ins.params[k][c]) + ", must be 0";
    return {};
}

std::string real_text(int32_t m, uint32_t shift) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.9g", std::ldexp(double(m), -int(shift)));
    return buf;
}

std::vector<uint8_t> gather(const Image& image, uint32_t row, MatrixHeader h) {
    std::vector<uint8_t> v(h.elements());
    const uint32_t w = image.width;
    for (uint64_t i = 0; i < v.size(); ++i)
        v[i] = image.at(element_x(i, w), uint32_t(element_y(i, row, w)))[0];
    return v;
}

// A matrix of whole int32 pixels (QMATMUL's bias, PROTOCOL.md §5.5), little-endian RGBA.
std::vector<int32_t> gather_i32(const Image& image, uint32_t row, MatrixHeader h) {
    std::vector<int32_t> v(h.elements());
    const uint32_t w = image.width;
    for (uint64_t i = 0; i < v.size(); ++i)
        v[i] = rgba_to_i32(image.pixel(element_x(i, w), uint32_t(element_y(i, row, w))));
    return v;
}

std::vector<int32_t> gather_bias(const Image& image, uint32_t bias_row) {
    if (bias_row == 0) return {};
    return gather_i32(image, bias_row, decode_header(image.pixel(0, bias_row)));
}

void scatter(Image& image, uint32_t row, MatrixHeader h, const std::vector<uint8_t>& v) {
    image.set_pixel(0, row, encode_header(h));
    const uint32_t w = image.width;
    for (uint64_t i = 0; i < v.size(); ++i)
        image.at(element_x(i, w), uint32_t(element_y(i, row, w)))[0] = v[i];
}

void scatter_i32(Image& image, uint32_t row, MatrixHeader h, const std::vector<int32_t>& v) {
    image.set_pixel(0, row, encode_header(h));
    const uint32_t w = image.width;
    for (uint64_t i = 0; i < v.size(); ++i)
        image.set_pixel(element_x(i, w), uint32_t(element_y(i, row, w)), i32_to_rgba(v[i]));
}

} // namespace ops
} // namespace px
