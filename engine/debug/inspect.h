// inspect.h — what a pixel of a program means, for tools that show programs.
//
// The debugger's tooltips and cell annotations describe pixels through these functions, from the
// opcode table (opcodes.h) and the region list (debuginfo.h): an instruction pixel decoded, a
// matrix header decoded, element [m, n] of a named matrix with its value. Nothing here knows what
// an opcode computes; names, operand kinds and meanings all come from the table. Also here: a
// content hash and pixel comparisons used by parity checks and automation.
#pragma once
#include "debuginfo.h"
#include "image.h"
#include "trace.h"
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

// The dequantized value of a stored byte when the region carries scale and zero point (§7).
std::optional<double> dequantize(const Region& region, uint8_t q);

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
