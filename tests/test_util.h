// test_util.h — small helpers shared by the tests: paths into the source tree, building images.
#pragma once
#include "image.h"
#include "layout.h"
#include "opcodes.h"

#include <string>
#include <vector>

namespace pxtest {

inline std::string source_path(const std::string& rel) {
    return std::string(PXOS_SOURCE_DIR) + "/" + rel;
}

// Writes an instruction pixel at x of row 0.
inline void put_ins(px::Image& img, uint32_t x, px::Opcode op, uint8_t a = 0, uint8_t b = 0, uint8_t c = 0) {
    img.set_pixel(x, 0, {uint8_t(op), a, b, c});
}

inline void put_matrix(px::Image& img, uint32_t row, uint32_t rows, uint32_t cols,
                       const std::vector<uint8_t>& v) {
    auto st = px::write_matrix(img, row, {cols, rows}, v);
    (void)st;
}

} // namespace pxtest
