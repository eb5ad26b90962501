// dtype.cpp — see dtype.h.
#include "dtype.h"

#include "fmath.h"

#include <cstdio>

namespace px {

std::optional<DType> dtype_from_code(uint32_t code) {
    if (code <= uint32_t(DType::I32)) return DType(code);
    return std::nullopt;
}

std::string_view dtype_name(DType t) {
    switch (t) {
    case DType::U8: return "u8";
    case DType::F32: return "f32";
    case DType::F16: return "f16";
    case DType::I32: return "i32";
    }
    return "?";
}

std::optional<DType> parse_dtype(std::string_view name) {
    for (uint32_t c = 0; c <= uint32_t(DType::I32); ++c)
        if (dtype_name(DType(c)) == name) return DType(c);
    return std::nullopt;
}

uint64_t dtype_pixels(DType t, uint64_t elements) {
    return t == DType::F16 ? (elements + 1) / 2 : elements;
}

bool typed_matrix_fits(uint32_t row, MatrixHeader h, DType t, uint32_t width, uint32_t height) {
    if (width < 2 || row < 1 || row >= height) return false;
    return uint64_t(row) + rows_for_elements(dtype_pixels(t, h.elements()), width) <= height;
}

std::vector<Rect> typed_matrix_rects(uint32_t row, MatrixHeader h, DType t, uint32_t width) {
    // matrix_rects depends only on the element count: a 1 x pixels header has the same pixels.
    const uint64_t pixels = dtype_pixels(t, h.elements());
    if (t != DType::F16) return matrix_rects(row, h, width);
    return matrix_rects(row, MatrixHeader{uint32_t(pixels), 1}, width);
}

namespace {
Rgba element_pixel(const Image& image, uint32_t row, uint64_t j) {
    return image.pixel(element_x(j, image.width), uint32_t(element_y(j, row, image.width)));
}
bool is_float(DType t) {
    return t == DType::F32 || t == DType::F16;
}
std::string shape_text(MatrixHeader h) {
    return std::to_string(h.rows) + "x" + std::to_string(h.cols);
}
} // namespace

uint32_t element_bits(const Image& image, uint32_t row, DType t, uint64_t i) {
    switch (t) {
    case DType::U8: return element_pixel(image, row, i)[0];
    case DType::F32:
    case DType::I32: return pixel_word(element_pixel(image, row, i));
    case DType::F16: {
        const uint32_t w = pixel_word(element_pixel(image, row, i / 2));
        return i % 2 ? w >> 16 : w & 0xFFFFu;
    }
    }
    return 0;
}

Result<std::vector<float>> read_float_matrix(const Image& image, uint32_t row, DType t) {
    if (!is_float(t))
        return make_error(ErrorCode::Usage,
                          "read_float_matrix: " + std::string(dtype_name(t)) + " is not a float type");
    if (row < 1 || row >= image.height)
        return make_error(ErrorCode::Invalid, "row " + std::to_string(row) + " is outside the data rows 1.." +
                                                  std::to_string(image.height - 1));
    const MatrixHeader h = decode_header(image.pixel(0, row));
    if (!typed_matrix_fits(row, h, t, image.width, image.height))
        return make_error(ErrorCode::Invalid, std::string(dtype_name(t)) + " matrix at row " +
                                                  std::to_string(row) + " (" + shape_text(h) +
                                                  ") does not fit in the image");
    std::vector<float> out(h.elements());
    for (uint64_t i = 0; i < out.size(); ++i) {
        const uint32_t b = element_bits(image, row, t, i);
        out[i] = t == DType::F32 ? fm::canon(fm::from_bits(b)) : fm::from_f16(uint16_t(b));
    }
    return out;
}

Status write_float_matrix(Image& image, uint32_t row, MatrixHeader h, DType t,
                          const std::vector<float>& values) {
    if (!is_float(t))
        return make_error(ErrorCode::Usage,
                          "write_float_matrix: " + std::string(dtype_name(t)) + " is not a float type");
    if (values.size() != h.elements())
        return make_error(ErrorCode::Usage, "write_float_matrix: " + std::to_string(values.size()) +
                                                " values for a " + shape_text(h) + " matrix");
    if (!typed_matrix_fits(row, h, t, image.width, image.height))
        return make_error(ErrorCode::Invalid, std::string(dtype_name(t)) + " matrix " + shape_text(h) +
                                                  " at row " + std::to_string(row) + " does not fit in a " +
                                                  std::to_string(image.width) + "x" +
                                                  std::to_string(image.height) + " image");
    image.set_pixel(0, row, encode_header(h));
    const uint64_t pixels = dtype_pixels(t, values.size());
    for (uint64_t j = 0; j < pixels; ++j) {
        uint32_t w;
        if (t == DType::F32) {
            w = fm::canon_bits(fm::bits(values[j]));
        } else {
            const uint16_t lo = fm::to_f16(values[2 * j]);
            const uint16_t hi = 2 * j + 1 < values.size() ? fm::to_f16(values[2 * j + 1]) : 0;
            w = fm::pack_f16x2(lo, hi);
        }
        image.set_pixel(element_x(j, image.width), uint32_t(element_y(j, row, image.width)), word_pixel(w));
    }
    return Ok{};
}

std::string format_element(const Image& image, uint32_t row, DType t, uint64_t i) {
    const uint32_t b = element_bits(image, row, t, i);
    char buf[64];
    switch (t) {
    case DType::U8: std::snprintf(buf, sizeof buf, "%u", b); break;
    case DType::I32: std::snprintf(buf, sizeof buf, "%d", int32_t(b)); break;
    case DType::F32:
        if (fm::is_canonical(b))
            std::snprintf(buf, sizeof buf, "0x%08X = %.9g", b, double(fm::from_bits(b)));
        else // a subnormal, -0 or NaN payload: show what opcodes read it as
            std::snprintf(buf, sizeof buf, "0x%08X = %.9g (reads as %.9g)", b, double(fm::from_bits(b)),
                          double(fm::canon(fm::from_bits(b))));
        break;
    case DType::F16:
        std::snprintf(buf, sizeof buf, "0x%04X = %.5g", b, double(fm::from_f16(uint16_t(b))));
        break;
    }
    return buf;
}

} // namespace px
