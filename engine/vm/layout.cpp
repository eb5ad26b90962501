#include "layout.h"

#include <algorithm>

namespace px {

MatrixHeader decode_header(Rgba p) {
    return {uint32_t(p[0]) | uint32_t(p[1]) << 8, uint32_t(p[2]) | uint32_t(p[3]) << 8};
}

Rgba encode_header(MatrixHeader h) {
    return {uint8_t(h.cols & 0xFF), uint8_t(h.cols >> 8), uint8_t(h.rows & 0xFF), uint8_t(h.rows >> 8)};
}

uint64_t rows_for_elements(uint64_t elements, uint32_t width) {
    const uint64_t stride = width - 1;
    const uint64_t rows = (elements + stride - 1) / stride;
    return rows == 0 ? 1 : rows;
}

std::vector<Rect> matrix_rects(uint32_t row, MatrixHeader h, uint32_t width) {
    std::vector<Rect> rects{{0, row, 1, 1}};
    const std::vector<Rect> elements = element_rects(row, 0, h.elements(), width);
    rects.insert(rects.end(), elements.begin(), elements.end());
    return rects;
}

std::vector<Rect> element_rects(uint32_t row, uint64_t i0, uint64_t n, uint32_t width) {
    std::vector<Rect> rects;
    if (n == 0 || width < 2) return rects;
    const uint32_t stride = width - 1;
    uint32_t y = uint32_t(row + i0 / stride);
    const uint32_t x = uint32_t(i0 % stride); // columns past the header column
    if (x != 0) {                             // the rest of the first row
        const uint32_t len = uint32_t(std::min<uint64_t>(n, stride - x));
        rects.push_back({1 + x, y++, len, 1});
        n -= len;
    }
    const uint32_t full = uint32_t(n / stride), rest = uint32_t(n % stride);
    if (full > 0) rects.push_back({1, y, stride, full});
    if (rest > 0) rects.push_back({1, y + full, rest, 1});
    return rects;
}

bool matrix_fits(uint32_t row, MatrixHeader h, uint32_t width, uint32_t height) {
    if (width < 2 || row < 1 || row >= height) return false;
    return uint64_t(row) + rows_for_elements(h.elements(), width) <= height;
}

Result<std::vector<uint8_t>> read_matrix(const Image& image, uint32_t row) {
    if (row < 1 || row >= image.height)
        return make_error(ErrorCode::Invalid, "row " + std::to_string(row) + " is outside the data rows 1.." +
                                                  std::to_string(image.height - 1));
    const MatrixHeader h = decode_header(image.pixel(0, row));
    if (!matrix_fits(row, h, image.width, image.height))
        return make_error(ErrorCode::Invalid, "matrix at row " + std::to_string(row) + " (" +
                                                  std::to_string(h.rows) + "x" + std::to_string(h.cols) +
                                                  ") runs past the last row " +
                                                  std::to_string(image.height - 1));
    std::vector<uint8_t> values(h.elements());
    for (uint64_t i = 0; i < values.size(); ++i)
        values[i] = image.at(element_x(i, image.width), uint32_t(element_y(i, row, image.width)))[0];
    return values;
}

Status write_matrix(Image& image, uint32_t row, MatrixHeader h, const std::vector<uint8_t>& values) {
    if (values.size() != h.elements())
        return make_error(ErrorCode::Usage, "write_matrix: " + std::to_string(values.size()) +
                                                " values for a " + std::to_string(h.rows) + "x" +
                                                std::to_string(h.cols) + " matrix");
    if (!matrix_fits(row, h, image.width, image.height))
        return make_error(ErrorCode::Invalid, "matrix " + std::to_string(h.rows) + "x" +
                                                  std::to_string(h.cols) + " at row " + std::to_string(row) +
                                                  " does not fit in a " + std::to_string(image.width) + "x" +
                                                  std::to_string(image.height) + " image");
    image.set_pixel(0, row, encode_header(h));
    for (uint64_t i = 0; i < values.size(); ++i)
        image.at(element_x(i, image.width), uint32_t(element_y(i, row, image.width)))[0] = values[i];
    return Ok{};
}

Allocation allocate_rows(const std::vector<MatrixHeader>& shapes, uint32_t width, uint32_t first_row) {
    Allocation a;
    uint64_t next = first_row;
    for (const MatrixHeader& h : shapes) {
        a.rows.push_back(uint32_t(next));
        next += rows_for_elements(h.elements(), width);
    }
    a.height = uint32_t(next);
    return a;
}

} // namespace px
