// Shared parts of the float opcodes (float_ops.h). Compiled with -ffp-contract=off like fmath.cpp.
#include "float_ops.h"

#include "dtype.h"
#include "fmath.h"
#include "fmath_vec.h"
#include "layout.h"

#include <cstdio>

namespace px::ops {

FloatDtypes decode_dtypes(const Rgba& p1) {
    return {p1[0], p1[1], p1[2], p1[3]};
}

std::array<DType, 3> dtypes_of(const FloatDtypes& d) {
    return {dtype_from_code(d.a).value_or(DType::U8), dtype_from_code(d.b).value_or(DType::U8),
            dtype_from_code(d.c).value_or(DType::U8)};
}

Rgba encode_dtypes(const FloatDtypes& d) {
    return {d.a, d.b, d.c, d.reserved};
}

namespace {
std::string code_text(uint8_t code) {
    if (auto t = dtype_from_code(code)) return std::string(dtype_name(*t));
    return "dtype " + std::to_string(code);
}
} // namespace

std::string check_dtypes(const Instruction& ins, const FloatDtypes& d, const FloatDtypes& accepted) {
    const uint8_t got[3] = {d.a, d.b, d.c}, want[3] = {accepted.a, accepted.b, accepted.c};
    static constexpr const char* kName[3] = {"a", "b", "c"};
    for (int i = 0; i < 3; ++i)
        if (got[i] != want[i])
            return param_pixel_name(ins, 0) + ": operand " + kName[i] + " is declared " + code_text(got[i]) +
                   " (code " + std::to_string(got[i]) + "); " + std::string(ins.info ? ins.info->name : "") +
                   " accepts only " + code_text(want[i]) + " (code " + std::to_string(want[i]) + ") there";
    return check_reserved(ins, 0, {3});
}

std::string dtypes_text(const Instruction*, const FloatDtypes& d, const OperandKind (&kinds)[3]) {
    const uint8_t code[3] = {d.a, d.b, d.c};
    static constexpr const char* kName[3] = {"a", "b", "c"};
    std::string s;
    for (int i = 0; i < 3; ++i) {
        if (kinds[i] == OperandKind::None) continue;
        if (!s.empty()) s += " ";
        s += std::string(kName[i]) + ":" + code_text(code[i]);
    }
    return s;
}

std::string dtype_channel_text(const Instruction& ins, uint32_t k, int c) {
    if (k != 0 || c > 2) return {};
    if (auto t = dtype_from_code(ins.params[0][c])) return std::string(dtype_name(*t));
    return {};
}

std::string f32_param_text(uint32_t bits) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.9g (0x%08X)", double(fm::from_bits(fm::canon_bits(bits))),
                  unsigned(bits));
    return buf;
}

std::string_view activation_name(uint8_t activation) {
    switch (FActivation(activation)) {
    case FActivation::None: return "none";
    case FActivation::Relu: return "relu";
    case FActivation::Gelu: return "gelu";
    }
    return "?";
}

float activate(float x, uint8_t activation) {
    switch (FActivation(activation)) {
    case FActivation::None: return x;
    case FActivation::Relu: {
        const uint32_t b = fm::bits(x);
        if ((b & 0x7FFFFFFFu) > fm::kPosInf) return fm::from_bits(fm::kNaN);
        return (b & 0x80000000u) || b == 0 ? 0.0f : x;
    }
    case FActivation::Gelu: return fm::gelu(x);
    }
    return x; // unreachable on a checked plan
}

void activate_run(float* v, size_t n, uint8_t activation) {
    if (FActivation(activation) == FActivation::None) return;
    if (FActivation(activation) == FActivation::Gelu) {
        fm::gelu_run(v, n);
        return;
    }
    for (size_t i = 0; i < n; ++i)
        v[i] = activate(v[i], activation);
}

std::vector<float> gather_f32(const Image& image, uint32_t row, MatrixHeader h) {
    std::vector<float> v(h.elements());
    const uint32_t w = image.width;
    for (uint64_t i = 0; i < v.size(); ++i)
        v[i] = fm::from_bits(
            fm::canon_bits(pixel_word(image.pixel(element_x(i, w), uint32_t(element_y(i, row, w))))));
    return v;
}

void scatter_f32(Image& image, uint32_t row, MatrixHeader h, const std::vector<float>& v) {
    image.set_pixel(0, row, encode_header(h));
    const uint32_t w = image.width;
    for (uint64_t i = 0; i < v.size(); ++i)
        image.set_pixel(element_x(i, w), uint32_t(element_y(i, row, w)), word_pixel(fm::bits(v[i])));
}

std::vector<float> gather_f16(const Image& image, uint32_t row, MatrixHeader h) {
    std::vector<float> v(h.elements());
    for (uint64_t i = 0; i < v.size(); ++i)
        v[i] = fm::from_f16(uint16_t(element_bits(image, row, DType::F16, i)));
    return v;
}

void scatter_f16(Image& image, uint32_t row, MatrixHeader h, const std::vector<float>& v) {
    image.set_pixel(0, row, encode_header(h));
    const uint32_t w = image.width;
    for (uint64_t j = 0; 2 * j < v.size(); ++j) {
        const uint16_t lo = fm::to_f16(v[2 * j]);
        const uint16_t hi = 2 * j + 1 < v.size() ? fm::to_f16(v[2 * j + 1]) : uint16_t(0);
        image.set_pixel(element_x(j, w), uint32_t(element_y(j, row, w)), word_pixel(fm::pack_f16x2(lo, hi)));
    }
}

std::string f32_text(uint32_t bits) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "0x%08X (%.9g)", bits, double(fm::from_bits(bits)));
    return buf;
}

std::string check_positive_f32(const Instruction& ins, uint32_t k, const char* what, uint32_t bits) {
    if (bits > fm::kMinNormal && bits < fm::kPosInf) return {};
    return param_pixel_name(ins, k) + ": " + what + " " + f32_text(bits) +
           " is not a positive normal finite float32 (bits 0x00800001..0x7F7FFFFF)";
}

OpParams decode_unary(const Instruction& ins) {
    return FUnaryParams{decode_dtypes(ins.params[0])};
}

std::string describe_unary(const OpParams& params) {
    static constexpr OperandKind kKinds[3] = {OperandKind::MatrixIn, OperandKind::None,
                                              OperandKind::MatrixOut};
    return dtypes_text(nullptr, std::get<FUnaryParams>(params).dtype, kKinds);
}

std::array<DType, 3> unary_types(const OpParams& params) {
    return dtypes_of(std::get<FUnaryParams>(params).dtype);
}

} // namespace px::ops
