// debuginfo.h — optional debug symbols carried in the `pxos.symbols` PNG text chunk (PROTOCOL.md §7).
//
// Symbols name matrices and give their shapes and quantization; tools show them, executors never
// read them. Without symbols, regions are inferred from the instructions (every row operand of a
// matrix kind becomes a region named m<row>). The region list is what the disassembler, `pxi info`,
// `pxi diff` and the debugger's outlines all use.
#pragma once
#include "dtype.h"
#include "image.h"
#include "layout.h"
#include "result.h"

#include <optional>
#include <string>
#include <vector>

namespace px {

struct Region {
    std::string name;
    uint32_t row = 0;
    MatrixHeader shape; // as declared (symbols) or as the header reads now (inferred)
    std::optional<double> scale;
    std::optional<int32_t> zero_point;
    // The element type: as the symbols declare it ("dtype"), else as program_regions() infers it
    // from the instructions (typing.h); nullopt (u8) when neither says.
    std::optional<DType> dtype;
    bool from_symbols = false;
    DType type() const { return dtype.value_or(DType::U8); }
};

struct DebugInfo {
    std::vector<Region> regions;
    std::string source; // pxos.source, may be empty
};

// Parses `pxos.symbols` (an absent chunk is empty DebugInfo; a malformed one is an error naming the key).
Result<DebugInfo> read_debug_info(const Image& image);
void write_debug_info(Image& image, const DebugInfo& info);

// Symbols if present and well-formed, else regions inferred from row 0's operands; either way
// sorted by row, each region's dtype filled from the instructions where the symbols declare none.
// Never fails: a malformed chunk is ignored for inference.
std::vector<Region> program_regions(const Image& image);

// The pixels a region occupies (header and element pixels) for its type: an f16 matrix of n
// elements fills ceil(n / 2) element pixels (dtype.h).
std::vector<Rect> region_rects(const Region& r, uint32_t width);
// The pixels of the matrix at `row` as its header in `image` reads now (a step may have reshaped
// it), for the row's type among `regions` (uint8 where none names the row): what a debugger
// outlines and watches. An f16 matrix of n elements fills ceil(n / 2) element pixels.
std::vector<Rect> matrix_rects_now(const std::vector<Region>& regions, const Image& image, uint32_t row);
// The region containing pixel (x, y) (header or element pixel), or nullptr.
const Region* region_at(const std::vector<Region>& regions, const Image& image, uint32_t x, uint32_t y);
// Whether any of `written` (a step's rectangles, vm.h's StepResult::written) overlaps a pixel of
// the region (header or elements, region_rects): a debugger's "break when this region is written".
bool region_written(const Region& r, uint32_t width, const std::vector<Rect>& written);

} // namespace px
