// layout.h — where matrices live in the image (PROTOCOL.md §3).
//
//   row r:    [hdr][e0 ][e1 ] ... [e(w-2)]      hdr = (cols lo, cols hi, rows lo, rows hi)
//   row r+1:  [ - ][e(w-1)] ...                  column 0 of continuation rows is skipped
//
// Element i of the matrix whose header is at (0, r) sits at x = 1 + i % (w-1), y = r + i / (w-1),
// value in the R channel. These helpers are pure arithmetic on that rule plus bounds checks; the
// interpreter, the GL executor's host side, the assembler and the debugger all use them.
#pragma once
#include "image.h"
#include "result.h"

#include <cstdint>
#include <vector>

namespace px {

struct MatrixHeader {
    uint32_t cols = 0;
    uint32_t rows = 0;
    uint64_t elements() const { return uint64_t(cols) * rows; }
    friend bool operator==(const MatrixHeader&, const MatrixHeader&) = default;
};

MatrixHeader decode_header(Rgba pixel);
Rgba encode_header(MatrixHeader h);

// Image rows occupied by a matrix of n elements in an image of this width, header row included:
// max(1, ceil(n / (width-1))). Width must be at least 2.
uint64_t rows_for_elements(uint64_t elements, uint32_t width);

// Element position (x, y) of element i for a matrix at header row `row`.
inline uint32_t element_x(uint64_t i, uint32_t width) {
    return uint32_t(1 + i % (width - 1));
}
inline uint64_t element_y(uint64_t i, uint32_t row, uint32_t width) {
    return row + i / (width - 1);
}

// The pixels a matrix occupies (header and elements) as at most three rectangles.
std::vector<Rect> matrix_rects(uint32_t row, MatrixHeader h, uint32_t width);
// The pixels of elements [i0, i0 + n) of the matrix whose header is at `row`, one pixel an
// element (u8, f32, i32), as at most three rectangles: the rest of a first row, whole rows, the
// start of a last row.
std::vector<Rect> element_rects(uint32_t row, uint64_t i0, uint64_t n, uint32_t width);

// Whether a matrix of this shape at `row` fits: 1 <= row, last element row < height, width >= 2.
bool matrix_fits(uint32_t row, MatrixHeader h, uint32_t width, uint32_t height);

// Reads the R channel of every element, row-major. Fails (naming the row) if it does not fit.
Result<std::vector<uint8_t>> read_matrix(const Image& image, uint32_t row);
// Writes header and elements (R only; G, B, A of element pixels are kept). Fails if it does not fit.
Status write_matrix(Image& image, uint32_t row, MatrixHeader h, const std::vector<uint8_t>& values);

// Rows for a list of matrices placed one after another from row 1: allocation used by the
// assembler. Returns the header row of each, and the image height needed.
struct Allocation {
    std::vector<uint32_t> rows;
    uint32_t height = 0;
};
Allocation allocate_rows(const std::vector<MatrixHeader>& shapes, uint32_t width, uint32_t first_row = 1);

} // namespace px
