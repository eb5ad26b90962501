// dtype.h — element types of matrices (PROTOCOL.md §15 F.1, F.2) and typed element access.
//
// A matrix's type is not stored in the image (the header is full); each float instruction
// declares the dtype of every operand in its first parameter pixel, and tools take it from
// there or from debug symbols. This module is the one place that knows how each dtype sits in
// element pixels: u8 in R, f32 and i32 as the whole pixel (little-endian), f16 two per pixel
// (element 2j in R,G of element pixel j, 2j+1 in B,A). Executors, the validator, the
// disassembler and the debugger all use it, so they cannot disagree on where an element is.
#pragma once
#include "image.h"
#include "layout.h"
#include "result.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace px {

enum class DType : uint8_t { U8 = 0, F32 = 1, F16 = 2, I32 = 3 };

// The dtype of a parameter-pixel code, or nullopt for a reserved code (BAD_PARAM).
std::optional<DType> dtype_from_code(uint32_t code);
std::string_view dtype_name(DType t); // "u8", "f32", "f16", "i32"
std::optional<DType> parse_dtype(std::string_view name);

inline bool dtype_is_float(DType t) {
    return t == DType::F32 || t == DType::F16;
}

// The element pixel (its index among the matrix's element pixels) that holds element i.
inline uint64_t element_pixel_index(DType t, uint64_t i) {
    return t == DType::F16 ? i / 2 : i;
}
// Element pixels holding n elements: ceil(n / 2) for f16, n otherwise.
uint64_t dtype_pixels(DType t, uint64_t elements);
// Bytes of n elements' values: one each for u8, two for f16, four for f32 and i32 (what a u8
// element needs at least, where its pixel holds four bytes).
inline uint64_t value_bytes(DType t, uint64_t elements) {
    return elements * (t == DType::U8 ? 1 : t == DType::F16 ? 2 : 4);
}
// matrix_fits (layout.h) for a matrix of this dtype: the rows its element pixels occupy.
bool typed_matrix_fits(uint32_t row, MatrixHeader h, DType t, uint32_t width, uint32_t height);
// matrix_rects (layout.h) for a matrix of this dtype: the header and its element pixels.
std::vector<Rect> typed_matrix_rects(uint32_t row, MatrixHeader h, DType t, uint32_t width);

// A whole pixel as a little-endian 32-bit word (R lowest) and back.
inline uint32_t pixel_word(Rgba p) {
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline Rgba word_pixel(uint32_t w) {
    return {uint8_t(w), uint8_t(w >> 8), uint8_t(w >> 16), uint8_t(w >> 24)};
}

// The raw bits of element i of the matrix at `row` read as dtype t (u8: R; f32, i32: the word;
// f16: the 16-bit half). The caller has checked that the matrix fits.
uint32_t element_bits(const Image& image, uint32_t row, DType t, uint64_t i);

// Every element of the f32 or f16 matrix at `row` as canonical float32 values (the load rule of
// F.3: f32 canonicalized, f16 converted exactly). Fails, naming the row, if it does not fit or t
// is not a float type.
Result<std::vector<float>> read_float_matrix(const Image& image, uint32_t row, DType t);
// Writes header and elements of an f32 or f16 matrix: f32 as canonical whole pixels, f16 rounded
// by to_f16 and packed two per pixel (B, A of a last odd pixel set to 0). Fails if it does not
// fit, the count is wrong, or t is not a float type.
Status write_float_matrix(Image& image, uint32_t row, MatrixHeader h, DType t,
                          const std::vector<float>& values);

// Element i as text for tooltips and `pxi info`: "0x3FC00000 = 1.5" (f32), "0x3E00 = 1.5" (f16),
// "200" (u8), "-7" (i32). Floats print with %.9g (f32) or %.5g (f16), enough to round-trip; a
// non-canonical f32 pattern adds what opcodes read it as: "0x80000000 = -0 (reads as 0)".
std::string format_element(const Image& image, uint32_t row, DType t, uint64_t i);

} // namespace px
