// inspect.h — what a pixel of a program means, for tools that show programs.
//
// The debugger's tooltips and cell annotations describe pixels through these functions, from the
// opcode table (opcodes.h) and the region list (debuginfo.h): an instruction pixel decoded, a
// matrix header decoded, element [m, n] of a named matrix with its value. Nothing here knows what
// an opcode computes; names, operand kinds and meanings all come from the table. Also here: a
// content hash and pixel comparisons used by parity checks and automation.
#pragma once
#include "debuginfo.h"
#include "dtype.h"
#include "image.h"
#include "result.h"
#include "trace.h"
#include "typing.h"
#include "vm.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace px {

// Row 0 decoded left to right from x = 0 as the bytes read (past a HALT too), one entry per
// instruction; owner[x] is the index of the instruction pixel x belongs to.
struct Row0Listing {
    std::vector<Decoded> instructions;
    std::vector<uint32_t> owner;
    MatrixTypes types; // typing.h over the instructions up to the first HALT
    // Index of the instruction starting at pc, or -1 when pc is not an instruction start.
    int64_t index_at_pc(uint32_t pc) const;
};
Row0Listing decode_row0(const Image& image);

enum class PixelRole : uint8_t {
    Opcode,     // the opcode pixel of an instruction
    WidePrefix, // a WIDE prefix pixel
    Param,      // a parameter pixel of an instruction
    Header,     // a matrix header (0, row)
    Element,    // an element of a matrix
    Scalar,     // the pixel a scalar-out operand writes (0, row)
    Other,      // none of the above
};

struct PixelMeaning {
    PixelRole role = PixelRole::Other;
    std::string label; // short cell text: "MATMUL", "123", "4x8", "0a0b0c0d"
    std::string text;  // the full meaning, one or more lines
    const Region* region = nullptr;
    uint64_t element = 0; // for Element: index in row-major order, m = element / cols, n = element % cols
    uint32_t m = 0, n = 0;
    // For Element: its type (dtype.h), and its value (the code, the int32, or the float as stored:
    // NaN and infinities included). An f16 pixel holds elements 2j and 2j+1: `element` is the
    // first, `value` its value, `value2` the second's (NaN past the matrix's end).
    DType type = DType::U8;
    double value = 0;
    uint32_t elements_here = 1; // elements this pixel holds: 1, or 2 for a full f16 pixel
    double value2 = 0;
    std::optional<double> real;
    int64_t instruction = -1; // for row-0 roles: index into Row0Listing::instructions
};

PixelMeaning describe_pixel(const Image& image, const std::vector<Region>& regions, const Row0Listing& row0,
                            uint32_t x, uint32_t y);
// Role and label only (no text): cheap enough for every visible cell of a view.
PixelMeaning describe_pixel_label(const Image& image, const std::vector<Region>& regions,
                                  const Row0Listing& row0, uint32_t x, uint32_t y);
// Decodes row 0 itself: fine for one pixel, use the overload above for many.
PixelMeaning describe_pixel(const Image& image, const std::vector<Region>& regions, uint32_t x, uint32_t y);

// Operand i of an instruction as text: "W_hidden (4x8, matrix in)", or "row 7 (matrix in)".
std::string operand_text(const Instruction& ins, int i, const std::vector<Region>& regions,
                         const Image& image);

// The element type of the matrix at `row`: as the region's debug symbols declare it, else from
// the instructions of row 0 that read or write it (typing.h, the executors' own rule), else U8.
DType element_type(const Row0Listing& row0, uint32_t row, const Region* region = nullptr);
// The stored value of an element pixel as a number: the R byte (U8), the whole pixel as int32
// (I32) or as float32 (F32, as stored: no canonicalization, so -0, NaN and inf show as they are),
// or half `half` (0: R,G; 1: B,A) of the pixel as float16 (F16).
double element_value(Rgba p, DType t, int half = 0);
// A value as the tools print it: integers exactly, floats with %.9g (f32) or %.5g (f16), and
// "NaN", "+inf", "-inf" spelled out so they cannot be missed.
std::string value_text(double v, DType t);
// Whether a value is not a finite number (NaN, +-inf): tools mark such elements.
bool is_special(double v);

// The dequantized value of a stored value when the region carries scale and zero point (§7):
// real = scale * (q - zero_point), for uint8 codes and int32 accumulators alike.
std::optional<double> dequantize(const Region& region, double q);

// A matrix read as typed values: stored (codes, int32s or floats) and, with a scale, real values.
struct TypedMatrix {
    MatrixHeader shape;
    DType type = DType::U8;
    std::vector<double> stored; // row-major, shape.elements() of them (floats as stored, NaN included)
    std::vector<double> real;   // empty when the region has no scale
};
// `region` may be null (no quantization known). Fails, naming the row, when the header does not
// fit for this type (an f16 matrix of n elements needs ceil(n / 2) element pixels).
Result<TypedMatrix> read_typed_matrix(const Image& image, uint32_t row, DType type,
                                      const Region* region = nullptr);

// 16 hex digits of a hash such as trace.h's rgba_hash.
std::string hash_hex(uint64_t hash);

// Pixels that differ between two images of the same size (a size mismatch counts every pixel of
// the larger one and reports (0, 0)). first_* is the first differing pixel in row-major order.
struct PixelDiff {
    uint64_t count = 0;
    uint32_t first_x = 0, first_y = 0;
};
PixelDiff diff_images(const Image& a, const Image& b);
// The same over one rectangle of `a` against tightly packed RGBA rows of that rectangle.
PixelDiff diff_rect(const Image& a, Rect rect, const uint8_t* rgba);

} // namespace px
